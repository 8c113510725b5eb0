"""Date arithmetic for publication periods: the date of a publication time, days moved without
overflowing, the days a date expression or a relative phrase covers. Pure functions of dates;
`bot.engine.periods` turns their days into periods."""

from __future__ import annotations

import calendar
import datetime as dt
import re

__all__ = ["parse_date", "published_day", "relative_days", "shift"]


def published_day(published: str | None) -> dt.date | None:
    """The date of an ISO publication date or time; None when missing or unreadable."""
    if not published:
        return None
    # The date part of an ISO time is its first ten characters ("2024-03-05T10:00:00Z").
    try:
        return dt.date.fromisoformat(published[:10])
    except ValueError:
        return None


def shift(day: dt.date, days: int) -> dt.date:
    """`day` moved by `days`, held to the dates there are (1 January of year 1 to 31 December
    9999): "in the last 10000 years" starts on the first of them, "after 9999-12-31" on the
    last, where plain date arithmetic raises OverflowError."""
    lowest, highest = (dt.date.min - day).days, (dt.date.max - day).days
    return day + dt.timedelta(days=max(lowest, min(days, highest)))


def parse_date(words: str, language: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """The days a date expression covers ("March 2005": the month), by dateparser."""
    from dateparser.date import DateDataParser  # imported on first use: it takes 0.2 s

    # Relative words ("Monday") count back from noon today, into the past; a month without a
    # day reads as its first day, and `_covered` widens it to the whole month.
    parser = DateDataParser(languages=[language], settings={
        "RELATIVE_BASE": dt.datetime.combine(today, dt.time(12)), "PREFER_DATES_FROM": "past",
        "RETURN_AS_TIMEZONE_AWARE": False, "PREFER_DAY_OF_MONTH": "first"})
    try:
        data = parser.get_date_data(words.strip().rstrip("."))
    except (ValueError, OverflowError):
        return None
    if data.date_obj is None:
        return None
    return _covered(data.date_obj.date(), data.period or "day", words)


def _covered(day: dt.date, granularity: str, words: str) -> tuple[dt.date, dt.date]:
    """The days a parsed date stands for at the granularity dateparser read it with."""
    # A year read off words that write a month in digits ("2005-03...") is not the whole year.
    if granularity == "year" and not re.search(r"\d{4}-\d{2}", words):
        return dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    if granularity == "month":
        last = calendar.monthrange(day.year, day.month)[1]
        return dt.date(day.year, day.month, 1), dt.date(day.year, day.month, last)
    if granularity == "week":
        return day, shift(day, 6)
    return day, day


def relative_days(key: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day a relative period's key (`period_words.RELATIVE`) covers."""
    if key == "today":
        return today, today
    if key == "yesterday":
        return shift(today, -1), shift(today, -1)
    if key == "this week":
        return shift(today, -today.weekday()), today
    if key == "last week":  # the seven days before today
        return shift(today, -7), shift(today, -1)
    if key == "last weekend":
        saturday = shift(today, -((today.weekday() - 5) % 7 or 7))
        return saturday, shift(saturday, 1)
    if key == "this month":
        return today.replace(day=1), today
    if key == "last month":
        end = shift(today.replace(day=1), -1)
        return end.replace(day=1), end
    if key == "past month":
        return shift(today, -30), today
    if key == "this year":
        return dt.date(today.year, 1, 1), today
    if key == "last year":
        last = shift(dt.date(today.year, 1, 1), -1)
        return dt.date(last.year, 1, 1), last
    return shift(today, -365), today  # past year
