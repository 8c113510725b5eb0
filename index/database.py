"""The database both sides share: one SQLAlchemy metadata, the news fetcher's tables, the
engine (SQLite or PostgreSQL) and the helpers that make both databases behave alike.

The bot's own tables (`bot.state.schema`) join this metadata; Alembic migrations in
`bot/state/migrations` create and upgrade them all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

metadata = sa.MetaData()

fetched = sa.Table(
    "fetched", metadata,
    sa.Column("item_key", sa.String(1000), primary_key=True),  # feed URL + entry id or link
    sa.Column("link", sa.String(2000), nullable=False),
    sa.Column("url", sa.String(2000)),  # the page's canonical URL
    sa.Column("content_hash", sa.String(64)),
    sa.Column("entry_stamp", sa.String(200)),  # the feed entry's updated date, to see changes
    sa.Column("path", sa.String(1000)),  # the corpus file, relative to the corpus folder
    sa.Column("feed", sa.String(2000), nullable=False),
    sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
)

locks = sa.Table(
    "locks", metadata,
    sa.Column("name", sa.String(80), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)

def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def fit_key(value: str, limit: int) -> str:
    """`value` when it fits a column of `limit` characters and PostgreSQL can store it (no
    NUL), else its start and its SHA-256: the same key for the same value, distinct for
    distinct values, on every database."""
    if len(value) <= limit and "\x00" not in value:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return value[:limit - 65].replace("\x00", "") + "#" + digest


def width(column: sa.Column) -> int:
    """The length of a string column, as the schema declares it (PostgreSQL enforces it)."""
    length = getattr(column.type, "length", None)
    assert isinstance(length, int), f"{column} has no length"
    return length


def clip(value: str | None, limit: int) -> str | None:
    """A display or bookkeeping text cut to its column's length (`None` stays `None`)."""
    return value if value is None else value[:limit]


def make_engine(url: str) -> Engine:
    """An SQLAlchemy engine; SQLite files get WAL mode and a busy timeout."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]  # psycopg 3, not psycopg2
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def insert_ignore(engine: Engine, table: sa.Table, index: list[str]) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for SQLite and PostgreSQL alike, RETURNING the key:
    `.first()` of the result is None when the row existed (rowcount is -1 on psycopg)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing(index_elements=index).returning(
        *(table.c[name] for name in index))
