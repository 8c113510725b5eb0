"""Render answers for people: plain text (console, command line) and Telegram HTML."""

from __future__ import annotations

from bot.answer import Answer, Quote


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
