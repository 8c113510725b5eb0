"""The pieces of a Telegram HTML message, each a `Block` (its HTML and the text Telegram shows
for it, which is what counts against the limit): a title linked to its article, a date the
reader's app shows in their language, an attribution, a quote in blockquotes, an article's
line. Everything from the corpus is escaped; in an RTL reply it is isolated, never altered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

from bot.engine import ArticleRef, Quote
from bot.i18n import ENGLISH, Translator
from bot.render.labels import safe_url, shorten
from bot.render.messages import PARAGRAPH
from bot.render.packing import TELEGRAM_LIMIT, Block, _cut, utf16_len
from bot.render.speakers import speaker_label


def title_html(title: str, url: str | None, tr: Translator = ENGLISH) -> str:
    """The title, linked when the article has an http(s) URL (isolated in an RTL reply)."""
    link = safe_url(url)
    shown = tr.isolate(escape(title))
    if link:
        return f'<a href="{escape(link, quote=True)}">{shown}</a>'
    return f"<b>{shown}</b>"


def date_html(published: str, tr: Translator = ENGLISH) -> str:
    """A publication date as a Telegram date_time entity (the reader's app shows it in their
    language, long form), its text the date as stored (what older apps show). A date without
    a time is taken at noon UTC, which is the same calendar day from UTC-11 to UTC+11."""
    shown = escape(tr.isolate(published))
    moment = _moment(published)
    return shown if moment is None else f'<tg-time unix="{moment}" format="D">{shown}</tg-time>'


def _moment(published: str) -> int | None:
    """Unix time of an ISO date or time (UTC unless it says otherwise); None when unreadable."""
    try:
        if len(published) == 10:
            day = dt.date.fromisoformat(published)
            return int(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC).timestamp())
        moment = dt.datetime.fromisoformat(published.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    stamp = int(moment.timestamp())
    # a date before 1970 stays text: Telegram's date_time entity takes no negative time
    return stamp if stamp >= 0 else None


def meta_html(values: Sequence[tuple[str | None, bool]], tr: Translator) -> tuple[str, str]:
    """Source · date ... as (HTML, visible text); (value, is_date) pairs, unknown ones left
    out."""
    html, visible = [], []
    for value, is_date in values:
        if not value:
            continue
        text = tr.isolate(value if is_date else shorten(value))
        html.append(date_html(value, tr) if is_date else escape(text))
        visible.append(text)
    return " · ".join(html), " · ".join(visible)


def attribution_html(quote: Quote, tr: Translator = ENGLISH) -> Block:
    """— speaker · title (linked) · source · date · paragraph, leaving out what is unknown."""
    title = shorten(quote.title)
    head = title_html(title, quote.url, tr)
    said = speaker_label(quote)
    who = f"{tr.isolate(said)} · " if said else ""
    who_html = escape(who)
    meta, shown = meta_html([(quote.source, False), (quote.published, True)], tr)
    number = tr.say(PARAGRAPH, number=quote.paragraph)
    tail_html = f"{meta} · {escape(number)}" if meta else escape(number)
    tail = f"{shown} · {number}" if shown else number
    return Block(f"— {who_html}{head} · {tail_html}", f"— {who}{tr.isolate(title)} · {tail}")


def blockquote(text: str, tr: Translator) -> Block:
    """A quote exactly as in the article; in an RTL reply FSI…PDI sit around it, never in it."""
    shown = tr.isolate(text)
    return Block(f"<blockquote>{escape(shown, quote=False)}</blockquote>", shown)


def isolates_len(tr: Translator) -> int:
    """The UTF-16 units the isolates add around a piece of text (none in an LTR reply)."""
    return utf16_len(tr.isolate("x")) - 1


def quote_blocks(text: str, attribution: Block, limit: int = TELEGRAM_LIMIT,
                 tr: Translator = ENGLISH) -> list[Block]:
    """A quote in a blockquote; one too long for a message is cut at sentence boundaries."""
    quote = blockquote(text, tr)
    whole = Block(f"{quote.html}\n{attribution.html}", f"{quote.visible}\n{attribution.visible}")
    if utf16_len(whole.visible) <= limit:
        return [whole]
    # each piece is a message of its own; the last one also carries the attribution (and the
    # newline before it), so every piece is cut to fit beside it
    budget = limit - utf16_len(attribution.visible) - 1 - isolates_len(tr)
    blocks = [blockquote(piece, tr) for piece in _cut(text, budget)]
    blocks[-1] = Block(blocks[-1].html + "\n" + attribution.html,
                       blocks[-1].visible + "\n" + attribution.visible)
    return blocks


def article_line(article: ArticleRef, tr: Translator) -> Block:
    """Title (linked) · source · date."""
    title = shorten(article.title)
    head = title_html(title, article.url, tr)
    meta, rest = meta_html([(article.source, False), (article.published, True)], tr)
    return Block(head + (f" · {meta}" if meta else ""),
                 tr.isolate(title) + (f" · {rest}" if rest else ""))
