"""Open a published index version for reading, with clear errors for anything wrong.

A loaded version is a view over its segments (index.segment): searches fan out over them and
merge, deleted articles left out. Loading a version next to one already loaded opens only the
segments the old one does not hold.
"""

from __future__ import annotations

import bisect
import dataclasses
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import cast

import numpy as np

import index.publish as publish
from index.errors import VerbatimError
from index.lexical import Bm25
from index.publish import Manifest
from index.segment import ArticleInfo, LiveView, Segment, SegmentInfo
from index.view import ArticlesInOrder

REBUILD = "python build_index.py"
# sq8 codes round each dimension to 8 bits, enough to find the neighbourhood but not to order
# close neighbours; twice k candidates, re-scored with the exact float32 vectors kept beside
# the store, give the float ranking back.
RERANK = 2  # an sq8 store's candidates re-ranked with exact vectors: this many times k
# Passages of a filtered search scored exactly (one matrix product over memory-mapped vectors,
# cheap up to about this many); more: a wider FAISS search, then filtered.
EXACT_WITHIN = 50_000


class IndexUnavailableError(VerbatimError):
    """The index cannot be used; the message names the problem and the repairing command."""


class LoadedIndex:
    """One index version: its segments (FAISS stores and vectors memory-mapped, offsets and
    postings in memory, texts in SQLite) and which of their articles it leaves out."""

    def __init__(self, folder: Path, manifest: Manifest, ef_search: int = 128,
                 previous: LoadedIndex | None = None) -> None:
        self.folder = folder
        self.manifest = manifest
        self.memo: dict[object, object] = {}  # per-version caches of derived values (quoting)
        probe = folder / publish.PROBE  # the passage encoder's vectors of the probe sentences
        self.probe: np.ndarray | None = np.load(probe) if probe.exists() else None
        self.version: str = manifest.version or folder.name
        self._lock_handle = publish.open_reader_lock(folder)
        try:
            self._open(previous, ef_search)
        except BaseException:
            self._lock_handle.close()
            raise
        self._texts: dict[int, str] = {}
        self._text_lock = threading.Lock()

    segments: list[Segment]

    def _open(self, previous: LoadedIndex | None, ef_search: int) -> None:
        # Segments are immutable: one the previous version holds open is shared, not reopened,
        # so a reload after a small build opens only the new segment.
        held: dict[str, Segment] = {}
        if previous:
            held = {s.info.name: s for s in previous.segments}
        self.reused = 0
        segments = []
        for entry in self.manifest.segments:
            info = SegmentInfo.from_dict(entry)
            segment = held.get(info.name)
            if segment is not None:
                self.reused += 1
            else:
                segment = Segment(self.folder / publish.SEGMENTS / info.name, info, ef_search)
            segments.append(segment)
        # Sorted by their first ids (row ids never reused: each segment holds one range), so
        # the segment of a passage or an article is found by bisection (`_segment`).
        self.segments = sorted(segments, key=lambda s: s.info.first_passage)
        self._first_passage = [s.info.first_passage for s in self.segments]
        self._article_segments = sorted(self.segments, key=lambda s: s.info.first_article)
        self._first_article = [s.info.first_article for s in self._article_segments]
        deleted_file = self.folder / publish.DELETED
        deleted = np.load(deleted_file) if deleted_file.exists() else np.zeros(0, np.int64)
        self.deleted_articles = np.sort(deleted)
        # Each segment sees only the deleted rows in its own article range; a segment with
        # none keeps its cached all-live view.
        self.views = [segment.view(self.deleted_articles[
            (self.deleted_articles >= segment.info.first_article)
            & (self.deleted_articles <= segment.info.last_article)]) for segment in self.segments]
        order_file = self.folder / publish.ORDER
        order = np.load(order_file) if order_file.exists() else np.zeros(0, np.int64)
        self.articles = Articles(self, order)
        self.by_article_id = ArticlesById(self)
        # One BM25 over all segments, with their live statistics summed (remembered by each
        # segment's view): the same scores as one index built from the live articles.
        self.lexical = Bm25([s.postings for s in self.segments], [v.live for v in self.views],
                            [v.frequency for v in self.views],
                            [(v.passages, v.total_length) for v in self.views])
        self.vocabulary = self.lexical.document_frequency
        self.passage_count = sum(v.passages for v in self.views)
        self.sentence_count = sum(_live_sentences(s, v)
                                  for s, v in zip(self.segments, self.views, strict=True))

    @property
    def location(self) -> str:
        """The index directory, for messages."""
        return str(self.folder.parent.parent)

    def path(self, segment: Segment) -> Path:
        """This version's folder of a segment (its links, held by this version's lock)."""
        return self.folder / publish.SEGMENTS / segment.info.name

    def terms_like(self, first: str, length: int) -> list[str]:
        """Live terms starting with `first`, of `length` letters (spelling candidates)."""
        # Kept per version (its vocabulary does not change): questions' words share their
        # first letter and length far more often than their stem.
        key = ("terms_like", first, length)
        kept = cast("list[str] | None", self.memo.get(key))
        if kept is None:
            found: dict[str, None] = {}
            for segment in self.segments:
                found.update(dict.fromkeys(segment.terms_like(first, length)))
            vocabulary = self.vocabulary
            kept = [t for t in found if vocabulary.get(t)]
            self.memo[key] = kept
        return list(kept)

    # -- where a row lives

    def _segment(self, passage_id: int) -> Segment:
        # The last segment starting at or before the id; `Segment.row` then checks the id is
        # really there (an id of a deleted or never-written row is not).
        at = bisect.bisect_right(self._first_passage, passage_id) - 1
        if at < 0:
            raise KeyError(passage_id)
        return self.segments[at]

    def _article_segment(self, article_row: int) -> Segment:
        at = bisect.bisect_right(self._first_article, article_row) - 1
        if at < 0:
            raise KeyError(article_row)
        return self._article_segments[at]

    def connection(self, article_row: int | None = None) -> sqlite3.Connection:
        """A read-only connection to the catalog of the segment holding `article_row` (the
        oldest segment's without one), for the calling thread."""
        segment = self.segments[0] if article_row is None else self._article_segment(article_row)
        return segment.connection(self.path(segment))

    # -- rows

    def article_text(self, article_row: int) -> str:
        text = self._texts.get(article_row)
        if text is None:
            row = self.connection(article_row).execute(
                "SELECT text FROM articles WHERE id = ?", (article_row,)).fetchone()
            if row is None:
                raise KeyError(article_row)
            text = row[0]
            with self._text_lock:
                if len(self._texts) > 4096:
                    self._texts.clear()
                self._texts[article_row] = text
        return text

    def passage(self, passage_id: int) -> tuple[int, int, int, int]:
        """(article row, paragraph, start, end) of a passage."""
        segment = self._segment(passage_id)
        row = segment.passage_table[segment.row(passage_id)]
        return int(row[1]), int(row[2]), int(row[3]), int(row[4])

    def passage_vector(self, passage_id: int) -> np.ndarray:
        """The exact vector of a passage."""
        segment = self._segment(passage_id)
        return np.asarray(segment.passage_vectors[segment.row(passage_id)])

    def sentence_spans(self, passage_id: int) -> np.ndarray:
        """(start, end) of each of a passage's sentences, in order."""
        segment = self._segment(passage_id)
        row = segment.row(passage_id)
        return segment.sentence_table[segment.sentence_start[row]:segment.sentence_end[row], 2:4]

    def sentence_vectors(self, passage_id: int) -> np.ndarray:
        """The exact vectors of a passage's sentences, in order."""
        segment = self._segment(passage_id)
        row = segment.row(passage_id)
        return np.asarray(
            segment.sentence_vectors[segment.sentence_start[row]:segment.sentence_end[row]])

    def article_passages(self, article_row: int) -> list[int]:
        """The passage ids of an article, in order."""
        segment = self._article_segment(article_row)
        return [int(p) for p in
                segment.passage_ids[segment.passage_table[:, 1] == article_row]]

    # -- searches

    def search_passages(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The `k` live passages nearest to `vector`: (cosines, passage ids), best first."""
        return self._search(vector, k, passages=True)

    def search_sentences(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The `k` live sentences nearest to `vector`: (cosines, their passage ids), best
        first (a passage appears once per sentence found)."""
        return self._search(vector, k, passages=False)

    def _search(self, vector: np.ndarray, k: int,
                passages: bool) -> tuple[np.ndarray, np.ndarray]:
        vector = np.asarray(vector, np.float32).reshape(-1)
        score_parts, id_parts = [], []
        # Each segment gives its own k nearest; the best k of all of them are the k nearest
        # of the version.
        for segment, view in zip(self.segments, self.views, strict=True):
            store = segment.passages if passages else segment.sentences
            wanted = k * RERANK if store.codec == "sq8" else k
            # FAISS ids are the segment's rows; deleted rows are skipped by the search, and
            # as they still take part of HNSW's candidate list, it is twice as long then.
            excluded = view.gone_passages if passages else view.gone_sentences
            _, found = store.search(vector, wanted, excluded,
                                    2 * store.ef_search if excluded is not None else None)
            # -1 pads a store holding fewer than `wanted` live rows; in row order, the
            # memory-mapped vectors are read front to back.
            rows = np.sort(found[0][found[0] >= 0])
            if not len(rows):
                continue
            # Scores from the exact vectors, not the store's: sq8 scores are approximate, and
            # every segment's scores must be comparable.
            exact = segment.passage_vectors if passages else segment.sentence_vectors
            score_parts.append(np.asarray(exact[rows]) @ vector)
            id_parts.append(segment.passage_ids[rows] if passages
                            else segment.sentence_table[rows, 1])
        if not score_parts:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores, ids = np.concatenate(score_parts), np.concatenate(id_parts)
        # Ties by passage id: the order does not depend on how the rows fall into segments.
        best = np.lexsort((ids, -scores))[:k]
        return scores[best], ids[best]

    def search_within(self, vector: np.ndarray, article_rows: np.ndarray, k: int,
                      passages: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """`search_passages` (or `search_sentences`) among the passages of some live articles
        only (a period, a publisher): exact cosines when they are few, else the nearest of a
        wider FAISS search that fall among them."""
        vector = np.asarray(vector, np.float32).reshape(-1)
        rows = np.unique(np.asarray(article_rows, np.int64))
        chosen = [np.flatnonzero(np.isin(segment.passage_table[:, 1], rows))
                  for segment in self.segments]
        count = sum(len(c) for c in chosen)
        if count == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        if count > EXACT_WITHIN:
            # The chosen articles hold about count/total of the passages, so a search of
            # k * total/count (rounded up), doubled, is expected to find 2k of them.
            total = max(self.passage_count, 1)
            wide = min(total if passages else self.sentence_count,
                       k * 2 * -(-total // count))
            scores, ids = self._search(vector, wide, passages)
            owners = np.array([self.passage(int(i))[0] for i in ids], np.int64)
            keep = np.isin(owners, rows)
            return scores[keep][:k], ids[keep][:k]
        score_parts, id_parts = [], []
        for segment, found in zip(self.segments, chosen, strict=True):
            if not len(found):
                continue
            if passages:
                score_parts.append(np.asarray(segment.passage_vectors[found]) @ vector)
                id_parts.append(segment.passage_ids[found])
            else:
                sentences = np.flatnonzero(np.isin(segment.sentence_table[:, 1],
                                                   segment.passage_ids[found]))
                score_parts.append(np.asarray(segment.sentence_vectors[sentences]) @ vector)
                id_parts.append(segment.sentence_table[sentences, 1])
        scores, ids = np.concatenate(score_parts), np.concatenate(id_parts)
        best = np.lexsort((ids, -scores))[:k]
        return scores[best], ids[best]

    def disk_bytes(self) -> int:
        """Bytes this version takes on disk (each shared file once)."""
        return publish.disk_bytes(self.folder)

    def close(self) -> None:
        self._lock_handle.close()


class Articles(ArticlesInOrder):
    """A version's live articles by row, in corpus order; each built when first asked for
    (a reload does not walk every article)."""

    def __init__(self, index: LoadedIndex, order: np.ndarray) -> None:
        super().__init__(order)
        self.index = index
        self._made: dict[int, ArticleInfo] = {}

    def _read(self, row: int, position: int) -> ArticleInfo:
        found = self._made.get(row)
        if found is None:
            found = self._made[row] = dataclasses.replace(
                self.index._article_segment(row).articles[row], position=position)
        return found


class ArticlesById(Mapping[str, ArticleInfo]):
    """A version's live articles by article id."""

    def __init__(self, index: LoadedIndex) -> None:
        self.index = index

    def __getitem__(self, article_id: str) -> ArticleInfo:
        for segment in reversed(self.index._article_segments):  # newest first
            row = segment.article_rows.get(article_id)
            if row is not None and row in self.index.articles:
                return self.index.articles[row]
        raise KeyError(article_id)

    def __iter__(self) -> Iterator[str]:
        return (self.index.articles[row].article_id for row in self.index.articles)

    def __len__(self) -> int:
        return len(self.index.articles)


def load_index(index_dir: Path, model_name: str, ef_search: int = 128,
               previous: LoadedIndex | None = None) -> LoadedIndex:
    """Load the live version of `index_dir`, checking format, model and files; segments that
    `previous` (a version loaded before) holds are reused, not opened again."""
    folder = publish.current_version(index_dir)
    if folder is None:
        raise IndexUnavailableError(
            f"No index in {index_dir}: build it with `{REBUILD}`.")
    if not folder.is_dir():
        raise IndexUnavailableError(
            f"The index in {index_dir} points at a missing version ({folder.name}): "
            f"rebuild it with `{REBUILD} --full`.")
    try:
        manifest = publish.read_manifest(folder)
    except (OSError, ValueError) as err:
        raise IndexUnavailableError(
            f"The index manifest in {folder} is unreadable ({err}): "
            f"rebuild it with `{REBUILD} --full`.") from err
    if manifest.format_version != publish.FORMAT_VERSION:
        raise IndexUnavailableError(
            f"The index in {index_dir} has format {manifest.format_version}, this program "
            f"reads format {publish.FORMAT_VERSION} (segments): rebuild it with `{REBUILD}` "
            "(it converts the old index, re-embedding nothing).")
    if manifest.model != model_name:
        raise IndexUnavailableError(
            f"The index in {index_dir} was built with {manifest.model!r} but "
            f"EMBEDDING_MODEL is {model_name!r}: rebuild it with `{REBUILD} --full`.")
    try:
        loaded = LoadedIndex(folder, manifest, ef_search, previous)
    except (OSError, RuntimeError, sqlite3.Error, KeyError, ValueError) as err:
        raise IndexUnavailableError(
            f"The index in {folder} is damaged ({_short(err)}): "
            f"rebuild it with `{REBUILD} --full`.") from err
    if loaded.passage_count != manifest.passages or len(loaded.articles) != manifest.articles:
        loaded.close()
        raise IndexUnavailableError(
            f"The index in {folder} is inconsistent (segments and manifest disagree): "
            f"rebuild it with `{REBUILD} --full`.")
    return loaded


def _live_sentences(segment: Segment, view: LiveView) -> int:
    """The sentences of a segment that a version sees (those of its deleted passages left
    out)."""
    gone = 0 if view.gone_sentences is None else len(view.gone_sentences)
    return len(segment.sentence_ids) - gone


def _short(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__
