"""Segments: the immutable parts an index version is made of.

A build that adds or changes articles writes one new small segment; a merge writes one segment
in place of several. A segment folder holds::

    catalog.sqlite     articles, passages, sentences (offsets) and their FTS5 index
    passages.npy       passage vectors (float32, in id order), memory-mapped for re-ranking
    sentences.npy      sentence vectors (float32, in id order)
    passages.faiss     FAISS store of the passage vectors (sq8 codes or float32)
    sentences.faiss    FAISS store of the sentence vectors
    lexical.npz        BM25 postings (index.lexical.Postings)
    tables.npz         passage and sentence offsets as arrays, read at load

Versions list their segments in the manifest; a version that keeps a segment links its files.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import index.catalog as catalog
from index.lexical import Postings
from index.settings import StoreSettings
from index.store import Exclusion, FaissStore, choose_kind

CATALOG = "catalog.sqlite"
PASSAGES = "passages.faiss"
SENTENCES = "sentences.faiss"
PASSAGE_VECTORS = "passages.npy"
SENTENCE_VECTORS = "sentences.npy"
LEXICAL = "lexical.npz"
TABLES = "tables.npz"


@dataclass(frozen=True)
class SegmentInfo:
    """What a manifest records of one segment: its rows (deleted ones included) and ids."""

    # Row ids are handed out in increasing order across builds and never reused, so each
    # segment holds one range of article ids and one of passage ids; readers find the
    # segment of a row by these bounds alone (a bisection, no lookup table).

    name: str
    articles: int = 0
    passages: int = 0
    sentences: int = 0
    first_article: int = 0
    last_article: int = 0
    first_passage: int = 0
    last_passage: int = 0
    index_kind: dict[str, str] = field(default_factory=dict)
    codec: str = "float"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmentInfo:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class ArticleInfo:
    """An article's catalog row without its text, and its place in the corpus order (a
    segment's own rows say -1: the version that lists the segment knows the order)."""

    row: int
    article_id: str
    title: str
    source: str | None
    url: str | None
    published: str | None
    position: int
    added_at: str
    meta: dict[str, Any]
    language: str | None = None  # as the article or its feed declares it ("en", "ar-EG")


def new_name() -> str:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"seg-{stamp}-{uuid.uuid4().hex[:6]}"


def finish(folder: Path, conn: sqlite3.Connection, passage_vectors: np.ndarray,
           sentence_vectors: np.ndarray, settings: StoreSettings) -> SegmentInfo:
    """Write everything but the catalog (whose rows `conn` holds, committed) into `folder`:
    vectors, FAISS stores, postings and tables; the segment's manifest entry."""
    passages = np.array([tuple(r) for r in conn.execute(
        "SELECT id, article, paragraph, start, end FROM passages ORDER BY id")],
        dtype=np.int64).reshape(-1, 5)
    sentences = np.array([tuple(r) for r in conn.execute(
        "SELECT id, passage, start, end FROM sentences ORDER BY id")],
        dtype=np.int64).reshape(-1, 4)
    # Row i of the tables, of the .npy files and of the FAISS stores is one passage (or
    # sentence); everything below relies on that, so a mismatch stops the build here.
    if len(passages) != len(passage_vectors) or len(sentences) != len(sentence_vectors):
        raise ValueError("a segment's vectors and rows disagree")
    np.save(folder / PASSAGE_VECTORS, np.ascontiguousarray(passage_vectors, np.float32))
    np.save(folder / SENTENCE_VECTORS, np.ascontiguousarray(sentence_vectors, np.float32))
    dimension = passage_vectors.shape[1]
    kinds = {}
    for table, filename, ids, vectors in (
            ("passages", PASSAGES, passages[:, 0], passage_vectors),
            ("sentences", SENTENCES, sentences[:, 0], sentence_vectors)):
        # Small segments are searched exactly; HNSW pays off only past the threshold.
        kinds[table] = choose_kind(settings.index_kind, len(ids), settings.hnsw_threshold)
        store = FaissStore(dimension, kinds[table], hnsw_m=settings.hnsw_m,
                           ef_construction=settings.hnsw_ef_construction,
                           codec=settings.vector_codec, positional=True)
        store.add(np.arange(len(ids)), vectors)  # FAISS ids are the rows of `tables.npz`
        store.save(folder / filename)
    Postings.from_catalog(conn).save(folder / LEXICAL)
    with (folder / TABLES).open("wb") as handle:
        np.savez(handle, passages=passages, sentences=sentences)
    articles = [r[0] for r in conn.execute("SELECT id FROM articles ORDER BY id")]
    return SegmentInfo(
        name=folder.name, articles=len(articles), passages=len(passages),
        sentences=len(sentences), first_article=articles[0] if articles else 0,
        last_article=articles[-1] if articles else 0,
        first_passage=int(passages[0, 0]) if len(passages) else 0,
        last_passage=int(passages[-1, 0]) if len(passages) else 0,
        index_kind=kinds, codec=settings.vector_codec)


class Segment:
    """One segment open for reading, shared by every loaded version that lists it: its FAISS
    stores and vectors memory-mapped, its offsets and postings in memory, texts in SQLite."""

    def __init__(self, folder: Path, info: SegmentInfo, ef_search: int = 128) -> None:
        self.folder = folder
        self.info = info
        self._local = threading.local()
        self.passages = FaissStore.load(folder / PASSAGES, ef_search)
        self.sentences = FaissStore.load(folder / SENTENCES, ef_search)
        self.passage_vectors = np.load(folder / PASSAGE_VECTORS, mmap_mode="r")
        self.sentence_vectors = np.load(folder / SENTENCE_VECTORS, mmap_mode="r")
        with np.load(folder / TABLES) as tables:
            self.passage_table: np.ndarray = tables["passages"]
            self.sentence_table: np.ndarray = tables["sentences"]
        self.passage_ids = self.passage_table[:, 0]
        self.sentence_ids = self.sentence_table[:, 0]
        # Sentences follow their passage in id order: each passage's run of sentence rows.
        owners = self.sentence_table[:, 1]
        self.sentence_start = np.searchsorted(owners, self.passage_ids, "left")
        self.sentence_end = np.searchsorted(owners, self.passage_ids, "right")
        self.postings = Postings.load(folder / LEXICAL)
        # Article records without their texts (those stay in SQLite, read when quoted): the
        # filters and the newest-first order read every article's date and publisher.
        self.articles: dict[int, ArticleInfo] = {}
        for r in self.connection().execute(
                "SELECT id, article_id, title, source, url, published, added_at, meta, language "
                "FROM articles ORDER BY id"):
            self.articles[r[0]] = ArticleInfo(r[0], r[1], r[2], r[3], r[4], r[5], -1, r[6],
                                             json.loads(r[7] or "{}"), r[8])
        self.article_rows = {a.article_id: row for row, a in self.articles.items()}
        # LiveViews by the deleted rows they were made for (see `view`).
        self._views: dict[bytes, LiveView] = {}
        self._buckets: dict[tuple[str, int], list[str]] | None = None
        self._lock = threading.Lock()
        if not (len(self.passages) == len(self.passage_table) == len(self.passage_vectors)
                and len(self.sentences) == len(self.sentence_table)):
            raise ValueError(f"segment {folder.name}: FAISS and catalog disagree")

    def connection(self, folder: Path | None = None) -> sqlite3.Connection:
        """A read-only SQLite connection to the catalog for the calling thread, through the
        links of `folder` (a version's copy of this segment; default: where it was opened)."""
        path = (folder or self.folder) / CATALOG
        # One per thread and path: questions are answered in parallel threads, which one
        # shared connection would serialise, and each version reads the segment through its
        # own links (held by its lock).
        connections = getattr(self._local, "connections", None)
        if connections is None:
            connections = self._local.connections = {}
        conn = connections.get(path)
        if conn is None:
            conn = connections[path] = catalog.connect(path, readonly=True)
        return conn

    def row(self, passage_id: int) -> int:
        """The position of a passage in this segment's tables; KeyError when absent."""
        # The tables are in id order, and ids of deleted rows leave gaps: a bisection, then
        # a check that the id found is the one asked for.
        at = int(np.searchsorted(self.passage_ids, passage_id))
        if at >= len(self.passage_ids) or self.passage_ids[at] != passage_id:
            raise KeyError(passage_id)
        return at

    def view(self, deleted_articles: np.ndarray) -> LiveView:
        """What is live in this segment when these article rows are deleted; remembered, so
        a reload that deletes nothing here costs nothing."""
        key = np.asarray(deleted_articles, np.int64).tobytes()
        with self._lock:
            found = self._views.get(key)
            if found is None:
                # Versions loaded side by side (a reload, readers still on the old one) ask
                # for a few sets at most; more means old versions are gone: start over.
                if len(self._views) > 4:
                    self._views.clear()
                found = self._views[key] = LiveView.of(self, deleted_articles)
            return found

    def terms_like(self, first: str, length: int) -> list[str]:
        """The alphabetic terms of this segment that start with `first` and have `length`
        letters (candidates for spelling variants)."""
        with self._lock:
            if self._buckets is None:
                buckets: dict[tuple[str, int], list[str]] = {}
                for term in self.postings.terms:
                    if term and term.isalpha():
                        buckets.setdefault((term[0], len(term)), []).append(term)
                self._buckets = buckets
            return self._buckets.get((first, length), [])


@dataclass(frozen=True)
class LiveView:
    """A segment as one version sees it: its live passages, the rows (FAISS ids) its
    searches skip, its live document frequencies and sizes."""

    live: np.ndarray | None  # per passage row; None: all live
    gone_passages: Exclusion | None  # FAISS ids (rows) of deleted passages
    gone_sentences: Exclusion | None
    frequency: dict[str, int]
    passages: int
    total_length: float
    deleted_rows: frozenset[int]

    @classmethod
    def of(cls, segment: Segment, deleted_articles: np.ndarray) -> LiveView:
        # Deletions do not rewrite a segment: a version lists the deleted article rows, and
        # each segment masks the passages of those rows. No mask at all (None) when nothing
        # here is deleted keeps the common case free of per-search filtering.
        mask = None
        if len(deleted_articles):
            found = ~np.isin(segment.passage_table[:, 1], deleted_articles)
            mask = None if found.all() else found
        if mask is None:
            return cls(None, None, None, segment.postings.live_frequency(None),
                       len(segment.passage_ids), float(segment.postings.lengths.sum()),
                       frozenset())
        # FAISS ids are rows, so the rows to skip are the deleted passages' positions, and
        # the sentences whose passage is among them.
        gone = np.flatnonzero(~mask)
        sentences = np.flatnonzero(np.isin(segment.sentence_table[:, 1],
                                           segment.passage_ids[gone]))
        return cls(mask, Exclusion(gone), Exclusion(sentences),
                   segment.postings.live_frequency(mask),
                   int(mask.sum()), float(segment.postings.lengths[mask].sum()),
                   frozenset(int(r) for r in deleted_articles))


def copy_rows(conn: sqlite3.Connection, sources: list[Segment],
              deleted_articles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Copy the live rows of `sources` (adjacent segments, oldest first) into the catalog of
    `conn`, ids kept; the passage and sentence vectors of the copied rows, in id order."""
    catalog.create(conn)
    # The deleted article rows as a table, so each INSERT ... SELECT below leaves them out
    # in SQL, without a parameter list as long as the deletions.
    conn.execute("CREATE TEMP TABLE gone (id INTEGER PRIMARY KEY)")
    conn.executemany("INSERT INTO gone VALUES (?)", [(int(r),) for r in deleted_articles])
    passage_parts, sentence_parts = [], []
    for segment in sources:
        # Ids are copied as they are (row ids are never reused), so the merged segment's rows
        # keep the ids that the version's order file and deleted list name them by.
        conn.execute("ATTACH DATABASE ? AS src", (
            f"file:{segment.folder / CATALOG}?mode=ro&immutable=1",))
        conn.execute(f"INSERT INTO articles ({catalog.ARTICLE_COLUMNS}) SELECT "
                     f"{catalog.ARTICLE_COLUMNS} FROM src.articles "
                     "WHERE id NOT IN (SELECT id FROM gone) ORDER BY id")
        conn.execute("INSERT INTO passages (id, article, paragraph, start, end) "
                     "SELECT id, article, paragraph, start, end FROM src.passages "
                     "WHERE article NOT IN (SELECT id FROM gone) ORDER BY id")
        conn.execute("INSERT INTO sentences (id, passage, start, end) "
                     "SELECT s.id, s.passage, s.start, s.end FROM src.sentences s "
                     "JOIN src.passages p ON p.id = s.passage "
                     "WHERE p.article NOT IN (SELECT id FROM gone) ORDER BY s.id")
        conn.execute("INSERT INTO passages_fts (rowid, text) SELECT f.rowid, f.text "
                     "FROM src.passages_fts f JOIN src.passages p ON p.id = f.rowid "
                     "WHERE p.article NOT IN (SELECT id FROM gone) ORDER BY f.rowid")
        conn.commit()
        conn.execute("DETACH DATABASE src")
        # The vectors are copied, not re-embedded; the same masks as the SQL above keep them
        # in step with the copied rows.
        keep = ~np.isin(segment.passage_table[:, 1], deleted_articles)
        passage_parts.append(np.asarray(segment.passage_vectors[keep]))
        kept_passages = segment.passage_ids[keep]
        sentence_keep = np.isin(segment.sentence_table[:, 1], kept_passages)
        sentence_parts.append(np.asarray(segment.sentence_vectors[sentence_keep]))
    dimension = sources[0].passage_vectors.shape[1]
    return (np.concatenate(passage_parts) if passage_parts else np.zeros((0, dimension)),
            np.concatenate(sentence_parts) if sentence_parts else np.zeros((0, dimension)))
