"""Format-1 versions (one catalog per version, its vectors in it) converted into one
segment, ids kept: nothing is embedded again."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np

import index.catalog as catalog
import index.publish as publish
import index.segment as segment
from index.catalog import RowIds
from index.settings import IndexSettings

LEGACY_FORMAT = 1  # one catalog (vectors in it) per version: converted, not re-embedded
TABLES = ("articles", "passages", "sentences")


def convert_legacy(old: Path, folder: Path, settings: IndexSettings
                   ) -> tuple[segment.SegmentInfo, RowIds]:
    """A segment holding every row of a format-1 version (one catalog with its vectors in
    it), ids kept: nothing is embedded again. Its entry and the next free ids."""
    folder.mkdir()
    source = old / segment.CATALOG
    with closing(catalog.connect(folder / segment.CATALOG)) as conn:
        catalog.create(conn)
        conn.execute("ATTACH DATABASE ? AS src", (f"file:{source}?mode=ro",))
        _copy_rows(conn)
        dimension = int(publish.read_manifest(old).dimension)
        passage_vectors = _vectors(conn, "passages", dimension)
        sentence_vectors = _vectors(conn, "sentences", dimension)
        # The ids stay as they were, so the next free ones follow the highest in use.
        top = [conn.execute(f"SELECT coalesce(max(id), 0) FROM src.{t}").fetchone()[0]
               for t in TABLES]
        conn.commit()
        conn.execute("DETACH DATABASE src")
        info = segment.finish(folder, conn, passage_vectors, sentence_vectors, settings)
    return info, RowIds(top[0] + 1, top[1] + 1, top[2] + 1)


def _copy_rows(conn: sqlite3.Connection) -> None:
    """Every row of the attached format-1 catalog `src`, ids kept, without its vectors."""
    conn.execute(f"INSERT INTO articles ({catalog.ARTICLE_COLUMNS}) SELECT "
                 f"{catalog.ARTICLE_COLUMNS} FROM src.articles ORDER BY id")
    conn.execute("INSERT INTO passages (id, article, paragraph, start, end) "
                 "SELECT id, article, paragraph, start, end FROM src.passages ORDER BY id")
    conn.execute("INSERT INTO sentences (id, passage, start, end) "
                 "SELECT id, passage, start, end FROM src.sentences ORDER BY id")
    conn.execute("INSERT INTO passages_fts (rowid, text) "
                 "SELECT rowid, text FROM src.passages_fts ORDER BY rowid")


def _vectors(conn: sqlite3.Connection, table: str, dimension: int) -> np.ndarray:
    """The vectors a format-1 catalog keeps in `table`'s rows, in id order."""
    count = conn.execute(f"SELECT count(*) FROM src.{table}").fetchone()[0]
    matrix = np.empty((count, dimension), np.float32)
    for at, row in enumerate(conn.execute(f"SELECT vector FROM src.{table} ORDER BY id")):
        matrix[at] = np.frombuffer(row[0], np.float32)
    return matrix
