"""What a question restricts the search to: a publication period ("last week", "since Monday",
"in March 2005", `bot.engine.periods`) and publishers ("according to Reuters",
`bot.engine.publishers`), read off the question's own words. The words that named a filter are
taken out of the text the search uses, so "last week" is not searched for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.engine.periods import Period, find_period
from bot.engine.publishers import SourceNames, unknown_publisher, without_names

__all__ = ["Filters", "understand"]


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


def understand(text: str, language: str | None, today: dt.date, sources: SourceNames,
               known_word: Any = None, default_sources: Iterable[str] = (),
               dated: bool = True) -> Filters:
    """The filters a question asks for, and the text to search with. `known_word(name)` says
    whether the articles use a name at all (a person "according to" whom is not a publisher);
    `default_sources` (a chat's choice) apply when the question names none; `dated`: whether
    any article has a date (else dates in the question are not read as periods)."""
    # The period first, on the whole question; publishers are looked for in what it leaves.
    period, rest = find_period(text, language, today, absolute=dated)
    named, where = sources.find(rest)
    unknown = None
    if named:
        rest = without_names(rest, where)
    else:
        unknown = unknown_publisher(rest, known_word)
    # The chat's sources hold only where the question names none, and only those still in
    # the corpus.
    chosen = tuple(named) or tuple(n for n in default_sources if n in set(sources.names))
    # A question that was nothing but filters ("news from Reuters") searches with its words.
    return Filters(period=period, sources=chosen, unknown_source=unknown, text=rest or text,
                   chat_sources=not named and bool(chosen))
