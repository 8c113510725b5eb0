"""Stories: the articles of different publishers that report the same event, so an answer can
add who else says it ("Also reported by") and /compare can set the outlets' own words side by
side. Two articles are one story when they come from different sources, were published within
STORY_DAYS of each other, and they mean the same (the mean of the index's own passage vectors)
while naming a person or place in common, or mean nearly the same, or their leads share most
of their wording (a wire copy); stories are the connected groups of such pairs. An article's
story is found when asked for, from the reports of the days around it (`Stories`)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from bot.engine.cosines import similarities
from bot.engine.dates import published_day
from bot.engine.memo import once_per_version
from bot.engine.text import fold
from index import IndexView

__all__ = ["STORY_DAYS", "STORY_SIMILARITY", "Stories", "Story", "stories_of"]

STORY_SIMILARITY = 0.45  # cosine of the articles' mean passage vectors (MiniLM's scale): on
# the outlets fixture same-event pairs 0.46-0.77, other events within STORY_DAYS at most 0.43
STORY_DAYS = 3  # at most this many days between two reports of one event
SHARED_WORDING = 0.5  # Jaccard of the leads' word triples: a copy, whatever the vectors say
SURE_SIMILARITY = 0.70  # this close, no shared name is needed
_CALENDAR = frozenset("Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February "
                      "March April June July August September October November December"
                      .split())  # a day both name is no person or place
_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)(?<!\n)\b[A-Z][a-z]{3,}\b")
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Story:
    """Articles of several publishers on one event: ids in publication order, and their
    sources (each once, in the same order)."""

    id: str
    article_ids: tuple[str, ...]
    sources: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "sources": list(self.sources)}


class Stories:
    """A version's stories, found article by article when asked for: an article's story is
    the connected group of pairs around it (each step looks STORY_DAYS either side of one
    member), so an answer reads the reports of its own week, never the whole corpus. Found
    stories and the articles' meanings, names and wording are kept in bounded caches.
    `Stories()` has none."""

    FEATURES = 20_000  # articles whose meaning, names and wording are kept
    FOUND = 100_000  # articles whose story (or none) is kept

    def __init__(self, index: IndexView | None = None, similarity: float = STORY_SIMILARITY,
                 days: int = STORY_DAYS) -> None:
        self.index, self.similarity, self.days = index, similarity, days
        items: list[tuple[int, int, str]] = []  # (day ordinal, row, source), the dated
        if index is not None:
            facets = index.articles.facets()
            for row, published, source in zip(facets.rows.tolist(), facets.published,
                                               facets.sources, strict=True):
                day = published_day(published)
                if source and day is not None:
                    items.append((day.toordinal(), row, source))
        # Sorted by day, so the reports within `days` of one are a slice (np.searchsorted).
        items.sort()
        self._days = np.array([d for d, _, _ in items], np.int64)
        self._rows = [r for _, r, _ in items]
        self._sources = [s for _, _, s in items]
        self._at = {row: i for i, row in enumerate(self._rows)}
        self._features: dict[int, _Features | None] = {}
        self._found: dict[int, Story | None] = {}
        self.by_article: Mapping[str, Story] = _ByArticle(self)

    @property
    def stories(self) -> list[Story]:
        """Every story of the version (each dated article looked at: for tests and
        benchmarks, not for answers)."""
        found: dict[str, Story] = {}
        for row in self._rows:
            story = self.of_row(row)
            if story is not None:
                found.setdefault(story.id, story)
        return list(found.values())

    def of_row(self, row: int) -> Story | None:
        """The story of an article row; None when it is in none."""
        if row in self._found:
            return self._found[row]
        start = self._at.get(row)
        if start is None or self._feature(start) is None:
            return None
        members, frontier = {start}, [start]
        while frontier:
            for joined in self._joined_to(frontier.pop(), members):
                members.add(joined)
                frontier.append(joined)
        ordered = sorted(members)
        sources = list(dict.fromkeys(self._sources[i] for i in ordered))
        story = None
        if len(sources) >= 2:
            assert self.index is not None
            ids = tuple(self.index.articles[self._rows[i]].article_id for i in ordered)
            story = Story(_story_id(ids), ids, tuple(sources))
        # Every member of the group gets the same answer (the story, or none), so asking for
        # another member never walks the group again; past FOUND the cache starts over.
        if len(self._found) + len(ordered) > self.FOUND:
            self._found.clear()
        self._found.update(dict.fromkeys((self._rows[i] for i in ordered), story))
        return story

    def _joined_to(self, i: int, members: set[int]) -> list[int]:
        """The dated articles within `days` of item i, of another publisher, that are one
        story with it (close in meaning and naming someone both name, or very close, or a
        copy), not yet in `members`."""
        assert self.index is not None
        low = int(np.searchsorted(self._days, self._days[i] - self.days, "left"))
        high = int(np.searchsorted(self._days, self._days[i] + self.days, "right"))
        near = [j for j in range(low, high)
                if j not in members and self._sources[j] != self._sources[i]]
        features: list[tuple[int, _Features]] = []
        for j in near:
            feature = self._feature(j)
            if feature is not None:
                features.append((j, feature))
        if not features:
            return []
        own = self._feature(i)
        assert own is not None
        meanings = np.stack([f.meaning for _, f in features])
        cosines = similarities(self.index, meanings @ own.meaning).tolist()
        joined = []
        for (j, f), cosine in zip(features, cosines, strict=True):
            # Close in meaning counts only with a person or place both name (two events of one
            # kind read alike: two floods, in two valleys); very close, or a copy, suffices.
            named_alike = cosine >= self.similarity and own.names & f.names
            if named_alike or cosine >= SURE_SIMILARITY or (
                    _jaccard(own.wording, f.wording) >= SHARED_WORDING):
                joined.append(j)
        return joined

    def _feature(self, i: int) -> _Features | None:
        row = self._rows[i]
        if row not in self._features:
            assert self.index is not None
            if len(self._features) >= self.FEATURES:
                self._features.clear()
            passages = self.index.article_passages(row)
            # An article without passages (nothing indexed of it) is in no story.
            found = None
            if passages:
                found = _Features(_meaning(self.index, passages), _names(self.index, row),
                                  _triples(self.index, row))
            self._features[row] = found
        return self._features[row]


@dataclass(frozen=True)
class _Features:
    """What pairing an article reads: its meaning, the names and the word triples of its lead."""

    meaning: np.ndarray
    names: frozenset[str]
    wording: frozenset[tuple[str, ...]]


class _ByArticle(Mapping[str, Story]):
    """Stories by article id, each found when asked for."""

    def __init__(self, stories: Stories) -> None:
        self._stories = stories

    def __getitem__(self, article_id: str) -> Story:
        index = self._stories.index
        info = index.by_article_id.get(article_id) if index is not None else None
        story = self._stories.of_row(info.row) if info is not None else None
        if story is None:
            raise KeyError(article_id)
        return story

    def __iter__(self) -> Iterator[str]:
        return (a for story in self._stories.stories for a in story.article_ids)

    def __len__(self) -> int:
        return sum(len(story.article_ids) for story in self._stories.stories)


def stories_of(index: IndexView) -> Stories:
    """The stories of a loaded index version (found when asked for), kept with it."""
    return once_per_version(index, "stories", Stories)


def _meaning(index: IndexView, passages: list[int]) -> np.ndarray:
    """The mean of an article's passage vectors, normalised: what the whole report says (on
    the fixture, first passages alone told a flood's two reports apart less well)."""
    vectors = np.stack([np.asarray(index.passage_vector(p), np.float32) for p in passages])
    mean = vectors.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm else mean


def _triples(index: IndexView, row: int) -> frozenset[tuple[str, ...]]:
    """The word triples of the title and the lead's first 600 characters, folded: what a
    wire copy repeats word for word."""
    words = _WORD.findall(fold(index.articles[row].title + " " +
                               index.article_text(row)[:600]))
    return frozenset(zip(words, words[1:], words[2:], strict=False))


def _names(index: IndexView, row: int) -> frozenset[str]:
    """Capitalised words of the title and lead not opening a sentence or paragraph: the
    people and places a report names (two reports of a flood name the same valley)."""
    text = index.articles[row].title + "\n" + index.article_text(row)[:600]
    return frozenset(_NAME.findall(text)) - _CALENDAR


def _jaccard(first: frozenset[tuple[str, ...]], second: frozenset[tuple[str, ...]]) -> float:
    if not first or not second:
        return 0.0
    return len(first & second) / len(first | second)


def _story_id(article_ids: Iterable[str]) -> str:
    """A short id that stays the same while the story's articles do."""
    return hashlib.sha256("\0".join(sorted(article_ids)).encode()).hexdigest()[:12]
