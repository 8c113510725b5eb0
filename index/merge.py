"""Merges: several adjacent segments rewritten as one, deleted rows dropped.

The policy is tiered, as Lucene's log merge policy: a segment's tier is the number of times
MERGE_FACTOR goes into its live passages over MERGE_FLOOR_PASSAGES; MERGE_FACTOR adjacent
segments of one tier become one segment of the next, so each passage is rewritten about
log(corpus) times in its life, and the number of segments stays about MERGE_FACTOR per tier.
A segment whose share of deleted passages passes MERGE_MAX_DELETED is rewritten alone.

A merge is published as a build is (a new version sharing every other segment); readers keep
the version they hold, and an interrupted merge leaves the live version as it was.
"""

from __future__ import annotations

import math
import shutil
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import index.catalog as catalog
import index.publish as publish
import index.segment as segment
from index.publish import Manifest
from index.segment import Segment, SegmentInfo
from index.settings import StoreSettings


@dataclass
class MergeSummary:
    """One merge: the segments it replaced, the one it wrote, and what it dropped."""

    merged: list[str]
    written: str | None
    passages: int
    dropped_articles: int
    seconds: float
    version: str

    def line(self) -> str:
        into = f"into {self.written}" if self.written else "(all their articles deleted)"
        return (f"{len(self.merged)} segments {into}: {self.passages} passages, "
                f"{self.dropped_articles} deleted articles dropped, {self.seconds:.1f} s")


def tier(live: int, settings: StoreSettings) -> int:
    """A segment's tier by its live passages."""
    floor = settings.merge_floor_passages
    factor = max(settings.merge_factor, 2)
    # Tier t holds floor * factor**t up to floor * factor**(t+1) live passages (with the
    # defaults 2,000 and 8: tier 0 below 16,000, tier 1 below 128,000...); every segment
    # under the floor is tier 0, so small builds pile up there and merge first. The 1e-9
    # keeps a segment of exactly floor * factor**t from rounding down a tier.
    return int(math.log(max(live, floor) / floor, factor) + 1e-9)


def choose(entries: list[dict[str, Any]], settings: StoreSettings,
           everything: bool = False) -> tuple[int, int] | None:
    """The first and last position (inclusive) of the adjacent segments to merge next, or
    None; `everything`: all segments into one (when there are several, or deletions)."""
    if not entries:
        return None
    lives = [int(e["passages"]) - int(e.get("deleted_passages", 0)) for e in entries]
    if everything:
        deletions = any(e.get("deleted_passages", 0) for e in entries)
        if len(entries) > 1 or deletions:
            return 0, len(entries) - 1
        return None
    # A segment mostly deleted (default: over a quarter of its passages) is rewritten alone
    # first: its dead rows cost memory and search time and would wait long for its tier.
    for at, entry in enumerate(entries):
        total = int(entry["passages"])
        if total and (total - lives[at]) / total > settings.merge_max_deleted:
            return at, at
    factor = settings.merge_factor
    if factor < 2:
        return None
    tiers = [tier(live, settings) for live in lives]
    # Lowest tier first (small merges are cheap and keep the segment count down), and only
    # adjacent segments: merged rows keep their ids, so a segment must stay one id range.
    for level in sorted(set(tiers)):
        run: list[int] = []
        for at, found in enumerate(tiers):
            if found == level:
                run.append(at)
            else:
                run = []
            if len(run) == factor:
                return run[0], run[-1]
    return None


def merge_locked(index_dir: Path, settings: StoreSettings,
                 everything: bool = False) -> list[MergeSummary]:
    """Merge (the build lock held) until the policy asks for nothing more; each merge is
    published as a version of its own."""
    done: list[MergeSummary] = []
    while True:
        folder = publish.current_version(index_dir)
        if folder is None:
            return done
        manifest = publish.read_manifest(folder)
        if manifest.format_version != publish.FORMAT_VERSION:
            return done
        # `everything` asks for one full merge; the rounds after it follow the policy.
        span = choose(manifest.segments, settings, everything and not done)
        if span is None:
            return done
        done.append(_merge(index_dir, folder, manifest, span, settings))
        publish.cleanup(index_dir, settings.keep_index_versions)


def merge_index(index_dir: Path, settings: StoreSettings,
                everything: bool = True) -> list[MergeSummary]:
    """`build_index.py --merge`: merge all segments into one (or, without `everything`, as
    the policy says), taking the build lock."""
    with publish.build_lock(index_dir):
        return merge_locked(index_dir, settings, everything)


def _merge(index_dir: Path, folder: Path, manifest: Manifest, span: tuple[int, int],
           settings: StoreSettings) -> MergeSummary:
    started = time.perf_counter()
    first, last = span
    chosen = manifest.segments[first:last + 1]
    deleted_file = folder / publish.DELETED
    deleted = np.load(deleted_file) if deleted_file.exists() else np.zeros(0, np.int64)
    with publish.staging(index_dir) as stage:
        with publish.reading(folder):
            _share_others(folder, manifest, span, stage.segments)
            sources = [Segment(folder / publish.SEGMENTS / e["name"], SegmentInfo.from_dict(e))
                       for e in chosen]
            # Row ids grow with every segment written and merges join adjacent segments
            # only, so the deleted rows of the merged ones lie between their lowest and
            # highest article.
            low = min(s.info.first_article for s in sources)
            high = max(s.info.last_article for s in sources)
            inside = deleted[(deleted >= low) & (deleted <= high)]
            written = _rewrite(stage.segments, sources, inside, settings)
            _copy_version_files(folder, stage.folder)
        # The merged segment dropped those rows: the version no longer lists them.
        np.save(stage.folder / publish.DELETED, np.setdiff1d(deleted, inside).astype(np.int64))
        stage.publish(_merged_manifest(manifest, stage.name, span, written,
                                       int(len(deleted) - len(inside))))
    return MergeSummary([e["name"] for e in chosen], written["name"] if written else None,
                        int(written["passages"]) if written else 0, len(inside),
                        time.perf_counter() - started, stage.name)


def _merged_manifest(manifest: Manifest, name: str, span: tuple[int, int],
                     written: dict[str, Any] | None, deleted: int) -> Manifest:
    """The manifest of the merged version `name`: the live one's, with the merged span's
    segments replaced by the one written (if any) and no article new, changed or removed."""
    first, last = span
    entries = (manifest.segments[:first] + ([written] if written else [])
               + manifest.segments[last + 1:])
    return Manifest.from_dict({
        **manifest.to_dict(), "version": name, "segments": entries,
        "deleted_articles": deleted,
        "merged": [e["name"] for e in manifest.segments[first:last + 1]], "new_articles": [],
        "changed_articles": [], "removed_articles": []})


def _share_others(folder: Path, manifest: Manifest, span: tuple[int, int], root: Path) -> None:
    """Link the segments outside the merged span into the new version, unchanged."""
    first, last = span
    for entry in manifest.segments[:first] + manifest.segments[last + 1:]:
        publish.share(folder / publish.SEGMENTS / entry["name"], root / entry["name"])


def _rewrite(root: Path, sources: list[Segment], deleted: np.ndarray,
             settings: StoreSettings) -> dict[str, Any] | None:
    """The live rows of `sources` copied into one new segment under `root`: its manifest
    entry, or None when every article of theirs was deleted (no segment is written)."""
    target = root / segment.new_name()
    target.mkdir()
    written: dict[str, Any] | None = None
    with closing(catalog.connect(target / segment.CATALOG)) as conn:
        passage_vectors, sentence_vectors = segment.copy_rows(conn, sources, deleted)
        if len(passage_vectors):
            written = segment.finish(target, conn, passage_vectors, sentence_vectors,
                                     settings).to_dict()
    if written is None:
        shutil.rmtree(target)
    return written


def _copy_version_files(folder: Path, staging: Path) -> None:
    """The corpus order and the probe vectors stay those of the merged version: a merge
    changes no article and embeds nothing."""
    for path in folder.iterdir():
        if path.is_file() and path.name in (publish.ORDER, publish.PROBE):
            shutil.copy2(path, staging / path.name)
