"""Open a published index version for reading, with clear errors for anything wrong."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import index.catalog as catalog
import index.publish as publish
from index.errors import VerbatimError
from index.lexical import Bm25
from index.publish import Manifest
from index.store import FaissStore

REBUILD = "python build_index.py"


class IndexUnavailableError(VerbatimError):
    """The index cannot be used; the message names the problem and the repairing command."""


@dataclass(frozen=True)
class ArticleInfo:
    row: int
    article_id: str
    title: str
    source: str | None
    url: str | None
    published: str | None
    position: int
    added_at: str
    meta: dict[str, Any]


class LoadedIndex:
    """One index version in memory: FAISS stores, offsets, vocabulary; texts stay in SQLite."""

    def __init__(self, folder: Path, manifest: Manifest, ef_search: int = 128) -> None:
        self.folder = folder
        self.manifest = manifest
        self.memo: dict[object, object] = {}  # per-version caches of derived values (quoting)
        probe = folder / publish.PROBE  # the passage encoder's vectors of the probe sentences
        self.probe: np.ndarray | None = np.load(probe) if probe.exists() else None
        self.version: str = manifest.version or folder.name
        self._lock_handle = publish.open_reader_lock(folder)
        self._local = threading.local()
        self.passages = FaissStore.load(folder / publish.PASSAGES, ef_search)
        self.sentences = FaissStore.load(folder / publish.SENTENCES, ef_search)
        conn = self.connection()
        rows = conn.execute("SELECT id, article, paragraph, start, end FROM passages ORDER BY id")
        table = np.array([tuple(r) for r in rows], dtype=np.int64).reshape(-1, 5)
        self.passage_row = {int(pid): i for i, pid in enumerate(table[:, 0])}
        self.passage_table = table
        srows = conn.execute("SELECT id, passage, start, end FROM sentences ORDER BY id")
        stable = np.array([tuple(r) for r in srows], dtype=np.int64).reshape(-1, 4)
        self.sentence_table = stable
        # Sentences are stored right after their passage, so id order groups them by passage.
        _, self.sentence_vectors = catalog.vectors(conn, "sentences", int(manifest.dimension))
        bounds = np.flatnonzero(np.diff(stable[:, 1])) + 1 if len(stable) else np.array([], int)
        starts = np.concatenate([[0], bounds]) if len(stable) else np.array([], int)
        ends = np.concatenate([bounds, [len(stable)]]) if len(stable) else np.array([], int)
        self.sentences_of = {int(stable[s, 1]): (int(s), int(e)) for s, e in zip(starts, ends,
                                                                                 strict=True)}
        self.articles: dict[int, ArticleInfo] = {}
        for r in conn.execute("SELECT id, article_id, title, source, url, published, position,"
                              " added_at, meta FROM articles ORDER BY position"):
            self.articles[r["id"]] = ArticleInfo(
                r["id"], r["article_id"], r["title"], r["source"], r["url"], r["published"],
                r["position"], r["added_at"], json.loads(r["meta"] or "{}"))
        self.by_article_id = {a.article_id: a for a in self.articles.values()}
        lexical = folder / publish.LEXICAL  # versions built before it: read from FTS5
        self.lexical = Bm25.load(lexical) if lexical.exists() else Bm25.from_catalog(conn)
        self.vocabulary = self.lexical.document_frequency
        self.passage_count = len(table)
        self._texts: dict[int, str] = {}

    def connection(self) -> sqlite3.Connection:
        """A read-only SQLite connection for the calling thread."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = catalog.connect(self.folder / publish.CATALOG, readonly=True)
            self._local.conn = conn
        return conn

    def article_text(self, article_row: int) -> str:
        text = self._texts.get(article_row)
        if text is None:
            row = self.connection().execute("SELECT text FROM articles WHERE id = ?",
                                            (article_row,)).fetchone()
            text = row[0]
            if len(self._texts) > 4096:
                self._texts.clear()
            self._texts[article_row] = text
        return text

    def passage(self, passage_id: int) -> tuple[int, int, int, int]:
        """(article row, paragraph, start, end) of a passage."""
        row = self.passage_table[self.passage_row[passage_id]]
        return int(row[1]), int(row[2]), int(row[3]), int(row[4])

    def close(self) -> None:
        self._lock_handle.close()


def load_index(index_dir: Path, model_name: str, ef_search: int = 128) -> LoadedIndex:
    """Load the live version of `index_dir`, checking format, model and files."""
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
            f"reads format {publish.FORMAT_VERSION}: rebuild it with `{REBUILD} --full`.")
    if manifest.model != model_name:
        raise IndexUnavailableError(
            f"The index in {index_dir} was built with {manifest.model!r} but "
            f"EMBEDDING_MODEL is {model_name!r}: rebuild it with `{REBUILD} --full`.")
    try:
        loaded = LoadedIndex(folder, manifest, ef_search)
    except (OSError, RuntimeError, sqlite3.Error, KeyError, ValueError) as err:
        raise IndexUnavailableError(
            f"The index in {folder} is damaged ({_short(err)}): "
            f"rebuild it with `{REBUILD} --full`.") from err
    if not len(loaded.passages) == loaded.passage_count == manifest.passages:
        loaded.close()
        raise IndexUnavailableError(
            f"The index in {folder} is inconsistent (FAISS and catalog disagree): "
            f"rebuild it with `{REBUILD} --full`.")
    return loaded


def _short(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__
