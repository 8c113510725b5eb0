"""What plain text and Telegram HTML say alike: titles cut to a size, safe links, periods as
people write them in the reader's language, the line above a filtered answer, what to say when
the filters left nothing, and where /compare's outlets differ."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence

from babel.dates import format_date, format_interval, format_skeleton

from bot.engine import Answer, Filters, Outcome, Period
from bot.i18n import ENGLISH, Translator
from bot.render.messages import (
    DIFFERENCES,
    NEAREST_DATED,
    NO_SOURCES,
    NONE_BY_WHEN,
    NONE_DATED,
    NONE_WHEN,
    ONE_OUTLET,
    PUBLISHED_BY,
    PUBLISHED_BY_WHEN,
    PUBLISHED_WHEN,
    SINCE,
    UNKNOWN_SOURCE,
    UNTIL,
    WIDENED,
    WIDENED_BY,
)
from index.sources import is_web_url

MAX_TITLE = 200  # characters of a title or source shown; longer ones end in an ellipsis
# "in the last 3 days" names the period with its preposition: "Nothing from the last 3 days".
_PERIOD_PREPOSITION = re.compile(r"^(?:in|during|over|within) ", re.IGNORECASE)


def shorten(text: str, limit: int = MAX_TITLE) -> str:
    """A title (or source) cut visibly at `limit` characters: an article's title is metadata,
    never the quote, so a huge one must not break the messages that show it."""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def safe_url(url: str | None) -> str | None:
    """The URL when it is http(s), else None: a `javascript:` or `tg://` link is never
    rendered, whatever the article's front matter says."""
    return url if url and url == url.strip() and is_web_url(url) else None


def _locale(tr: Translator) -> str:
    # English dates the British way, day first: "24–30 Nov 2026"
    return "en_GB" if tr.language == "en" else tr.language


def _medium(day: dt.date, locale: str) -> str:
    return format_date(day, "medium", locale=locale)


def _whole_month(start: dt.date, end: dt.date) -> bool:
    # the month's last day by the calendar: 31 Dec 9999 has no next day to step to
    last = calendar.monthrange(end.year, end.month)[1]
    same_month = (start.month, start.year) == (end.month, end.year)
    return same_month and start.day == 1 and end.day == last


def _whole_year(start: dt.date, end: dt.date) -> bool:
    same_year = start.year == end.year
    return same_year and (start.month, start.day, end.month, end.day) == (1, 1, 12, 31)


def period_label(period: Period, tr: Translator = ENGLISH) -> str:
    """A period as people write it in the reader's language: "24–30 Nov 2026", "until 31 Dec
    2019", "since 30 Nov 2026"."""
    locale = _locale(tr)
    start, end = period.start, period.end
    if start is None and end is None:
        return ""
    if start is None:
        assert end is not None
        return tr.gettext(UNTIL).format(date=_medium(end, locale))
    if end is None:
        return tr.gettext(SINCE).format(date=_medium(start, locale))
    if start == end:
        return _medium(start, locale)
    if _whole_month(start, end):
        return format_skeleton("yMMM", start, locale=locale)  # "Mar 2005"
    if _whole_year(start, end):
        return format_skeleton("y", start, locale=locale)  # "2005", "2005年"
    return format_interval(start, end, "yMMMd", locale=locale)


def _sources(names: Sequence[str]) -> str:
    return ", ".join(shorten(name) for name in names)


def filters_head(filters: Filters | None, tr: Translator = ENGLISH) -> str | None:
    """The line above an answer saying which articles it was searched in; None for all."""
    if filters is None or not filters.active:
        return None
    when = period_label(filters.period, tr) if filters.period else None
    sources = _sources(filters.sources)
    if when and sources:
        return tr.say(PUBLISHED_BY_WHEN, sources=sources, when=when)
    if when:
        return tr.say(PUBLISHED_WHEN, when=when)
    return tr.say(PUBLISHED_BY, sources=sources)


def widened_head(answer: Answer, tr: Translator = ENGLISH) -> str | None:
    """The line above an answer from a widened period: "Nothing from this week; from 19 Jun
    2022:" (the period in the question's words, then the days its quotes were published);
    None when the period was not widened."""
    filters, wider = answer.filters, answer.period_widened
    if wider is None or filters is None or filters.period is None:
        return None
    published = (_day(quote.published) for quote in answer.quotes)
    days = sorted(day for day in published if day)
    # the days the quotes were published, or the widened period when none is dated
    when = period_label(Period(days[0], days[-1]) if days else wider, tr)
    asked = _PERIOD_PREPOSITION.sub("", filters.period.said)
    asked = asked or period_label(filters.period, tr)
    sources = _sources(filters.sources)
    if sources:
        return tr.say(WIDENED_BY, sources=sources, period=asked, when=when)
    return tr.say(WIDENED, period=asked, when=when)


def _day(published: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(published[:10]) if published else None
    except ValueError:
        return None


def filtered_out(answer: Answer, tr: Translator = ENGLISH) -> list[str]:
    """What to say when the filters left nothing to search (the outcomes UNKNOWN_SOURCE and
    OUTSIDE_PERIOD): an unknown publisher (with the ones there are) or a period no article is
    dated in (with the nearest dated articles). The lines after the first are article titles
    with their dates."""
    filters = answer.filters
    # Answer.outcome gives either outcome only with the filters that name it.
    assert filters is not None
    if answer.outcome is Outcome.UNKNOWN_SOURCE:
        assert filters.unknown_source is not None
        return [_unknown_source(answer, filters.unknown_source, tr)]
    assert filters.period is not None
    when = period_label(filters.period, tr)
    sources = _sources(filters.sources)
    if sources:
        lines = [tr.say(NONE_BY_WHEN, sources=sources, when=when)]
    else:
        lines = [tr.say(NONE_WHEN, when=when)]
    if not answer.suggestions:
        return [*lines, tr.say(NONE_DATED)]
    nearest = [_dated_title(suggestion, tr) for suggestion in answer.suggestions]
    return [*lines, tr.say(NEAREST_DATED), *nearest]


def _unknown_source(answer: Answer, asked: str, tr: Translator) -> str:
    """No articles from the publisher asked for: the ones there are, if any is named."""
    if not answer.available_sources:
        return tr.say(NO_SOURCES, source=asked)
    return tr.say(UNKNOWN_SOURCE, source=asked, sources=_sources(answer.available_sources))


def _dated_title(suggestion: dict[str, str], tr: Translator) -> str:
    """• title · date (a suggestion from the engine: its title and publication date)."""
    values = (shorten(suggestion["title"]), suggestion.get("published", ""))
    return "• " + " · ".join(tr.isolate(value) for value in values if value)


def difference_lines(answer: Answer, tr: Translator = ENGLISH) -> list[str]:
    """/compare: where the outlets' quotes differ ("Numbers differ: 48 (Al Jazeera) / more
    than 40 (Anadolu Agency)"), or that only one outlet answers."""
    if len({q.source for q in answer.quotes}) < 2:
        return [tr.say(ONE_OUTLET)]
    lines = []
    for kind, said in answer.differences:
        versions = " / ".join(f"{words} ({source})" for words, source in said)
        lines.append(tr.say(DIFFERENCES[kind], said=versions))
    return lines


def head_line(answer: Answer, tr: Translator = ENGLISH) -> str | None:
    """The line above an answer searched within a period or publishers (or a period widened
    into the past); None when it was searched among all the articles."""
    return widened_head(answer, tr) or filters_head(answer.filters, tr)
