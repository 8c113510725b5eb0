"""A segment's SQLite catalog: articles, passages and sentences (offsets) and FTS5.

Row ids are unique across the segments of an index (the build hands them out from the
manifest's `next_ids`), so a passage id names one passage in every version that holds it.
Vectors live beside the catalog (index.segment), not in it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

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
    added_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,
    article INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    paragraph INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_article ON passages(article);
CREATE TABLE IF NOT EXISTS sentences (
    id INTEGER PRIMARY KEY,
    passage INTEGER NOT NULL REFERENCES passages(id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sentences_passage ON sentences(passage);
CREATE VIRTUAL TABLE IF NOT EXISTS passages_fts USING fts5(
    text, tokenize = 'porter unicode61 remove_diacritics 2'
);
"""


ARTICLE_COLUMNS = ("id, article_id, path, title, source, url, published, language, meta, "
                   "text, fingerprint, added_at")


@dataclass
class RowIds:
    """The next free row id of each table; a build takes ids from it as it inserts."""

    article: int = 1
    passage: int = 1
    sentence: int = 1

    def to_dict(self) -> dict[str, int]:
        return {"article": self.article, "passage": self.passage, "sentence": self.sentence}

    @classmethod
    def from_dict(cls, data: dict[str, int]) -> RowIds:
        return cls(**{k: int(v) for k, v in data.items() if k in ("article", "passage",
                                                                   "sentence")})


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    """A connection to a catalog; `readonly` ones treat the file as immutable (segments are
    never written once published), so SQLite takes no locks to read them."""
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True,
                               check_same_thread=False)
    else:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA foreign_keys = ON")
    conn.row_factory = sqlite3.Row
    return conn


def create(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def fingerprints(conn: sqlite3.Connection) -> list[tuple[int, str, str]]:
    """(row, article id, fingerprint) of every article of a catalog."""
    return [(int(r[0]), r[1], r[2])
            for r in conn.execute("SELECT id, article_id, fingerprint FROM articles")]


def insert_article(conn: sqlite3.Connection, article: Article, passages: list[Passage],
                   added_at: str, ids: RowIds) -> None:
    """Store one article, its passages and their sentences under the next ids of `ids`."""
    article_row = ids.article
    ids.article += 1
    conn.execute(
        f"INSERT INTO articles ({ARTICLE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        (article_row, article.article_id, article.path, article.title, article.source,
         article.url, article.published, article.language,
         json.dumps(article.meta, ensure_ascii=False, default=str),
         article.text, article.fingerprint, added_at),
    )
    for passage in passages:
        passage_row = ids.passage
        ids.passage += 1
        conn.execute("INSERT INTO passages (id, article, paragraph, start, end) "
                     "VALUES (?,?,?,?,?)",
                     (passage_row, article_row, passage.paragraph, passage.start, passage.end))
        conn.execute("INSERT INTO passages_fts (rowid, text) VALUES (?, ?)",
                     (passage_row, article.text[passage.start:passage.end]))
        first = ids.sentence
        ids.sentence += len(passage.sentences)
        conn.executemany(
            "INSERT INTO sentences (id, passage, start, end) VALUES (?,?,?,?)",
            [(first + i, passage_row, s.start, s.end) for i, s in enumerate(passage.sentences)])


def counts(conn: sqlite3.Connection) -> dict[str, int]:
    return {
        table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("articles", "passages", "sentences")
    }
