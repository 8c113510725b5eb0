"""The state database's schema: the bot's tables (SQLAlchemy Core) and their migrations.

The schema is created and upgraded by Alembic migrations (`bot/state/migrations`), run at start or
with `python -m bot migrate`; an old database is upgraded, never dropped. These table objects
mirror the newest migration; the fetcher's tables (`index.database`) share their metadata.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from index.database import (
    Claims,
    DatabaseUnavailable,
    clip,
    fetched,
    fit_key,
    insert_ignore,
    locks,
    make_engine,
    metadata,
    now,
    width,
    worker_id,
)

__all__ = [
    "MIGRATIONS",
    "Claims",
    "DatabaseUnavailable",
    "announced",
    "answer_messages",
    "answers",
    "chat_sources",
    "clip",
    "conversations",
    "feedback",
    "fetched",
    "fit_key",
    "follows",
    "inbox",
    "insert_ignore",
    "locks",
    "make_engine",
    "memberships",
    "metadata",
    "migrate",
    "now",
    "outbox",
    "quote_links",
    "rate_counters",
    "subscriptions",
    "width",
    "worker_id",
]


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

answer_messages = sa.Table(
    "answer_messages", metadata,
    sa.Column("chat_id", sa.BigInteger, primary_key=True),
    sa.Column("message_id", sa.BigInteger, primary_key=True),
    sa.Column("answer_id", sa.Integer, nullable=False, index=True),
)

quote_links = sa.Table(
    "quote_links", metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("article_id", sa.Text, nullable=False),
    sa.Column("start", sa.Integer, nullable=False),
    sa.Column("end", sa.Integer, nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("index_version", sa.String(80)),
    # When the link was last given (each answer or card giving it renews it); RETENTION_DAYS
    # after that it is pruned and the link says it has expired.
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

memberships = sa.Table(
    "memberships", metadata,
    sa.Column("chat_id", sa.BigInteger, primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("changed_by", sa.BigInteger),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
)

chat_sources = sa.Table(
    "chat_sources", metadata,
    sa.Column("chat_id", sa.BigInteger, primary_key=True),
    sa.Column("source", sa.String(200), primary_key=True),  # an article's source, as stored
    sa.Column("created_by", sa.BigInteger),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

conversations = sa.Table(
    "conversations", metadata,
    sa.Column("chat_id", sa.BigInteger, primary_key=True),
    sa.Column("thread_id", sa.BigInteger, primary_key=True),  # 0: none
    sa.Column("reset_at", sa.DateTime(timezone=True), nullable=False),
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
    # A sent push as Telegram shows it (its last message), so later outlets of its story can
    # be added to it: "Also: Reuters, AP" (`also`: their articles as JSON, in arrival order).
    sa.Column("message_id", sa.BigInteger),
    sa.Column("message_html", sa.Text),
    sa.Column("also", sa.Text),
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

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATE_LOCK = 0x76657264  # pg_advisory_xact_lock key of `migrate` ("verd")


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest schema."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # replicas starting at once: one at a time
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": MIGRATE_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
