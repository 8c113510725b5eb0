"""The SQLite catalog: articles, passages, sentences (with offsets and vectors) and FTS5."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from index.chunk import Passage
from index.sources import Article

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id INTEGER PRIMARY KEY,
    article_id TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    title TEXT NOT NULL,
    source TEXT,
    url TEXT,
    published TEXT,
    language TEXT,
    meta TEXT NOT NULL DEFAULT '{}',
    text TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    position INTEGER NOT NULL,
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,
    article INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    paragraph INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_article ON passages(article);
CREATE TABLE IF NOT EXISTS sentences (
    id INTEGER PRIMARY KEY,
    passage INTEGER NOT NULL REFERENCES passages(id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS sentences_passage ON sentences(passage);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    text, tokenize = 'porter unicode61 remove_diacritics 2'
);
"""


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA foreign_keys = ON")
    conn.row_factory = sqlite3.Row
    return conn


def create(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def fingerprints(conn: sqlite3.Connection) -> dict[str, str]:
    return {row["article_id"]: row["fingerprint"]
            for row in conn.execute("SELECT article_id, fingerprint FROM articles")}


def delete_articles(conn: sqlite3.Connection, article_ids: Iterable[str]) -> None:
    for article_id in article_ids:
        row = conn.execute("SELECT id FROM articles WHERE article_id = ?", (article_id,)).fetchone()
        if row is None:
            continue
        conn.execute(
            "DELETE FROM passages_fts WHERE rowid IN (SELECT id FROM passages WHERE article = ?)",
            (row["id"],),
        )
        conn.execute("DELETE FROM sentences WHERE passage IN "
                     "(SELECT id FROM passages WHERE article = ?)", (row["id"],))
        conn.execute("DELETE FROM passages WHERE article = ?", (row["id"],))
        conn.execute("DELETE FROM articles WHERE id = ?", (row["id"],))


def insert_article(
    conn: sqlite3.Connection,
    article: Article,
    passages: list[Passage],
    passage_vectors: np.ndarray,
    sentence_vectors: list[np.ndarray],
    added_at: str,
) -> None:
    """Store one article; `sentence_vectors[i]` holds the vectors of passage i's sentences."""
    cur = conn.execute(
        "INSERT INTO articles (article_id, path, title, source, url, published, language, meta,"
        " text, fingerprint, position, added_at) VALUES (?,?,?,?,?,?,?,?,?,?,0,?)",
        (article.article_id, article.path, article.title, article.source, article.url,
         article.published, article.language, json.dumps(article.meta, ensure_ascii=False,
                                                         default=str),
         article.text, article.fingerprint, added_at),
    )
    article_row = cur.lastrowid
    for passage, vector, sent_vectors in zip(passages, passage_vectors, sentence_vectors,
                                             strict=True):
        pcur = conn.execute(
            "INSERT INTO passages (article, paragraph, start, end, vector) VALUES (?,?,?,?,?)",
            (article_row, passage.paragraph, passage.start, passage.end,
             np.asarray(vector, np.float32).tobytes()),
        )
        passage_row = pcur.lastrowid
        conn.execute("INSERT INTO passages_fts (rowid, text) VALUES (?, ?)",
                     (passage_row, article.text[passage.start:passage.end]))
        conn.executemany(
            "INSERT INTO sentences (passage, start, end, vector) VALUES (?,?,?,?)",
            [(passage_row, s.start, s.end, np.asarray(v, np.float32).tobytes())
             for s, v in zip(passage.sentences, sent_vectors, strict=True)],
        )


def set_positions(conn: sqlite3.Connection, order: list[str]) -> None:
    conn.executemany("UPDATE articles SET position = ? WHERE article_id = ?",
                     [(i, aid) for i, aid in enumerate(order)])


def vectors(conn: sqlite3.Connection, table: str, dimension: int) -> tuple[np.ndarray, np.ndarray]:
    """All (ids, vectors) of `passages` or `sentences`, in id order."""
    if table not in ("passages", "sentences"):
        raise ValueError(table)
    rows = conn.execute(f"SELECT id, vector FROM {table} ORDER BY id").fetchall()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
    return ids, matrix.reshape(len(rows), dimension)


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("articles", "passages", "sentences")
    }
