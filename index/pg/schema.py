"""The PostgreSQL index's tables (schema `verbatim_index`, pgvector), connections and errors.

Every build is one transaction under an advisory lock and publishes one `versions` row;
readers serve the newest row. Rows are never updated but for `articles.removed_in`: a version
`v` sees the articles with `added_in <= v` and no `removed_in <= v` (and their passages and
sentences, which carry their article's `added_in`), so a reader of the version before keeps
answering while a build commits. Rows no kept version sees are deleted by the next build.
"""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import numpy as np
import psycopg

from index.reader import REBUILD, IndexUnavailableError

SCHEMA = "verbatim_index"
LOCK_KEY = 0x76657262  # pg_advisory_xact_lock: one build at a time per database ("verb")
CONNECT_TIMEOUT = 5  # seconds
HNSW_SINCE = (0, 5, 0)  # pgvector's first version with HNSW indexes
PGVECTOR_NEEDED = ".".join(map(str, HNSW_SINCE))

# {dim}, {m}, {ef} are filled in when the tables are created (the model's dimension).
# Versions share rows: a row says in which version it was added (`added_in`) and an article in
# which it was removed (`removed_in`), so a version reads "added_in <= v and not removed by v"
# and a build writes only what changed. Removed articles are few: a partial index finds them.
# Postings are keyed (term, passage) so one question's terms are an index range scan each;
# `terms` holds each term's live passage count, the BM25 document frequency, and is indexed by
# first letter and length for the spelling candidates. Terms compare in "C" collation: bytes,
# as the FTS5 terms they come from, whatever the database's locale.
TABLES = """
CREATE TABLE IF NOT EXISTS {schema}.versions (
    id bigint PRIMARY KEY,
    name text NOT NULL UNIQUE,
    model text NOT NULL,
    dimension integer NOT NULL,
    manifest jsonb NOT NULL,
    probe bytea,
    article_order bytea,
    passages bigint NOT NULL,
    sentences bigint NOT NULL,
    total_length bigint NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {schema}.articles (
    id bigint PRIMARY KEY,
    article_id text NOT NULL,
    path text NOT NULL,
    title text NOT NULL,
    source text,
    url text,
    published text,
    language text,
    meta jsonb NOT NULL DEFAULT '{{}}',
    text text NOT NULL,
    fingerprint text NOT NULL,
    added_at text NOT NULL,
    added_in bigint NOT NULL,
    removed_in bigint
);
CREATE INDEX IF NOT EXISTS articles_article_id ON {schema}.articles (article_id);
CREATE INDEX IF NOT EXISTS articles_removed ON {schema}.articles (removed_in)
    WHERE removed_in IS NOT NULL;
CREATE TABLE IF NOT EXISTS {schema}.passages (
    id bigint PRIMARY KEY,
    article bigint NOT NULL REFERENCES {schema}.articles (id) ON DELETE CASCADE,
    paragraph integer NOT NULL,
    start integer NOT NULL,
    "end" integer NOT NULL,
    length integer NOT NULL,
    added_in bigint NOT NULL,
    embedding vector({dim}) NOT NULL
);
CREATE INDEX IF NOT EXISTS passages_article ON {schema}.passages (article);
CREATE INDEX IF NOT EXISTS passages_embedding ON {schema}.passages
    USING hnsw (embedding vector_cosine_ops) WITH (m = {m}, ef_construction = {ef});
CREATE TABLE IF NOT EXISTS {schema}.sentences (
    id bigint PRIMARY KEY,
    passage bigint NOT NULL REFERENCES {schema}.passages (id) ON DELETE CASCADE,
    article bigint NOT NULL,
    start integer NOT NULL,
    "end" integer NOT NULL,
    added_in bigint NOT NULL,
    embedding vector({dim}) NOT NULL
);
CREATE INDEX IF NOT EXISTS sentences_passage ON {schema}.sentences (passage);
CREATE INDEX IF NOT EXISTS sentences_article ON {schema}.sentences (article);
CREATE INDEX IF NOT EXISTS sentences_embedding ON {schema}.sentences
    USING hnsw (embedding vector_cosine_ops) WITH (m = {m}, ef_construction = {ef});
CREATE TABLE IF NOT EXISTS {schema}.postings (
    term text COLLATE "C" NOT NULL,
    passage bigint NOT NULL REFERENCES {schema}.passages (id) ON DELETE CASCADE,
    frequency integer NOT NULL,
    PRIMARY KEY (term, passage)
);
CREATE INDEX IF NOT EXISTS postings_passage ON {schema}.postings (passage);
CREATE TABLE IF NOT EXISTS {schema}.terms (
    term text COLLATE "C" PRIMARY KEY,
    documents integer NOT NULL
);
CREATE INDEX IF NOT EXISTS terms_shape ON {schema}.terms (left(term, 1), char_length(term));
"""
# The row tables, dropped and created again when the model's dimension changes.
ROW_TABLES = ("terms", "postings", "sentences", "passages", "articles")


class IndexDatabaseError(IndexUnavailableError):
    """The index database cannot be reached or refused the work; the message says which
    database (without its password) and what to do."""


def where(url: str) -> str:
    """host:port/database of a URL, for messages (no user or password)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the configured database"
    return f"{host}{port}{parts.path or '/'}"


def connect(url: str, autocommit: bool = True,
            setting: str = "INDEX_DATABASE_URL") -> psycopg.Connection:
    """A connection to the index database; IndexDatabaseError (naming `setting`) when it
    cannot be reached."""
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT,
                               application_name="verbatim-index")
    except psycopg.Error as err:
        raise IndexDatabaseError(
            f"The index database {where(url)} ({setting}) is unreachable "
            f"({short(err)}): start it or fix the setting, then build the index with "
            f"`{REBUILD}` (INDEX_BACKEND=postgresql).") from err


def short(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__


def hnsw_ready(version: str) -> bool:
    """Whether a pgvector version has HNSW indexes (0.5.0 and later)."""
    parts = [int(p) if p.isdigit() else 0 for p in version.split(".")[:3]]
    return tuple(parts + [0] * (3 - len(parts))) >= HNSW_SINCE


def create_tables(conn: psycopg.Connection, dimension: int, m: int, ef_construction: int) -> None:
    """The extension, the schema and its tables (those missing); IndexDatabaseError saying
    what to do when pgvector cannot be had or has no HNSW."""
    place = f"{conn.info.host}:{conn.info.port}/{conn.info.dbname}"
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.Error as err:
        raise IndexDatabaseError(
            f"The index database {place} cannot create the pgvector extension "
            f"({short(err)}): use a server with pgvector {PGVECTOR_NEEDED} or later (the "
            "pgvector/pgvector image; on a managed PostgreSQL, allow-list `vector`), or have "
            "an administrator run `CREATE EXTENSION vector;` in that database once.") from err
    row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()
    if row is None or not hnsw_ready(str(row[0])):
        raise IndexDatabaseError(
            f"pgvector {row[0] if row else '?'} in the index database {place} has no HNSW "
            f"indexes: {PGVECTOR_NEEDED} or later is needed (update the server's pgvector, "
            "then `ALTER EXTENSION vector UPDATE;`).")
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    for statement in TABLES.format(schema=SCHEMA, dim=dimension, m=m,
                                   ef=ef_construction).split(";"):
        if statement.strip():
            conn.execute(statement)


HNSW_INDEXES = ("passages", "sentences")


def drop_hnsw(conn: psycopg.Connection) -> None:
    """Drop the HNSW indexes, so that a bulk COPY into empty tables does not insert every row
    into the graph one at a time (create_hnsw builds them again, much faster)."""
    for table in HNSW_INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {SCHEMA}.{table}_embedding")


def create_hnsw(conn: psycopg.Connection, m: int, ef_construction: int) -> None:
    """The HNSW indexes over the rows (those missing)."""
    for table in HNSW_INDEXES:
        conn.execute(f"CREATE INDEX IF NOT EXISTS {table}_embedding ON {SCHEMA}.{table} "
                     f"USING hnsw (embedding vector_cosine_ops) "
                     f"WITH (m = {int(m)}, ef_construction = {int(ef_construction)})")


def drop_rows(conn: psycopg.Connection) -> None:
    """Drop the row tables (another model: another dimension); `versions` stays."""
    for table in ROW_TABLES:
        conn.execute(f"DROP TABLE IF EXISTS {SCHEMA}.{table} CASCADE")


def has_tables(conn: psycopg.Connection, table: str = "versions") -> bool:
    """Whether the index's table exists (`versions`: whether any build created the schema)."""
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"{SCHEMA}.{table}",)).fetchone()
    return bool(row and row[0])


def vectors_of(blobs: list[bytes], dimension: int | None = None) -> np.ndarray:
    """float32 rows from pgvector's binary form (int16 dimension, int16 unused, big-endian
    float4s): exactly the vectors stored."""
    if not blobs:
        return np.zeros((0, dimension or 0), np.float32)
    data = np.frombuffer(b"".join(bytes(b) for b in blobs), np.uint8).reshape(len(blobs), -1)
    return np.ascontiguousarray(data[:, 4:]).view(">f4").astype(np.float32)


def vector_text(vector: np.ndarray) -> str:
    """pgvector's text form of a float32 vector, exact (each value as its float64 repr)."""
    return "[" + ",".join(map(repr, np.asarray(vector, np.float32).tolist())) + "]"


def save_array(array: np.ndarray | None) -> bytes | None:
    if array is None:
        return None
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def load_array(data: bytes | None) -> np.ndarray | None:
    return None if data is None else np.load(io.BytesIO(bytes(data)), allow_pickle=False)
