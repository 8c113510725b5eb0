"""Render answers for people: plain text (console, command line) and Telegram HTML."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from html import escape

from bot.answer import Answer, Quote
from index.chunk import sentences


def attribution(quote: Quote) -> str:
    """Title · source · date · link · paragraph, leaving out what is unknown."""
    parts = [quote.title]
    if quote.source:
        parts.append(quote.source)
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
        lines = ["The articles do not answer that."]
        if answer.suggestions:
            lines.append("Nearest articles: " + "; ".join(s["title"] for s in answer.suggestions))
        return "\n".join(lines)
    blocks = []
    for quote in answer.quotes:
        blocks.append(f"“{quote.text}”\n    — {attribution(quote)}")
    return "\n\n".join(blocks)


# ---- Telegram HTML -------------------------------------------------------------------------
TELEGRAM_LIMIT = 4096
NO_ANSWER = "The articles do not answer that."


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units of the text after entity parsing."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Block:
    """A piece of a message: its HTML and the text Telegram shows for it."""

    html: str
    visible: str


def attribution_html(quote: Quote | dict) -> Block:
    q = quote if isinstance(quote, dict) else asdict(quote)
    title = q["title"]
    if q.get("url"):
        head = f'<a href="{escape(q["url"], quote=True)}">{escape(title)}</a>'
    else:
        head = f"<b>{escape(title)}</b>"
    rest = [q[k] for k in ("source", "published") if q.get(k)]
    rest.append(f"paragraph {q['paragraph']}")
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
    """Consecutive slices of `text`, each within `budget`, cut after sentences where possible."""
    pieces: list[str] = []
    start = 0
    bounds = [s.end for s in sentences(text)]
    while start < len(text):
        end = start
        for bound in bounds:
            if bound > start and utf16_len(text[start:bound]) <= budget:
                end = bound
        if end == start:  # one sentence over the budget: cut at the last space that fits
            end = start + 1
            while end < len(text) and utf16_len(text[start:end + 1]) <= budget:
                end += 1
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
    for block in blocks:
        joined = separator.join(b.visible for b in [*messages[-1], block]) if messages else ""
        if messages and utf16_len(joined) <= limit:
            messages[-1].append(block)
        else:
            messages.append([block])
    return [separator.join(b.html for b in group) for group in messages]


def answer_html(answer: Answer, quotes: list[Quote] | None = None) -> list[str]:
    """The messages of an answer in Telegram HTML (escaped), split to Telegram's limit."""
    if answer.error:
        return [escape(answer.error)]
    if answer.help:
        return [escape(answer.help)]
    if answer.abstained:
        text = NO_ANSWER
        if answer.suggestions:
            text += " Nearest articles are below."
        return [escape(text)]
    blocks: list[Block] = []
    for quote in quotes if quotes is not None else answer.quotes:
        blocks.extend(quote_blocks(quote.text, attribution_html(quote)))
    return pack(blocks)


def _article_line(article: dict) -> Block:
    title = article["title"]
    head = (f'<a href="{escape(article["url"], quote=True)}">{escape(title)}</a>'
            if article.get("url") else f"<b>{escape(title)}</b>")
    rest = " · ".join(article[k] for k in ("source", "published") if article.get(k))
    return Block(head + (f" · {escape(rest)}" if rest else ""),
                 title + (f" · {rest}" if rest else ""))


def push_html(payload: dict) -> list[str]:
    """A new article for a subscriber, or a match for a followed topic, with its quote."""
    line = _article_line(payload["article"])
    if payload["kind"] == "follow":
        header = f"🔔 New on “{escape(payload['topic'])}”: "
    else:
        header = "🆕 New article: "
    blocks = [Block(header + line.html, header + line.visible)]
    quote = payload.get("quote")
    if quote:
        blocks.extend(quote_blocks(quote["text"], attribution_html(quote)))
    return pack(blocks)


def digest_html(payloads: list[dict]) -> list[str]:
    """One message listing many new articles instead of a flood."""
    head = f"🆕 {len(payloads)} new articles:"
    blocks = [Block(head, head)]
    for payload in payloads:
        line = _article_line(payload["article"])
        topic = f" (on “{payload['topic']}”)" if payload["kind"] == "follow" else ""
        blocks.append(Block(f"• {line.html}{escape(topic)}", f"• {line.visible}{topic}"))
    return pack(blocks, separator="\n")


def latest_html(items: list[tuple[dict, dict | None]]) -> list[str]:
    """The newest articles: title, source, date, link and first sentence."""
    if not items:
        return ["The index holds no articles yet."]
    blocks = []
    for article, quote in items:
        line = _article_line(article)
        if quote:
            blocks.append(Block(f"{line.html}\n<blockquote>{escape(quote['text'])}</blockquote>",
                                f"{line.visible}\n{quote['text']}"))
        else:
            blocks.append(line)
    return pack(blocks)
