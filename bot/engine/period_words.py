"""The words periods are named by, per language the bot speaks: relative phrases ("last week",
"la semaine dernière", "上周"), spans ("the past 3 days"), prepositions before a date ("since",
"seit") and the English date expressions. Data only: `bot.engine.periods` reads a question
with them."""

from __future__ import annotations

import re

__all__ = ["AGO", "BETWEEN_EN", "ISO_OR_YEAR", "KIND", "NUMBERS", "PREPOSITIONAL_EN",
           "PREPOSITIONS", "RELATIVE", "SPAN", "UNITS", "YEARS_EN"]

# Relative periods by language: phrase -> key; `dates.relative_days` gives a key's days.
RELATIVE: dict[str, dict[str, str]] = {
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
# "the past 3 weeks": a count in digits or words times a unit's days (a month is 30 days, a
# year 365: a span is a count of days back from today, not calendar months).
UNITS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "month": 30, "months": 30, "year": 365,
         "years": 365}
NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
           "seven": 7, "ten": 10, "few": 3, "couple of": 2}
SPAN = re.compile(r"\b(?:in |during |over |within )?(?:the )?(?:last|past) "
                  r"(\d+|a|an|one|two|three|four|five|six|seven|ten|few|couple of) "
                  r"(days?|weeks?|months?|years?)\b", re.IGNORECASE)
# "two days ago": that one day.
AGO = re.compile(r"\b(\d+|a|an|one|two|three|four|five|six|seven|ten) (days?|weeks?) ago\b",
                 re.IGNORECASE)

# Absolute dates after a preposition, per language: (preposition) (date words).
_MONTHS_EN = ("january|february|march|april|may|june|july|august|september|october|november|"
              "december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DAYS_EN = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
# An English date: a weekday, "5th of March 2005", "March 5, 2005", "March 2005", an ISO date,
# or a year (not the first of a range such as "2005-14" or "2005/06").
_DATE_EN = (rf"(?:(?:last |this )?(?:{_DAYS_EN})|"
            rf"(?:\d{{1,2}}(?:st|nd|rd|th)? (?:of )?(?:{_MONTHS_EN})\.?(?:,? \d{{4}})?)|"
            rf"(?:(?:{_MONTHS_EN})\.? \d{{1,2}}(?:st|nd|rd|th)?(?:,? \d{{4}})?)|"
            rf"(?:(?:{_MONTHS_EN})\.?(?: (?:of )?\d{{4}})?)|"
            r"(?:\d{4}-\d{2}-\d{2})|(?:(?:19|20)\d{2}(?![-–/]\d)))")
# A range of years: "from 2005-2014", "in 2003-04" (not the start of an ISO date).
YEARS_EN = re.compile(r"\b(?:(?:from|in|during|between) )?((?:19|20)\d{2})[-–]((?:19|20)?\d{2})\b"
                      r"(?!-)", re.IGNORECASE)
PREPOSITIONS = {
    "en": ("since", "after", "before", "until", "till", "in", "on", "during", "from"),
    "fr": ("depuis", "après", "avant", "jusqu'à", "en", "le", "pendant", "depuis le"),
    "de": ("seit", "nach", "vor", "bis", "im", "am", "in", "während", "seit dem"),
    "es": ("desde", "después de", "antes de", "hasta", "en", "el", "durante", "desde el"),
    "ru": ("с", "после", "до", "в", "во время"),
}
# What a preposition makes of a date's days (`periods._apply`); one not listed means "in".
KIND = {"since": "since", "from": "since", "depuis": "since", "depuis le": "since",
        "seit": "since", "seit dem": "since", "desde": "since", "desde el": "since",
        "с": "since", "after": "after", "après": "after", "nach": "after",
        "después de": "after", "после": "after", "before": "before", "avant": "before",
        "vor": "before", "antes de": "before", "до": "before", "until": "until",
        "till": "until", "jusqu'à": "until", "bis": "until", "hasta": "until"}
BETWEEN_EN = re.compile(rf"\b(?:between|from) ({_DATE_EN}) (?:and|to|until|till) ({_DATE_EN})\b",
                        re.IGNORECASE)
# A date after a preposition, unless it names an event rather than a time ("in 2005 floods",
# "during 2010 elections"): the question is about the event, not a filter.
PREPOSITIONAL_EN = re.compile(
    rf"\b({'|'.join(PREPOSITIONS['en'])}) ({_DATE_EN})\b(?! (?:floods?|elections?|war|games"
    r"|olympics|census|season|world cup|attacks?|crisis|budget|general election))",
    re.IGNORECASE)
# The other languages' dates after a preposition: an ISO date, 5.3.2005, a year, or one word
# and a year ("mars 2005"). A month's word is short: dateparser never reads more than a few
# dozen characters at a time.
ISO_OR_YEAR = (r"(\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{4}|(?:19|20)\d{2}"
               r"|\S{1,20} (?:19|20)\d{2})")
