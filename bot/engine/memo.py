"""Values derived from an index version, kept with it (`IndexView.memo`): built once on first
use (stories, publishers, the newest-first order), or bounded caches that start over when
full (sentence stems, titles, paragraphs, each article's speakers)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar, cast

from index import IndexView

__all__ = ["MEMO_LIMIT", "bounded", "once_per_version"]

MEMO_LIMIT = 300_000  # entries of a bounded cache per index version before it starts over
T = TypeVar("T")
# One lock per memo key, shared by the versions (two versions build the same value one after
# the other only around a reload); _GUARD only guards the creation of those locks.
_LOCKS: dict[object, threading.Lock] = {}
_GUARD = threading.Lock()


def once_per_version(index: IndexView, key: str, build: Callable[[IndexView], T]) -> T:
    """`build(index)`, computed once per index version under `key` (concurrent first callers
    wait for the one building it)."""
    found = index.memo.get(key)
    if found is None:
        with _GUARD:
            lock = _LOCKS.setdefault(key, threading.Lock())
        with lock:
            # Looked up again: another thread may have built it while this one waited.
            found = index.memo.get(key)
            if found is None:
                found = index.memo[key] = build(index)
    return cast(T, found)


def bounded(index: IndexView, name: str, limit: int = MEMO_LIMIT) -> dict[object, object]:
    """One of a version's bounded caches (`name`): started over past `limit` entries, so a
    long-running bot's memory stays flat; the version's other memos (stories) stay."""
    # Starting over rather than evicting one entry at a time (an LRU) keeps a hit a plain dict
    # look-up; what the next questions need is computed again. The memo itself goes with the
    # index version, so a new version (a rebuild, a reload) starts with empty caches.
    cache = index.memo.get(name)
    if not isinstance(cache, dict) or len(cache) > limit:
        cache = index.memo[name] = {}
    return cache
