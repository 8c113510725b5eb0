"""Render answers for people: plain text (console, command line) and Telegram HTML."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from bot.engine import Answer, ArticleRef, PushPayload, Quote
from index import sentences
from index.sources import is_web_url

MAX_TITLE = 200  # characters of a title or source shown; longer ones end in an ellipsis
NO_ANSWER = "The articles do not answer that."
RELATED = "This may be related:"


def shorten(text: str, limit: int = MAX_TITLE) -> str:
    """A title (or source) cut visibly at `limit` characters: an article's title is metadata,
    never the quote, so a huge one must not break the messages that show it."""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def safe_url(url: str | None) -> str | None:
    """The URL when it is http(s), else None: a `javascript:` or `tg://` link is never
    rendered, whatever the article's front matter says."""
    return url if url and url == url.strip() and is_web_url(url) else None


def attribution(quote: Quote) -> str:
    """Title · source · date · link · paragraph, leaving out what is unknown."""
    parts = [shorten(quote.title)]
    if quote.source:
        parts.append(shorten(quote.source))
    if quote.published:
        parts.append(quote.published)
    if quote.url:
        parts.append(quote.url)
    parts.append(f"paragraph {quote.paragraph}")
    return " · ".join(parts)


def as_text(answer: Answer) -> str:
    """An answer as a person reads it in a terminal."""
    if answer.error:
        return answer.error
    if answer.help:
        return answer.help
    if answer.abstained:
        lines = [NO_ANSWER]
        if answer.related is not None:
            lines.append(f"{RELATED}\n“{answer.related.text}”\n    — "
                         f"{attribution(answer.related)}")
        elif answer.suggestions:
            lines.append("Nearest articles: " + "; ".join(shorten(s["title"])
                                                          for s in answer.suggestions))
        return "\n".join(lines)
    blocks = []
    for quote in answer.quotes:
        blocks.append(f"“{quote.text}”\n    — {attribution(quote)}")
    return "\n\n".join(blocks)


# ---- Telegram HTML -------------------------------------------------------------------------
TELEGRAM_LIMIT = 4096


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units of the text after entity parsing."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Block:
    """A piece of a message: its HTML and the text Telegram shows for it."""

    html: str
    visible: str


def _head(title: str, url: str | None) -> str:
    """The title, linked when the article has an http(s) URL."""
    link = safe_url(url)
    if link:
        return f'<a href="{escape(link, quote=True)}">{escape(title)}</a>'
    return f"<b>{escape(title)}</b>"


def attribution_html(quote: Quote) -> Block:
    """— title (linked) · source · date · paragraph, leaving out what is unknown."""
    title = shorten(quote.title)
    head = _head(title, quote.url)
    rest = [shorten(value) for value in (quote.source, quote.published) if value]
    rest.append(f"paragraph {quote.paragraph}")
    tail = " · ".join(rest)
    return Block(f"— {head} · {escape(tail)}", f"— {title} · {tail}")


def quote_blocks(text: str, attribution: Block, limit: int = TELEGRAM_LIMIT) -> list[Block]:
    """A quote in a blockquote; one too long for a message is cut at sentence boundaries."""
    whole = Block(f"<blockquote>{escape(text, quote=False)}</blockquote>\n{attribution.html}",
                  f"{text}\n{attribution.visible}")
    if utf16_len(whole.visible) <= limit:
        return [whole]
    budget = limit - utf16_len(attribution.visible) - 1
    pieces = _cut(text, budget)
    blocks = [Block(f"<blockquote>{escape(p, quote=False)}</blockquote>", p) for p in pieces]
    blocks[-1] = Block(blocks[-1].html + "\n" + attribution.html,
                       blocks[-1].visible + "\n" + attribution.visible)
    return blocks


def _cut(text: str, budget: int) -> list[str]:
    """Consecutive slices of `text`, each within `budget`, cut after sentences where possible.
    Linear: UTF-16 offsets are summed once, and each cut is a binary search over them."""
    pieces: list[str] = []
    start = 0
    bounds = sorted({s.end for s in sentences(text)})
    units = [0, *itertools.accumulate(2 if ord(c) > 0xFFFF else 1 for c in text)]
    while start < len(text):
        reach = bisect.bisect_right(units, units[start] + budget) - 1  # longest slice that fits
        fitting = bisect.bisect_right(bounds, reach) - 1
        end = bounds[fitting] if fitting >= 0 and bounds[fitting] > start else start
        if end == start:  # one sentence over the budget: cut at the last space that fits
            end = max(start + 1, min(reach, len(text)))
            space = text.rfind(" ", start, end)
            end = space if space > start and end < len(text) else end
        pieces.append(text[start:end].strip())
        start = end
        while start < len(text) and text[start].isspace():
            start += 1
    return [p for p in pieces if p]


def pack(blocks: list[Block], limit: int = TELEGRAM_LIMIT, separator: str = "\n\n") -> list[str]:
    """Join blocks into as few messages as fit, never splitting a block."""
    messages: list[list[Block]] = []
    gap = utf16_len(separator)
    used = 0  # UTF-16 units of the last message so far
    for block in blocks:
        size = utf16_len(block.visible)
        if messages and used + gap + size <= limit:
            messages[-1].append(block)
            used += gap + size
        else:
            messages.append([block])
            used = size
    return [separator.join(b.html for b in group) for group in messages]


def paragraph_pages(quote: Quote, max_pages: int) -> list[str]:
    """A whole paragraph for the "Full paragraph" button: at most `max_pages` messages of it,
    each whole sentences, then (when it goes on) a note in the bot's own words saying where."""
    blocks = quote_blocks(quote.text, attribution_html(quote))
    pages = pack(blocks)
    if len(pages) <= max_pages:
        return pages
    rest = len(pages) - max_pages
    head = _head(shorten(quote.title), quote.url)
    where = "at the link" if safe_url(quote.url) else "in the source"
    note = (f"(continues: paragraph {quote.paragraph} of {head}, {rest} more messages; "
            f"the whole paragraph is {where}.)")
    return [*pages[:max_pages], note]


def answer_html(answer: Answer, quotes: list[Quote] | None = None) -> list[str]:
    """The messages of an answer in Telegram HTML (escaped), split to Telegram's limit."""
    if answer.error:
        return [escape(answer.error)]
    if answer.help:
        return [escape(answer.help)]
    if answer.abstained:
        if answer.related is not None:
            head = Block(escape(f"{NO_ANSWER} {RELATED}"), f"{NO_ANSWER} {RELATED}")
            return pack([head, *quote_blocks(answer.related.text,
                                             attribution_html(answer.related))])
        text = NO_ANSWER
        if answer.suggestions:
            text += " Nearest articles are below."
        return [escape(text)]
    blocks: list[Block] = []
    for quote in quotes if quotes is not None else answer.quotes:
        blocks.extend(quote_blocks(quote.text, attribution_html(quote)))
    return pack(blocks)


def _article_line(article: ArticleRef) -> Block:
    """Title (linked) · source · date."""
    title = shorten(article.title)
    head = _head(title, article.url)
    rest = " · ".join(shorten(value) for value in (article.source, article.published) if value)
    return Block(head + (f" · {escape(rest)}" if rest else ""),
                 title + (f" · {rest}" if rest else ""))


def push_html(push: PushPayload) -> list[str]:
    """A new article for a subscriber, or a match for a followed topic, with its quote."""
    line = _article_line(push.article)
    if push.kind == "follow":
        header = f"🔔 New on “{escape(push.topic or '')}”: "
    else:
        header = "🆕 New article: "
    blocks = [Block(header + line.html, header + line.visible)]
    if push.quote is not None:
        blocks.extend(quote_blocks(push.quote.text, attribution_html(push.quote)))
    return pack(blocks)


def digest_html(payloads: Sequence[PushPayload]) -> list[str]:
    """One message listing many new articles instead of a flood."""
    head = f"🆕 {len(payloads)} new articles:"
    blocks = [Block(head, head)]
    for push in payloads:
        line = _article_line(push.article)
        topic = f" (on “{push.topic}”)" if push.kind == "follow" else ""
        blocks.append(Block(f"• {line.html}{escape(topic)}", f"• {line.visible}{topic}"))
    return pack(blocks, separator="\n")


def latest_html(items: Sequence[tuple[ArticleRef, Quote | None]]) -> list[str]:
    """The newest articles: title, source, date, link and first sentence (as `engine.newest`
    gives them)."""
    if not items:
        return ["The index holds no articles yet."]
    blocks = []
    for article, quote in items:
        line = _article_line(article)
        text = quote.text if quote else None
        whole = Block(f"{line.html}\n<blockquote>{escape(text)}</blockquote>",
                      f"{line.visible}\n{text}") if text is not None else line
        if utf16_len(whole.visible) <= TELEGRAM_LIMIT or text is None:
            blocks.append(whole)
        else:  # a first sentence longer than a message: whole, over several
            blocks.append(line)
            blocks.extend(Block(f"<blockquote>{escape(piece, quote=False)}</blockquote>", piece)
                          for piece in _cut(text, TELEGRAM_LIMIT))
    return pack(blocks)
