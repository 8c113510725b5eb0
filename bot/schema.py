"""The state database's schema (SQLAlchemy Core tables), engine and migrations.

The schema is created and upgraded by Alembic migrations (`bot/migrations`), run at start or
with `python -m bot migrate`; an old database is upgraded, never dropped. These table objects
mirror the newest migration.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

metadata = sa.MetaData()

answers = sa.Table(
    "answers", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("user_id", sa.BigInteger),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("abstained", sa.Boolean, nullable=False),
    sa.Column("quotes", sa.Text, nullable=False),  # JSON list of quote dicts
    sa.Column("suggestions", sa.Text, nullable=False),  # JSON list
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("index_version", sa.String(80)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sqlite_autoincrement=True,  # ids are never reused: an old button acts on no other answer
)

feedback = sa.Table(
    "feedback", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("answer_id", sa.Integer, sa.ForeignKey("answers.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("user_id", sa.BigInteger, nullable=False),
    sa.Column("verdict", sa.SmallInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("answer_id", "user_id", name="feedback_once_per_user"),
)

subscriptions = sa.Table(
    "subscriptions", metadata,
    sa.Column("chat_id", sa.BigInteger, primary_key=True),
    sa.Column("created_by", sa.BigInteger),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

follows = sa.Table(
    "follows", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("topic", sa.String(200), nullable=False),
    sa.Column("created_by", sa.BigInteger),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("chat_id", "topic", name="follows_once"),
)

announced = sa.Table(
    "announced", metadata,
    sa.Column("article_id", sa.String(500), primary_key=True),
    sa.Column("index_version", sa.String(80)),
    sa.Column("announced_at", sa.DateTime(timezone=True), nullable=False),
)

outbox = sa.Table(
    "outbox", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("article_id", sa.String(500), nullable=False),
    sa.Column("reason", sa.String(220), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(12), nullable=False, server_default="pending"),
    sa.Column("claimed_by", sa.String(80)),
    sa.Column("claimed_at", sa.DateTime(timezone=True)),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("chat_id", "article_id", name="outbox_once_per_chat"),
)

inbox = sa.Table(
    "inbox", metadata,
    sa.Column("bot_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("update_id", sa.BigInteger, primary_key=True, autoincrement=False),
    # 0 for the first update with this id; 1, 2... when the Bot API numbered afresh
    sa.Column("generation", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("user_id", sa.BigInteger),  # the sender, so /forget finds the user's texts
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("status", sa.String(12), nullable=False, server_default="pending"),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("done_at", sa.DateTime(timezone=True)),
    sa.Column("claimed_by", sa.String(80)),
    sa.Column("claimed_at", sa.DateTime(timezone=True)),
)

rate_counters = sa.Table(
    "rate_counters", metadata,
    sa.Column("key", sa.String(80), primary_key=True),
    sa.Column("window_start", sa.BigInteger, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
)

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

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


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


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest schema."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def insert_ignore(engine: Engine, table: sa.Table, index: list[str]) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for SQLite and PostgreSQL alike, RETURNING the key:
    `.first()` of the result is None when the row existed (rowcount is -1 on psycopg)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table).on_conflict_do_nothing(index_elements=index).returning(
        *(table.c[name] for name in index))
