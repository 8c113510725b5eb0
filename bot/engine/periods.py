"""Publication periods named in a question: "last week", "since Monday", "in March 2005".

Relative periods are looked up in a small table per language the bot speaks
(`bot.engine.period_words`); absolute dates after a preposition are parsed by `dateparser`
with today as the reference (`bot.engine.dates`). The words that named the period are taken
out of the text the search uses, so "last week" is not searched for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.engine.dates import parse_date, published_day, relative_days, shift
from bot.engine.period_words import (
    AGO,
    BETWEEN_EN,
    ISO_OR_YEAR,
    KIND,
    NUMBERS,
    PREPOSITIONAL_EN,
    PREPOSITIONS,
    RELATIVE,
    SPAN,
    UNITS,
    YEARS_EN,
)

__all__ = ["MAX_WIDEN_DAYS", "Period", "find_period"]


@dataclass(frozen=True)
class Period:
    """Publication dates from `start` to `end`, both included; None is open."""

    start: dt.date | None
    end: dt.date | None
    said: str = ""  # the question's words that named it
    # Days a relative period ("this week") may be widened into the past when no article is
    # in it (`widened`); 0 for dates the question wrote out ("in March 2005").
    widen_days: int = field(default=0, compare=False)

    def widened(self) -> Period | None:
        """The period reaching `widen_days` further into the past; None when it may not."""
        if not self.widen_days or self.start is None:
            return None
        return dataclasses.replace(self, start=shift(self.start, -self.widen_days),
                                   widen_days=0)

    def contains(self, published: str | None) -> bool:
        """Whether an article published on `published` (ISO date or time) is in the period;
        an undated article never is."""
        day = published_day(published)
        if day is None:
            return False
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    def distance(self, published: str | None) -> int | None:
        """Days between a publication date and the period (0 inside); None when undated."""
        day = published_day(published)
        if day is None:
            return None
        if self.start is not None and day < self.start:
            return (self.start - day).days
        if self.end is not None and day > self.end:
            return (day - self.end).days
        return 0


# A finder reads one kind of period off a question: the period and where its words stand.
Found = tuple[Period, tuple[int, int]]
Finder = Callable[[str, str, dt.date], Found | None]


def find_period(text: str, language: str | None, today: dt.date,
                absolute: bool = True) -> tuple[Period | None, str]:
    """The publication period a question names, and the question without those words;
    without `absolute`, only periods relative to today ("last week"), not dates ("in 2010",
    which in a corpus of undated articles is what the question is about, not a filter)."""
    language = language or "en"
    # The longer, more specific forms first: "between March and May" before "in May".
    finders: tuple[Finder, ...] = (
        (_find_between, _find_span, _find_relative, _find_prepositional) if absolute
        else (_find_span, _find_relative))
    for find in finders:
        result = find(text, language, today)
        if result is not None:
            period, (start, end) = result
            return dataclasses.replace(period, said=text[start:end].strip()), _cut(text, start, end)
    return None, text


def _cut(text: str, start: int, end: int) -> str:
    """The question without the words from `start` to `end`, spaced as if never written."""
    rest = " ".join(f"{text[:start]} {text[end:]}".split())
    # No space left before the punctuation that followed the period ("news last week?").
    return re.sub(r"\s+([?.!,;:？。؟])", r"\1", rest)


# Words before a relative period that bound it on one side ("since yesterday"); any other
# period word stands for the days it covers ("in").
_BOUNDS = (("since", "since"), ("before", "before"), ("until", "until"), ("after", "after"),
           ("seit", "since"), ("depuis", "since"), ("desde", "since"))


def _find_relative(text: str, language: str, today: dt.date) -> Found | None:
    lowered = text.lower()
    # The question's own language first, then English, which askers mix in.
    for lang in dict.fromkeys((language, "en")):
        table = RELATIVE.get(lang, {})
        # Longest phrases first: "ce mois-ci" before "ce mois".
        for phrase in sorted(table, key=len, reverse=True):
            at = _find_words(lowered, phrase, lang)
            if at is None:
                continue
            start, end = at
            kind, phrase_start = _bound(lowered, start)
            period = _apply(kind, relative_days(table[phrase], today), today)
            # Only a period the asker did not bound may be widened (see MAX_WIDEN_DAYS).
            return (_widenable(period) if kind == "in" else period), (phrase_start, end)
    return None


def _bound(lowered: str, start: int) -> tuple[str, int]:
    """How the word before a relative period starting at `start` bounds it, and where the
    period's words then begin (with that word)."""
    kind, phrase_start = "in", start
    before = lowered[:start].rstrip()
    for word, meaning in _BOUNDS:
        if before.endswith(word):
            kind, phrase_start = meaning, len(before) - len(word)
    return kind, phrase_start


def _find_words(lowered: str, phrase: str, language: str) -> tuple[int, int] | None:
    """Where `phrase` stands in the text as whole words (any place in Chinese)."""
    # Chinese writes no spaces between words: a phrase is found wherever it stands.
    if language == "zh":
        at = lowered.find(phrase)
        return (at, at + len(phrase)) if at >= 0 else None
    match = re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", lowered)
    return match.span() if match else None


def _find_span(text: str, language: str, today: dt.date) -> Found | None:
    match = SPAN.search(text) or AGO.search(text)
    if match is None:
        return None
    days = _count(match.group(1)) * UNITS[match.group(2).lower()]
    # "two days ago" is that one day; "the past two days" runs from it to today.
    if match.re is AGO:
        day = shift(today, -days)
        return _widenable(Period(day, day)), match.span()
    return _widenable(Period(shift(today, -days), today)), match.span()


def _count(word: str) -> int:
    """The number a span names ("3", "three"); a number of more digits than any span of days
    a date can hold stands for that whole span, not for an int of thousands of digits."""
    if word.isdigit():
        return int(word) if len(word) <= 7 else 10 ** 7
    return NUMBERS[word.lower()]


# A relative period that holds no article may be widened into the past by its own length, at
# most a week. Its own length keeps the answer on the scale the question asked for ("today"
# reaches back one day, "this week" on a Thursday four days, to the Sunday before it; it never
# becomes "this month"), and the week's cap keeps "this month" or "this year" asked on the 2nd
# from reaching a month or a year back, where an answer is old news rather than "just outside".
# Into the past only: a relative period ends on the question's day, or where the question
# drew its end ("yesterday", "last week"), and what came before is what the asker may have
# misplaced (the Sunday election asked about "this week"). Dates written out ("in March 2005",
# "since Monday") are never widened: the asker chose those bounds.
MAX_WIDEN_DAYS = 7


def _widenable(period: Period) -> Period:
    """A relative period with the days it may be widened by (see MAX_WIDEN_DAYS)."""
    if period.start is None or period.end is None:
        return period
    length = (period.end - period.start).days + 1
    return dataclasses.replace(period, widen_days=max(0, min(length, MAX_WIDEN_DAYS)))


def _find_between(text: str, language: str, today: dt.date) -> Found | None:
    years = _find_years(text, today)
    if years is not None:
        return years
    match = BETWEEN_EN.search(text) if language in ("en", None) else None
    if match is None:
        return None
    first_words, last_words = match.group(1), match.group(2)
    # "between March and May 2005": the year written once holds for both ends.
    year = re.search(r"(?:19|20)\d{2}$", last_words)
    if year and not re.search(r"\d{4}", first_words):
        first_words = f"{first_words} {year.group()}"
    first = parse_date(first_words, "en", today)
    last = parse_date(last_words, "en", today)
    if first is None or last is None:
        return None
    return Period(first[0], min(last[1], today)), match.span()


def _find_years(text: str, today: dt.date) -> Found | None:
    """A range of years ("from 2005-2014", "in 2003-04"), the later one not in the future;
    None for none, or for one that runs backwards."""
    years = YEARS_EN.search(text)
    if years is None:
        return None
    first, last = years.group(1), years.group(2)
    # "2003-04": the second year's missing century digits are the first's.
    last = first[:4 - len(last)] + last
    if int(last) < int(first):
        return None
    return (Period(dt.date(int(first), 1, 1), min(dt.date(int(last), 12, 31), today)),
            years.span())


def _find_prepositional(text: str, language: str, today: dt.date) -> Found | None:
    match = _prepositional_match(text, language)
    if match is None:
        return None
    preposition, words = match.group(1).lower(), match.group(2)
    parsed = parse_date(words, language, today)
    if parsed is None:
        return None
    return _apply(KIND.get(preposition, "in"), parsed, today), match.span()


def _prepositional_match(text: str, language: str) -> re.Match[str] | None:
    """A preposition and the date after it: English by its own date words, the other
    languages by the digits of a date or year (`ISO_OR_YEAR`)."""
    if language == "en":
        return PREPOSITIONAL_EN.search(text)
    prepositions = PREPOSITIONS.get(language)
    if not prepositions:
        return None
    # Longest first, so "depuis le" wins over "depuis".
    words = "|".join(sorted(map(re.escape, prepositions), key=len, reverse=True))
    pattern = rf"(?<!\w)({words})\s+{ISO_OR_YEAR}(?!\w)"
    return re.search(pattern, text, re.IGNORECASE)


def _apply(kind: str, days: tuple[dt.date, dt.date], today: dt.date) -> Period:
    """The period a preposition makes of a date's days ("since March": March to today)."""
    first, last = days
    if kind == "since":
        return Period(first, today)
    if kind == "after":
        return Period(shift(last, 1), today)
    if kind == "before":
        return Period(None, shift(first, -1))
    if kind == "until":
        return Period(None, min(last, today))
    # "in": the date's days, cut at today unless the whole date is still to come.
    return Period(first, min(last, today) if first <= today else last)
