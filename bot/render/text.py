"""An answer as plain text, for the console and the command line: each quote in quotation
marks with its attribution on the next line."""

from __future__ import annotations

from bot.engine import Answer, Outcome, Quote
from bot.i18n import ENGLISH, Html, Translator
from bot.render.labels import (
    difference_lines,
    filtered_out,
    head_line,
    shorten,
)
from bot.render.messages import (
    ALSO_REPORTED,
    EACH_OUTLET,
    FOLLOWING_UP,
    NEAREST,
    NO_ANSWER,
    PARAGRAPH,
    RELATED,
    notice,
)
from bot.render.speakers import speaker_label, speaker_lines


def attribution(quote: Quote, tr: Translator = ENGLISH) -> str:
    """Speaker · title · source · date · link · paragraph, leaving out what is unknown."""
    parts = [*filter(None, [speaker_label(quote)]), shorten(quote.title)]
    if quote.source:
        parts.append(shorten(quote.source))
    if quote.published:
        parts.append(quote.published)
    if quote.url:
        parts.append(quote.url)
    shown = [tr.isolate(part) for part in parts]
    return " · ".join([*shown, tr.say(PARAGRAPH, number=quote.paragraph)])


def _quoted(quote: Quote, tr: Translator) -> str:
    """A quote in quotation marks (one isolate with them), then its attribution."""
    return f"{tr.isolate(f'“{quote.text}”')}\n    — {attribution(quote, tr)}"


def as_text(answer: Answer, tr: Translator = ENGLISH) -> str:
    """An answer as a person reads it in a terminal, by its outcome (the ladder
    `answer_html` walks too): a notice, what the filters left out, or the answer under the
    line that says its filters."""
    outcome = answer.outcome
    if outcome.is_notice:
        return notice(answer, tr)
    if outcome in (Outcome.UNKNOWN_SOURCE, Outcome.OUTSIDE_PERIOD):
        return "\n".join(filtered_out(answer, tr))
    if outcome is Outcome.NOT_ANSWERED:
        body = _abstention_text(answer, tr)
    else:
        body = _quotes_text(answer, tr)
    head = head_line(answer, tr)
    return body if head is None else f"{head}\n{body}"


def _abstention_text(answer: Answer, tr: Translator) -> str:
    """The articles do not answer: with a related lead, or the nearest articles' titles."""
    lines = [tr.say(NO_ANSWER)]
    if answer.related is not None:
        lines.append(f"{tr.say(RELATED)}\n{_quoted(answer.related, tr)}")
    elif answer.suggestions:
        titles = "; ".join(tr.isolate(shorten(s["title"])) for s in answer.suggestions)
        # the titles are isolated already: Html keeps `say` from isolating them again
        lines.append(tr.say(NEAREST, titles=Html(titles)))
    return "\n".join(lines)


def _quotes_text(answer: Answer, tr: Translator) -> str:
    """The quotes; for /compare with where the outlets differ and who they quote; then the
    other outlets that reported it."""
    quotes = "\n\n".join(_quoted(quote, tr) for quote in answer.quotes)
    if answer.compared:
        lines = [*difference_lines(answer, tr), *speaker_lines(answer.quotes, tr)]
        quotes = f"{tr.say(EACH_OUTLET)}\n{quotes}" + "".join(f"\n{line}" for line in lines)
    if answer.also_reported:
        others = "".join(f"\n• {tr.isolate(q.source or '')}: {_quoted(q, tr)}"
                         for q in answer.also_reported)
        quotes += f"\n\n{tr.say(ALSO_REPORTED)}{others}"
    if answer.followup_of:
        return f"{tr.say(FOLLOWING_UP, question=answer.followup_of)}\n{quotes}"
    return quotes
