"""Ways to pass a quote on: a link that opens the bot on it (t.me/<bot>?start=q_<id>, with a
short id that stays the same for the same quote of the same index version), the text the
"Copy" button puts on the clipboard, and the question the "Share" button types inline."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from bot import render
from bot.engine import Quote
from bot.i18n import ENGLISH, Translator

__all__ = ["COPY_LIMIT", "LINK_PREFIX", "Reach", "copy_text", "deep_link", "link_id", "parse_start",
           "share_query"]

LINK_PREFIX = "q_"
COPY_LIMIT = 256  # characters a CopyTextButton takes
SHARE_LIMIT = 256  # characters of an inline query


@dataclass(frozen=True)
class Reach:
    """The buttons that pass an answer on: Share (the question, inline), Copy (attribution
    and link), the link to the quote, and its article page when PUBLIC_URL is set."""

    share: str
    copy: str | None = None
    link: str | None = None
    page: str | None = None
    web_app: bool = False  # open the page as a Mini App (private chats, https only)


def link_id(quote: Quote, index_version: str | None) -> str:
    """12 URL-safe characters naming a quote: its article, start, end and index version."""
    key = f"{quote.article_id}\0{quote.start}\0{quote.end}\0{index_version or ''}"
    return base64.urlsafe_b64encode(hashlib.sha256(key.encode()).digest()[:9]).decode()


def deep_link(username: str | None, quote_link: str) -> str | None:
    """The t.me link that opens the bot on a quote; None when the bot's name is unknown."""
    return f"https://t.me/{username}?start={LINK_PREFIX}{quote_link}" if username else None


def parse_start(payload: str) -> str | None:
    """The quote link id of a /start payload ("q_<id>"), None for any other payload."""
    if payload.startswith(LINK_PREFIX) and 1 <= len(payload) - len(LINK_PREFIX) <= 16:
        found = payload[len(LINK_PREFIX):]
        if all(c.isascii() and (c.isalnum() or c in "-_") for c in found):
            return found
    return None


def copy_text(quote: Quote, link: str | None, tr: Translator = ENGLISH) -> str:
    """Attribution and link, at most 256 characters: the title is shortened to fit, the link
    is never cut (a cut link leads nowhere)."""
    tail = f"\n{link}" if link else ""
    parts = [value for value in (quote.source, quote.published) if value]
    rest = " · ".join([*parts, tr.say(render.PARAGRAPH, number=quote.paragraph)])
    room = COPY_LIMIT - len(tail) - len(rest) - len(" · ")
    if room < 12:  # a very long source: the title alone, then the link
        return render.shorten(quote.title, COPY_LIMIT - len(tail)) + tail
    return f"{render.shorten(quote.title, room)} · {rest}{tail}"


def share_query(question: str) -> str:
    """The question as the Share button types it after @bot (an inline query's limit)."""
    return render.shorten(" ".join(question.split()), SHARE_LIMIT)
