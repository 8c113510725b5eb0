"""The index in PostgreSQL with pgvector (INDEX_BACKEND=postgresql): the same passages,
sentences, vectors and BM25 statistics as the FAISS index, in tables that every replica
reads; a build is one transaction that publishes one `versions` row."""

from index.pg.build import build_pg_index, newest_version
from index.pg.reader import PgBm25, PgIndex, PgSource
from index.pg.schema import SCHEMA, IndexDatabaseError, where

__all__ = [
    "SCHEMA",
    "IndexDatabaseError",
    "PgBm25",
    "PgIndex",
    "PgSource",
    "build_pg_index",
    "newest_version",
    "where",
]
