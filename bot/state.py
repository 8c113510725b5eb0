"""The bot's state (answers asked, feedback) in SQLite or PostgreSQL through SQLAlchemy.

The schema is created and upgraded by Alembic migrations (`bot/migrations`), run at start or
with `python -m bot migrate`; an old database is upgraded, never dropped.
"""

from __future__ import annotations

import datetime as dt
import json
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

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
    return sa.create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Upgrade the database to the newest schema."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class State:
    """Everything the bot remembers, behind small methods."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)

    def migrate(self) -> None:
        migrate(self.engine)

    def record_answer(self, chat_id: int, user_id: int | None, answer_json: dict[str, Any],
                      quotes: list[dict[str, Any]], index_version: str | None) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(answers.insert().values(
                chat_id=chat_id, user_id=user_id, question=answer_json["question"],
                abstained=bool(answer_json["abstained"]),
                quotes=json.dumps(quotes, ensure_ascii=False),
                suggestions=json.dumps(answer_json.get("suggestions", []), ensure_ascii=False),
                latency_ms=float(answer_json.get("latency_ms", 0.0)),
                index_version=index_version, created_at=now()))
            return int(result.inserted_primary_key[0])

    def get_answer(self, answer_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(answers).where(answers.c.id == answer_id)).mappings()
            found = row.first()
        if found is None:
            return None
        data = dict(found)
        data["quotes"] = json.loads(data["quotes"])
        data["suggestions"] = json.loads(data["suggestions"])
        return data

    def record_feedback(self, answer_id: int, user_id: int, verdict: int) -> None:
        """One verdict per user and answer; pressing again replaces it."""
        with self.engine.begin() as conn:
            conn.execute(feedback.delete().where(feedback.c.answer_id == answer_id,
                                                 feedback.c.user_id == user_id))
            conn.execute(feedback.insert().values(answer_id=answer_id, user_id=user_id,
                                                  verdict=verdict, created_at=now()))

    def feedback_for(self, answer_id: int) -> list[tuple[int, int]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(feedback.c.user_id, feedback.c.verdict).where(
                feedback.c.answer_id == answer_id))
            return [(r[0], r[1]) for r in rows]

    def close(self) -> None:
        self.engine.dispose()
