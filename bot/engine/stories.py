"""Stories: the articles of different publishers that report the same event, so an answer can
add who else says it ("Also reported by") and /compare can set the outlets' own words side by
side. Two articles are one story when they come from different sources, were published within
STORY_DAYS of each other, and they mean the same (the mean of the index's own passage vectors)
while naming a person or place in common, or mean nearly the same, or their leads share most
of their wording (a wire copy); stories are the connected groups of such pairs.
Found once per index version, when first asked for."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.engine.filters import published_day
from bot.engine.memo import once_per_version
from bot.engine.search import fold, similarities
from index import IndexView

__all__ = ["STORY_DAYS", "STORY_SIMILARITY", "Stories", "Story", "find_stories", "stories_of"]

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


@dataclass
class Stories:
    """A version's stories, and each grouped article's story."""

    stories: list[Story] = field(default_factory=list)
    by_article: dict[str, Story] = field(default_factory=dict)


def stories_of(index: IndexView) -> Stories:
    """The stories of a loaded index version, found on first use and kept with it."""
    return once_per_version(index, "stories", find_stories)


def find_stories(index: IndexView, similarity: float = STORY_SIMILARITY,
                 days: int = STORY_DAYS) -> Stories:
    """Group the dated articles that have a source into stories (an undated article cannot
    be told to report the same day's event)."""
    items = []  # (day ordinal, row, source)
    for info in index.articles.values():
        day = published_day(info.published)
        if info.source and day is not None and index.article_passages(info.row):
            items.append((day.toordinal(), info.row, info.source))
    items.sort()
    if not items:
        return Stories()
    vectors = np.stack([_meaning(index, row) for _, row, _ in items])
    wording = [_triples(index, row) for _, row, _ in items]
    names = [_names(index, row) for _, row, _ in items]
    parent = _joined(items, vectors, (wording, names), days,
                     lambda cosines: similarities(index, cosines), similarity)
    groups: dict[int, list[int]] = {}
    for i, top in enumerate(parent):
        groups.setdefault(top, []).append(i)
    result = Stories()
    for members in groups.values():
        sources = list(dict.fromkeys(items[i][2] for i in members))
        if len(sources) < 2:
            continue
        ids = tuple(index.articles[items[i][1]].article_id for i in members)
        story = Story(_story_id(ids), ids, tuple(sources))
        result.stories.append(story)
        result.by_article.update(dict.fromkeys(ids, story))
    return result


def _joined(items: list[tuple[int, int, str]], vectors: np.ndarray,
            texts: tuple[list[frozenset[tuple[str, ...]]], list[frozenset[str]]], days: int,
            scaled: Callable[[np.ndarray], np.ndarray], similarity: float) -> list[int]:
    """Union-find over the pairs that are one story (close in meaning and naming someone or
    somewhere both name, or very close, or a copy): each item's group root."""
    wording, names = texts
    parent = list(range(len(items)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    start = 0
    for j in range(len(items)):
        while items[j][0] - items[start][0] > days:
            start += 1
        near: Sequence[float] = (scaled(vectors[start:j] @ vectors[j]).tolist() if start < j
                                 else [])
        for offset, cosine in enumerate(near):
            i = start + offset
            if items[i][2] == items[j][2]:
                continue  # one publisher's two articles join a story only through others
            if ((cosine >= similarity and names[i] & names[j]) or cosine >= SURE_SIMILARITY
                    or _jaccard(wording[i], wording[j]) >= SHARED_WORDING):
                parent[root(i)] = root(j)
    return [root(i) for i in range(len(items))]


def _meaning(index: IndexView, row: int) -> np.ndarray:
    """The mean of the article's passage vectors, normalised: what the whole report says (on
    the fixture, first passages alone told a flood's two reports apart less well)."""
    vectors = np.stack([np.asarray(index.passage_vector(p), np.float32)
                        for p in index.article_passages(row)])
    mean = vectors.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm else mean


def _triples(index: IndexView, row: int) -> frozenset[tuple[str, ...]]:
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
