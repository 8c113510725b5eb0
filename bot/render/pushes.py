"""Updates as shown: a new article or a followed topic's match with its quote, a digest of
many, and a story's later outlets ("Also: Reuters, AP") added to its push or replying to it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from html import escape, unescape

from bot.engine import ArticleRef, PushPayload
from bot.i18n import ENGLISH, N_, Translator
from bot.render.labels import shorten
from bot.render.packing import TELEGRAM_LIMIT, Block, pack, utf16_len
from bot.render.pieces import article_line, attribution_html, quote_blocks, title_html

__all__ = ["addition_html", "digest_html", "push_html", "visible_text", "with_also"]


def push_html(push: PushPayload, tr: Translator = ENGLISH) -> list[str]:
    """A new article for a subscriber, or a match for a followed topic, with its quote."""
    line = article_line(push.article, tr)
    if push.kind == "follow":
        header = "🔔 " + tr.say(N_("New on “{topic}”:"), topic=push.topic or "") + " "
    else:
        header = "🆕 " + tr.say(N_("New article:")) + " "
    blocks = [Block(escape(header) + line.html, header + line.visible)]
    if push.quote is not None:
        blocks.extend(quote_blocks(push.quote.text, attribution_html(push.quote, tr), tr=tr))
    return pack(blocks)


def _outlets(articles: Sequence[ArticleRef], tr: Translator) -> Block:
    """Other outlets' reports of a story: each publisher (or title) linked to its article."""
    html, visible = [], []
    for article in articles:
        name = shorten(article.source or article.title)
        html.append(title_html(name, article.url, tr))
        visible.append(tr.isolate(name))
    return Block(", ".join(html), ", ".join(visible))


def with_also(page: str, articles: Sequence[ArticleRef], tr: Translator = ENGLISH) -> str | None:
    """A push's (last) message with the story's later outlets added under it ("Also:
    Reuters, AP"); None when that would not fit one message."""
    if not articles:
        return page
    names = _outlets(articles, tr)
    # a NUL stands for the linked names while the message is translated and escaped
    head = "➕ " + tr.say(N_("Also: {outlets}"), outlets="\0")
    html = escape(head).replace("\0", names.html)
    visible = head.replace("\0", names.visible)
    if utf16_len(visible_text(page)) + 1 + utf16_len(visible) > TELEGRAM_LIMIT:
        return None
    return f"{page}\n{html}"


def addition_html(push: PushPayload, tr: Translator = ENGLISH) -> list[str]:
    """Another outlet's report of a story pushed earlier, as a short message of its own (when
    the push can no longer be edited): who, with its title, link and date."""
    line = article_line(push.article, tr)
    head = "➕ " + tr.say(N_("Also on this story:")) + " "
    return pack([Block(escape(head) + line.html, head + line.visible)])


def visible_text(page: str) -> str:
    """What Telegram shows of an HTML message: its text without tags and entities."""
    return unescape(re.sub(r"<[^>]*>", "", page))


def digest_html(payloads: Sequence[PushPayload], tr: Translator = ENGLISH,
                also: Mapping[str, Sequence[ArticleRef]] | None = None) -> list[str]:
    """One message listing many new articles instead of a flood; an article's story's other
    outlets (`also`, by article id) on its line."""
    also = also or {}
    head = "🆕 " + tr.nsay("{count} new article:", "{count} new articles:", len(payloads))
    blocks = [Block(escape(head), head)]
    for push in payloads:
        blocks.append(_digest_line(push, also.get(push.article.article_id, ()), tr))
    return pack(blocks, separator="\n")


def _digest_line(push: PushPayload, others: Sequence[ArticleRef], tr: Translator) -> Block:
    """• title · source · date, the followed topic it matched, the story's other outlets."""
    line = article_line(push.article, tr)
    topic = ""
    if push.kind == "follow":
        topic = " " + tr.say(N_("(on “{topic}”)"), topic=push.topic or "")
    extra = Block("", "")
    if others:
        names = _outlets(others, tr)
        # the outlets are HTML already (linked names): a NUL stands for them while the
        # message is translated and escaped, then the names take its place
        said = " — " + tr.say(N_("also: {outlets}"), outlets="\0")
        extra = Block(escape(said).replace("\0", names.html), said.replace("\0", names.visible))
    return Block(f"• {line.html}{escape(topic)}{extra.html}",
                 f"• {line.visible}{topic}{extra.visible}")
