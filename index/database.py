"""The database both sides share: one SQLAlchemy metadata, the news fetcher's tables, the
engine (SQLite or PostgreSQL) and the helpers that make both databases behave alike.

The bot's own tables (`bot.state.schema`) join this metadata; Alembic migrations in
`bot/state/migrations` create and upgrade them all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import ReturningInsert

__all__ = [
    "Claims",
    "DatabaseUnavailable",
    "clip",
    "fetched",
    "fit_key",
    "insert_ignore",
    "locks",
    "make_engine",
    "metadata",
    "now",
    "width",
    "worker_id",
]

metadata = sa.MetaData()
# A database that cannot be reached, or refuses work for now (locked, shutting down): what
# callers retry. SQLAlchemy's OperationalError itself (`.orig` is the driver's error).
DatabaseUnavailable = sa.exc.OperationalError

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
    # The digest, not the cut alone, goes into the key: two long values that share their
    # start must stay two rows.
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return value[:limit - 65].replace("\x00", "") + "#" + digest


def width(column: sa.Column) -> int:
    """The length of a string column, as the schema declares it (PostgreSQL enforces it)."""
    length = getattr(column.type, "length", None)
    assert isinstance(length, int), f"{column} has no length"
    return length


@overload
def clip(value: str, limit: int) -> str: ...
@overload
def clip(value: None, limit: int) -> None: ...
@overload
def clip(value: str | None, limit: int) -> str | None: ...
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
            # WAL lets the bot read while the fetcher writes; NORMAL sync is safe under WAL
            # (a power loss may lose the last commits, but never corrupts the file).
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]  # psycopg 3, not psycopg2
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def insert_ignore(engine: Engine, table: sa.Table,
                  index: list[str]) -> ReturningInsert[tuple[Any, ...]]:
    """INSERT ... ON CONFLICT DO NOTHING for SQLite and PostgreSQL alike, RETURNING the key:
    `.first()` of the result is None when the row existed (rowcount is -1 on psycopg)."""
    keys = [table.c[name] for name in index]
    if engine.dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index).returning(
            *keys)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=index).returning(*keys)


def worker_id(run: bool = False) -> str:
    """Who claims work, as the claim columns record it: `<host>:<pid>` for this process;
    with `run`, `:<12 hex digits>` after it, a holder of its own for one run of a job."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    return f"{worker}:{uuid.uuid4().hex[:12]}" if run else worker


@dataclass(frozen=True)
class Claims:
    """Leases on the rows of a table, the one way rows are claimed on both databases: the
    worker holding a row (`holder`, cut to its column's width) and either when it took the
    row (`taken_at`: the lease runs out `seconds` after it, as the reader counts them) or
    when its lease runs out (`expires_at`, written by the holder)."""

    table: sa.Table
    holder: str = "claimed_by"
    taken_at: str | None = "claimed_at"
    expires_at: str | None = None

    def name(self, worker: str) -> str:
        """The worker as its column stores it."""
        return worker[:width(self.table.c[self.holder])]

    def held_by(self, worker: str) -> sa.ColumnElement[bool]:
        return self.table.c[self.holder] == self.name(worker)

    def start(self, seconds: float = 0.0, at: dt.datetime | None = None) -> dict[str, Any]:
        """The values that start (or renew) a lease of `seconds` now (or `at`)."""
        at = at or now()
        if self.taken_at is not None:
            return {self.taken_at: at}
        assert self.expires_at is not None, "a lease needs taken_at or expires_at"
        return {self.expires_at: at + dt.timedelta(seconds=seconds)}

    def take(self, worker: str, seconds: float = 0.0,
             at: dt.datetime | None = None) -> dict[str, Any]:
        """The values of a lease taken by `worker` now (or `at`)."""
        return {self.holder: self.name(worker), **self.start(seconds, at)}

    def released(self) -> dict[str, Any]:
        """The values of a row no one holds."""
        return {self.holder: None, **dict.fromkeys(
            name for name in (self.taken_at, self.expires_at) if name is not None)}

    def free(self, seconds: float, at: dt.datetime | None = None) -> sa.ColumnElement[bool]:
        """Rows no one holds, or whose lease of `seconds` ran out by now (or `at`)."""
        at = at or now()
        if self.taken_at is not None:
            taken = self.table.c[self.taken_at]
            return sa.or_(taken.is_(None), taken < at - dt.timedelta(seconds=seconds))
        assert self.expires_at is not None, "a lease needs taken_at or expires_at"
        return self.table.c[self.expires_at] < at

    def claim(self, conn: sa.Connection, query: sa.Select[Any], key: str, worker: str,
              *where: sa.ColumnElement[bool], **values: Any) -> list[dict[str, Any]]:
        """The rows `query` selects (with their `key` column), now held by `worker` (and
        updated with `values`). On PostgreSQL they are locked, skipping rows another
        transaction is claiming, so two workers never claim the same row."""
        if conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = [dict(r) for r in conn.execute(query).mappings()]
        if rows:
            conn.execute(self.table.update().where(
                self.table.c[key].in_([r[key] for r in rows]), *where)
                .values(**self.take(worker), **values))
        return rows

    def acquire(self, conn: sa.Connection, keys: Mapping[str, Any], worker: str,
                seconds: float) -> bool:
        """Take the row with these keys (inserting it when there is none) unless another
        worker holds it and its lease has not run out; True when `worker` holds it now."""
        stamp = now()
        values = self.take(worker, seconds, stamp)
        mine = [self.table.c[name] == value for name, value in keys.items()]
        # Update first: a held row is taken over only when its lease ran out (or is ours);
        # the insert that follows, ignored on conflict, settles a race for a new row.
        taken = conn.execute(self.table.update().where(
            *mine, sa.or_(self.free(seconds, stamp), self.held_by(worker)),
        ).values(**values)).rowcount
        if taken:
            return True
        inserted = conn.execute(insert_ignore(conn.engine, self.table, list(keys)).values(
            **keys, **values)).first()
        return inserted is not None

    def renew(self, conn: sa.Connection, worker: str, *where: sa.ColumnElement[bool],
              seconds: float = 0.0) -> int:
        """Extend the leases `worker` holds on the rows `where` selects; how many it held."""
        return int(conn.execute(self.table.update().where(*where, self.held_by(worker))
                                .values(**self.start(seconds))).rowcount)
