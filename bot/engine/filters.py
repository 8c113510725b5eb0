"""What a question restricts the search to: a publication period ("last week", "since Monday",
"in March 2005") and publishers ("according to Reuters"), read off the question's own words.

Relative periods are looked up in a small table per language the bot speaks; absolute dates
after a preposition are parsed by `dateparser` with today as the reference. The words that named
a filter are taken out of the text the search uses, so "last week" is not searched for.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

__all__ = ["Filters", "Period", "SourceNames", "find_period", "understand"]


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
        return dataclasses.replace(self, start=_shift(self.start, -self.widen_days),
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


@dataclass(frozen=True)
class Filters:
    """The restrictions understood in a question, and the question without their words."""

    period: Period | None = None
    sources: tuple[str, ...] = ()  # corpus source names, as stored
    unknown_source: str | None = None  # a publisher named that the corpus does not have
    text: str = ""  # the question without the words that named the filters
    chat_sources: bool = False  # the sources are the chat's default (/sources), not named

    @property
    def active(self) -> bool:
        return self.period is not None or bool(self.sources)

    def to_json(self) -> dict[str, Any]:
        """The JSON contract's `filters`: from/to (ISO dates or null) and sources."""
        data: dict[str, Any] = {
            "from": _iso(self.period.start) if self.period else None,
            "to": _iso(self.period.end) if self.period else None,
            "sources": list(self.sources),
        }
        if self.unknown_source is not None:
            data["unknown_source"] = self.unknown_source
        return data


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def published_day(published: str | None) -> dt.date | None:
    """The date of an ISO publication date or time; None when missing or unreadable."""
    if not published:
        return None
    try:
        return dt.date.fromisoformat(published[:10])
    except ValueError:
        return None


# ---- periods -------------------------------------------------------------------------------

# Relative periods by language: phrase -> key. Keys are computed by `_relative`.
_RELATIVE: dict[str, dict[str, str]] = {
    "en": {"today": "today", "tonight": "today", "this morning": "today", "yesterday": "yesterday",
           "last night": "yesterday", "this week": "this week", "last week": "last week",
           "past week": "last week", "this month": "this month", "last month": "last month",
           "past month": "past month", "this year": "this year", "last year": "last year",
           "past year": "past year", "last weekend": "last weekend",
           "this weekend": "last weekend"},
    "fr": {"aujourd'hui": "today", "aujourd’hui": "today", "hier": "yesterday",
           "cette semaine": "this week", "la semaine dernière": "last week",
           "la semaine passée": "last week", "ce mois-ci": "this month", "ce mois": "this month",
           "le mois dernier": "last month", "cette année": "this year",
           "l'année dernière": "last year", "l’année dernière": "last year",
           "l'an dernier": "last year", "l’an dernier": "last year"},
    "de": {"heute": "today", "gestern": "yesterday", "diese woche": "this week",
           "dieser woche": "this week", "letzte woche": "last week",
           "letzten woche": "last week", "vergangene woche": "last week",
           "vergangenen woche": "last week", "diesen monat": "this month",
           "diesem monat": "this month", "letzten monat": "last month",
           "letzten monats": "last month", "dieses jahr": "this year",
           "diesem jahr": "this year", "letztes jahr": "last year",
           "letzten jahr": "last year", "vergangenes jahr": "last year"},
    "es": {"hoy": "today", "ayer": "yesterday", "esta semana": "this week",
           "la semana pasada": "last week", "este mes": "this month",
           "el mes pasado": "last month", "este año": "this year", "el año pasado": "last year"},
    "ru": {"сегодня": "today", "вчера": "yesterday", "на этой неделе": "this week",
           "на прошлой неделе": "last week", "в этом месяце": "this month",
           "в прошлом месяце": "last month", "в этом году": "this year",
           "в прошлом году": "last year"},
    "ar": {"اليوم": "today", "أمس": "yesterday", "امس": "yesterday", "البارحة": "yesterday",
           "هذا الأسبوع": "this week", "الأسبوع الماضي": "last week",
           "الاسبوع الماضي": "last week", "هذا الشهر": "this month",
           "الشهر الماضي": "last month", "هذا العام": "this year", "هذه السنة": "this year",
           "العام الماضي": "last year", "السنة الماضية": "last year"},
    "zh": {"今天": "today", "昨天": "yesterday", "本周": "this week", "这周": "this week",
           "这个星期": "this week", "上周": "last week", "上星期": "last week",
           "上个星期": "last week", "本月": "this month", "这个月": "this month",
           "上个月": "last month", "今年": "this year", "去年": "last year"},
}
_UNITS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "month": 30, "months": 30, "year": 365,
          "years": 365}
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "ten": 10, "few": 3, "couple of": 2}
_SPAN = re.compile(r"\b(?:in |during |over |within )?(?:the )?(?:last|past) "
                   r"(\d+|a|an|one|two|three|four|five|six|seven|ten|few|couple of) "
                   r"(days?|weeks?|months?|years?)\b", re.IGNORECASE)
_AGO = re.compile(r"\b(\d+|a|an|one|two|three|four|five|six|seven|ten) (days?|weeks?) ago\b",
                  re.IGNORECASE)
# Absolute dates after a preposition, per language: (preposition) (date words).
_MONTHS_EN = ("january|february|march|april|may|june|july|august|september|october|november|"
              "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DAYS_EN = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_DATE_EN = (rf"(?:(?:last |this )?(?:{_DAYS_EN})|"
            rf"(?:\d{{1,2}}(?:st|nd|rd|th)? (?:of )?(?:{_MONTHS_EN})\.?(?:,? \d{{4}})?)|"
            rf"(?:(?:{_MONTHS_EN})\.? \d{{1,2}}(?:st|nd|rd|th)?(?:,? \d{{4}})?)|"
            rf"(?:(?:{_MONTHS_EN})\.?(?: (?:of )?\d{{4}})?)|"
            r"(?:\d{4}-\d{2}-\d{2})|(?:(?:19|20)\d{2}(?![-–/]\d)))")
_YEARS_EN = re.compile(r"\b(?:(?:from|in|during|between) )?((?:19|20)\d{2})[-–]((?:19|20)?\d{2})\b"
                       r"(?!-)", re.IGNORECASE)
_PREPOSITIONS = {
    "en": ("since", "after", "before", "until", "till", "in", "on", "during", "from"),
    "fr": ("depuis", "après", "avant", "jusqu'à", "en", "le", "pendant", "depuis le"),
    "de": ("seit", "nach", "vor", "bis", "im", "am", "in", "während", "seit dem"),
    "es": ("desde", "después de", "antes de", "hasta", "en", "el", "durante", "desde el"),
    "ru": ("с", "после", "до", "в", "во время"),
}
_KIND = {"since": "since", "from": "since", "depuis": "since", "depuis le": "since",
         "seit": "since", "seit dem": "since", "desde": "since", "desde el": "since",
         "с": "since", "after": "after", "après": "after", "nach": "after",
         "después de": "after", "после": "after", "before": "before", "avant": "before",
         "vor": "before", "antes de": "before", "до": "before", "until": "until",
         "till": "until", "jusqu'à": "until", "bis": "until", "hasta": "until"}
_BETWEEN_EN = re.compile(rf"\b(?:between|from) ({_DATE_EN}) (?:and|to|until|till) ({_DATE_EN})\b",
                         re.IGNORECASE)
_PREPOSITIONAL_EN = re.compile(
    rf"\b({'|'.join(_PREPOSITIONS['en'])}) ({_DATE_EN})\b(?! (?:floods?|elections?|war|games"
    r"|olympics|census|season|world cup|attacks?|crisis|budget|general election))",
    re.IGNORECASE)
# A month's word is short: dateparser never reads more than a few dozen characters at a time.
_ISO_OR_YEAR = (r"(\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{4}|(?:19|20)\d{2}"
                r"|\S{1,20} (?:19|20)\d{2})")


def find_period(text: str, language: str | None, today: dt.date,
                absolute: bool = True) -> tuple[Period | None, str]:
    """The publication period a question names, and the question without those words;
    without `absolute`, only periods relative to today ("last week"), not dates ("in 2010",
    which in a corpus of undated articles is what the question is about, not a filter)."""
    language = language or "en"
    finders = ((_find_between, _find_span, _find_relative, _find_prepositional) if absolute
               else (_find_span, _find_relative))
    for found in finders:
        result = found(text, language, today)
        if result is not None:
            period, (start, end) = result
            rest = " ".join(f"{text[:start]} {text[end:]}".split())
            rest = re.sub(r"\s+([?.!,;:？。؟])", r"\1", rest)
            return dataclasses.replace(period, said=text[start:end].strip()), rest
    return None, text


def _find_relative(text: str, language: str,
                   today: dt.date) -> tuple[Period, tuple[int, int]] | None:
    lowered = text.lower()
    for lang in dict.fromkeys((language, "en")):
        table = _RELATIVE.get(lang, {})
        for phrase in sorted(table, key=len, reverse=True):
            at = _find_words(lowered, phrase, lang)
            if at is None:
                continue
            start, end = at
            kind, phrase_start = "in", start
            before = lowered[:start].rstrip()
            for word, meaning in (("since", "since"), ("before", "before"), ("until", "until"),
                                  ("after", "after"), ("seit", "since"), ("depuis", "since"),
                                  ("desde", "since")):
                if before.endswith(word):
                    kind, phrase_start = meaning, len(before) - len(word)
            period = _apply(kind, _relative(table[phrase], today), today)
            return (_widenable(period) if kind == "in" else period), (phrase_start, end)
    return None


def _find_words(lowered: str, phrase: str, language: str) -> tuple[int, int] | None:
    """Where `phrase` stands in the text as whole words (any place in Chinese)."""
    if language == "zh":
        at = lowered.find(phrase)
        return (at, at + len(phrase)) if at >= 0 else None
    match = re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", lowered)
    return match.span() if match else None


def _find_span(text: str, language: str,
               today: dt.date) -> tuple[Period, tuple[int, int]] | None:
    match = _SPAN.search(text) or _AGO.search(text)
    if match is None:
        return None
    days = _count(match.group(1)) * _UNITS[match.group(2).lower()]
    if match.re is _AGO:
        day = _shift(today, -days)
        return _widenable(Period(day, day)), match.span()
    return _widenable(Period(_shift(today, -days), today)), match.span()


def _count(word: str) -> int:
    """The number a span names ("3", "three"); a number of more digits than any span of days
    a date can hold stands for that whole span, not for an int of thousands of digits."""
    if word.isdigit():
        return int(word) if len(word) <= 7 else 10 ** 7
    return _NUMBERS[word.lower()]


def _shift(day: dt.date, days: int) -> dt.date:
    """`day` moved by `days`, held to the dates there are (1 January of year 1 to 31 December
    9999): "in the last 10000 years" starts on the first of them, "after 9999-12-31" on the
    last, where plain date arithmetic raises OverflowError."""
    lowest, highest = (dt.date.min - day).days, (dt.date.max - day).days
    return day + dt.timedelta(days=max(lowest, min(days, highest)))


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


def _find_between(text: str, language: str,
                  today: dt.date) -> tuple[Period, tuple[int, int]] | None:
    years = _YEARS_EN.search(text)  # "from 2005-2014", "in 2003-04"
    if years is not None:
        first, last = years.group(1), years.group(2)
        last = first[:4 - len(last)] + last
        if int(last) >= int(first):
            return (Period(dt.date(int(first), 1, 1), min(dt.date(int(last), 12, 31), today)),
                    years.span())
    match = _BETWEEN_EN.search(text) if language in ("en", None) else None
    if match is None:
        return None
    first_words, last_words = match.group(1), match.group(2)
    year = re.search(r"(?:19|20)\d{2}$", last_words)
    if year and not re.search(r"\d{4}", first_words):  # "between March and May 2005"
        first_words = f"{first_words} {year.group()}"
    first, last = _parse_date(first_words, "en", today), _parse_date(last_words, "en", today)
    if first is None or last is None:
        return None
    return Period(first[0], min(last[1], today)), match.span()


def _find_prepositional(text: str, language: str,
                        today: dt.date) -> tuple[Period, tuple[int, int]] | None:
    if language == "en":
        match = _PREPOSITIONAL_EN.search(text)
        if match is None:
            return None
        preposition, words = match.group(1).lower(), match.group(2)
        parse_language = "en"
    else:
        prepositions = _PREPOSITIONS.get(language)
        if not prepositions:
            return None
        words = "|".join(sorted(map(re.escape, prepositions), key=len, reverse=True))
        pattern = rf"(?<!\w)({words})\s+{_ISO_OR_YEAR}(?!\w)"
        match = re.search(pattern, text, re.IGNORECASE)
        if match is None:
            return None
        preposition, words = match.group(1).lower(), match.group(2)
        parse_language = language
    parsed = _parse_date(words, parse_language, today)
    if parsed is None:
        return None
    return _apply(_KIND.get(preposition, "in"), parsed, today), match.span()


def _parse_date(words: str, language: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """The days a date expression covers ("March 2005": the month), by dateparser."""
    from dateparser.date import DateDataParser  # imported on first use: it takes 0.2 s

    parser = DateDataParser(languages=[language], settings={
        "RELATIVE_BASE": dt.datetime.combine(today, dt.time(12)), "PREFER_DATES_FROM": "past",
        "RETURN_AS_TIMEZONE_AWARE": False, "PREFER_DAY_OF_MONTH": "first"})
    try:
        data = parser.get_date_data(words.strip().rstrip("."))
    except (ValueError, OverflowError):
        return None
    if data.date_obj is None:
        return None
    day = data.date_obj.date()
    granularity = data.period or "day"
    if granularity == "year" and not re.search(r"\d{4}-\d{2}", words):
        return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    if granularity == "month":
        last = calendar.monthrange(day.year, day.month)[1]
        return dt.date(day.year, day.month, 1), dt.date(day.year, day.month, last)
    if granularity == "week":
        return day, _shift(day, 6)
    return day, day


def _relative(key: str, today: dt.date) -> tuple[dt.date, dt.date]:
    if key == "today":
        return today, today
    if key == "yesterday":
        return _shift(today, -1), _shift(today, -1)
    if key == "this week":
        return _shift(today, -today.weekday()), today
    if key == "last week":  # the seven days before today
        return _shift(today, -7), _shift(today, -1)
    if key == "last weekend":
        saturday = _shift(today, -((today.weekday() - 5) % 7 or 7))
        return saturday, _shift(saturday, 1)
    if key == "this month":
        return today.replace(day=1), today
    if key == "last month":
        end = _shift(today.replace(day=1), -1)
        return end.replace(day=1), end
    if key == "past month":
        return _shift(today, -30), today
    if key == "this year":
        return dt.date(today.year, 1, 1), today
    if key == "last year":
        last = _shift(dt.date(today.year, 1, 1), -1)
        return dt.date(last.year, 1, 1), last
    return _shift(today, -365), today  # past year


def _apply(kind: str, days: tuple[dt.date, dt.date], today: dt.date) -> Period:
    """The period a preposition makes of a date's days ("since March": March to today)."""
    first, last = days
    if kind == "since":
        return Period(first, today)
    if kind == "after":
        return Period(_shift(last, 1), today)
    if kind == "before":
        return Period(None, _shift(first, -1))
    if kind == "until":
        return Period(None, min(last, today))
    return Period(first, min(last, today) if first <= today else last)


# ---- sources -------------------------------------------------------------------------------

_GENERIC = frozenset({"the", "news", "agency", "online", "com", "www", "net", "org", "co", "uk",
                      "ajansi", "agence", "newspaper", "tv", "network"})
_BEFORE = ("according to", "from", "in", "by", "per", "via", "at", "on", "did", "does", "do",
           "says", "said", "reported by", "selon", "d'après", "laut", "bei", "según", "segun",
           "по данным", "согласно", "от")
_AFTER = ("say", "said", "says", "report", "reported", "reports", "write", "wrote", "writes",
          "claim", "claims", "claimed")
_NAME = r"((?:[A-Z][\w&.'-]*)(?: (?:[A-Z][\w&.'-]*|al|el|de|of|the)){0,3})"
_NAMED = (re.compile(rf"\b(?i:according to )(?i:the )?{_NAME}"),
          re.compile(rf"\b(?i:what (?:did|does|do|has|have) )(?i:the )?{_NAME} "
                     r"(?i:say|report|write|claim|tell)"))
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _key(name: str) -> str:
    """A publisher's name compared without case, accents, spaces, hyphens or generic words
    ("Al-Jazeera" = "Al Jazeera" = "aljazeera"; "BBC News" = "the BBC")."""
    words = [w for w in _WORD.findall(_fold(name)) if w not in _GENERIC]
    return "".join(words) or "".join(_WORD.findall(_fold(name)))


@dataclass
class SourceNames:
    """The corpus's publishers, matched in questions with their spelling variants."""

    names: Sequence[str]
    _keys: dict[str, str] = field(init=False, repr=False)
    _key_list: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._keys = {}
        for name in sorted(self.names):
            self._keys.setdefault(_key(name), name)
        self._key_list = list(self._keys)

    def match(self, words: str) -> str | None:
        """The corpus source `words` name, allowing a letter or two of spelling."""
        key = _key(words)
        if not key:
            return None
        if key in self._keys:
            return self._keys[key]
        if len(key) < 6:
            return None
        allowed = 1 if len(key) < 8 else 2
        best = process.extractOne(key, self._key_list, scorer=Levenshtein.distance,
                                  score_cutoff=allowed)
        return self._keys[best[0]] if best is not None else None

    def find(self, text: str) -> tuple[list[str], list[tuple[int, int]]]:
        """The sources a question restricts itself to ("according to Reuters", "what did the
        BBC say", "in Al Jazeera"), and where their names stand."""
        found: list[str] = []
        where: list[tuple[int, int]] = []
        if not self._keys:  # no publisher is known: none can be named
            return found, where
        spans = [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(text)]
        # Whether a cue stands before each word and after each word, read once per word
        # (each reading folds the text before or after it: up to the whole question).
        before = [_cued_before(text[:start]) for start, _, _ in spans]
        after = [_cued_after(text[end:]) for _, end, _ in spans]
        taken = -1
        for i in range(len(spans)):
            if spans[i][0] < taken:
                continue
            for n in (4, 3, 2, 1):
                if i + n > len(spans):
                    continue
                words = text[spans[i][0]:spans[i + n - 1][1]]
                cued = before[i] or after[i + n - 1]
                if not cued and n == 1:  # a lone word is a publisher only where one is named
                    continue
                name = self.match(words)
                if name is None or not (cued or words == name):
                    continue
                start = _cue_start(text, spans[i][0])
                if name not in found:
                    found.append(name)
                where.append((start, spans[i + n - 1][1]))
                taken = spans[i + n - 1][1]
                break
        return found, where


def _cued_before(before: str) -> bool:
    tail = _fold(before).rstrip()
    tail = tail[:-3].rstrip() if tail.endswith(" the") or tail == "the" else tail
    return any(tail == cue or tail.endswith(" " + cue) for cue in _BEFORE)


def _cued_after(after: str) -> bool:
    words = _WORD.findall(_fold(after))
    return bool(words) and (words[0] in _AFTER or (len(words) > 1 and words[0] in
                                                    ("has", "have", "had") and words[1] in _AFTER))


def _cue_start(text: str, start: int) -> int:
    """Where "according to (the)" before a source name begins, to take it out with the name."""
    match = re.search(r"(?:\b(?:according to|reported by|selon|laut|según|segun|in|from|by|per|"
                      r"via|at)\s+(?:the\s+)?)$",
                      text[:start], re.IGNORECASE)
    return match.start() if match else start


def understand(text: str, language: str | None, today: dt.date, sources: SourceNames,
               known_word: Any = None, default_sources: Iterable[str] = (),
               dated: bool = True) -> Filters:
    """The filters a question asks for, and the text to search with. `known_word(name)` says
    whether the articles use a name at all (a person "according to" whom is not a publisher);
    `default_sources` (a chat's choice) apply when the question names none; `dated`: whether
    any article has a date (else dates in the question are not read as periods)."""
    period, rest = find_period(text, language, today, absolute=dated)
    named, where = sources.find(rest)
    unknown = None
    if named:
        for start, end in sorted(where, reverse=True):
            rest = rest[:start] + rest[end:]
        rest = re.sub(r"\s+([?.!,;:])", r"\1", " ".join(rest.split())).lstrip(" ,;:")
        rest = re.sub(r"[,;:]+([?.!])", r"\1", rest)
    else:
        match = _NAMED[0].search(rest) or _NAMED[1].search(rest)
        if match is not None:
            name = match.group(1).strip(" .'")
            if known_word is not None and not known_word(name):
                unknown = name
    chosen = tuple(named) or tuple(n for n in default_sources if n in set(sources.names))
    return Filters(period=period, sources=chosen, unknown_source=unknown, text=rest or text,
                   chat_sources=not named and bool(chosen))
