"""Hardening: answer ids never reused on SQLite; the inbox keyed by bot and knowing its senders.

- `answers.id` becomes AUTOINCREMENT on SQLite (PostgreSQL's serial never reuses ids): after
  /forget or pruning, an old button must not act on someone else's answer. SQLite cannot
  change a key in place, so `answers` and `feedback` are rebuilt, every row copied.
- `inbox` gains `bot_id` (the bot that received the update; 0 for rows written before this
  migration, adopted by the next bot to start), `generation` (0 for the first update with its
  id; higher when the Bot API numbered afresh and reused an id for another update) and
  `user_id` (the sender, so /forget finds a user's texts). Its key becomes
  (bot_id, update_id, generation).
- `fetched.path` is indexed: the fetcher looks items up by the file they point at.

Revision ID: 0007
Revises: 0006
"""

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ANSWER_COLUMNS = ("id, chat_id, user_id, question, abstained, quotes, suggestions, latency_ms, "
                  "index_version, created_at")
FEEDBACK_COLUMNS = "id, answer_id, user_id, verdict, created_at"
OLD_INBOX_COLUMNS = "update_id, payload, status, received_at, done_at, claimed_by, claimed_at"


def _sender(payload: str) -> int | None:
    """The id of the user who sent an update (`from` of its message, button press...)."""
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    for key, value in data.items() if isinstance(data, dict) else ():
        if key != "update_id" and isinstance(value, dict):
            sender = value.get("from") or value.get("user")
            if isinstance(sender, dict) and isinstance(sender.get("id"), int):
                return sender["id"]
    return None


def _answers_columns(answers_name: str) -> dict[str, list[Any]]:
    """The columns of `answers` and of `feedback` (referring to `answers_name`), as in 0001."""
    answers = [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("user_id", sa.BigInteger),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("abstained", sa.Boolean, nullable=False),
        sa.Column("quotes", sa.Text, nullable=False),
        sa.Column("suggestions", sa.Text, nullable=False),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("index_version", sa.String(80)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    ]
    feedback = [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("answer_id", sa.Integer, sa.ForeignKey(f"{answers_name}.id",
                                                         ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.BigInteger, nullable=False),
        sa.Column("verdict", sa.SmallInteger, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("answer_id", "user_id", name="feedback_once_per_user"),
    ]
    return {"answers": answers, "feedback": feedback}


def _rebuild_answers_on_sqlite() -> None:
    """New tables first, rows copied, old tables dropped child first (so no cascade deletes a
    row), then renamed: SQLite rewrites feedback's reference to the renamed answers."""
    columns = _answers_columns("answers_new")
    op.create_table("answers_new", *columns["answers"], sqlite_autoincrement=True)
    op.execute(f"INSERT INTO answers_new ({ANSWER_COLUMNS}) SELECT {ANSWER_COLUMNS} FROM answers")
    op.create_table("feedback_new", *columns["feedback"])
    op.execute(f"INSERT INTO feedback_new ({FEEDBACK_COLUMNS}) "
               f"SELECT {FEEDBACK_COLUMNS} FROM feedback")
    op.drop_table("feedback")
    op.drop_index("answers_chat", "answers")
    op.drop_table("answers")
    op.rename_table("answers_new", "answers")
    op.rename_table("feedback_new", "feedback")
    op.create_index("answers_chat", "answers", ["chat_id"])


def _inbox_columns() -> list[Any]:
    return [
        sa.Column("bot_id", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("update_id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("generation", sa.Integer, nullable=False, server_default="0"),
        sa.Column("user_id", sa.BigInteger),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="pending"),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True)),
        sa.Column("claimed_by", sa.String(80)),
        sa.Column("claimed_at", sa.DateTime(timezone=True)),
    ]


def _rekey_inbox() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_table("inbox_new", *_inbox_columns(),
                        sa.PrimaryKeyConstraint("bot_id", "update_id", "generation",
                                                name="inbox_key"))
        op.execute(f"INSERT INTO inbox_new ({OLD_INBOX_COLUMNS}) "
                   f"SELECT {OLD_INBOX_COLUMNS} FROM inbox")
        op.drop_index("inbox_status", "inbox")
        op.drop_table("inbox")
        op.rename_table("inbox_new", "inbox")
        op.create_index("inbox_status", "inbox", ["status"])
    else:
        op.add_column("inbox", sa.Column("bot_id", sa.BigInteger, nullable=False,
                                         server_default="0"))
        op.add_column("inbox", sa.Column("generation", sa.Integer, nullable=False,
                                         server_default="0"))
        op.add_column("inbox", sa.Column("user_id", sa.BigInteger))
        op.drop_constraint("inbox_pkey", "inbox", type_="primary")
        op.create_primary_key("inbox_key", "inbox", ["bot_id", "update_id", "generation"])
    op.create_index("inbox_user", "inbox", ["user_id"])


def _fill_inbox_senders() -> None:
    """Every stored update gets its sender, read from its payload, in batches."""
    bind = op.get_bind()
    table = sa.table("inbox", sa.column("bot_id", sa.BigInteger),
                     sa.column("update_id", sa.BigInteger), sa.column("generation", sa.Integer),
                     sa.column("payload", sa.Text), sa.column("user_id", sa.BigInteger))
    old = [table.c.bot_id == 0, table.c.generation == 0]  # every row so far: the key's prefix
    last = None
    while True:
        query = sa.select(table.c.update_id, table.c.payload).where(*old)
        if last is not None:
            query = query.where(table.c.update_id > last)
        rows = bind.execute(query.order_by(table.c.update_id).limit(1000)).all()
        if not rows:
            return
        senders = [{"key": r[0], "sender": _sender(r[1])} for r in rows]
        senders = [s for s in senders if s["sender"] is not None]
        if senders:
            bind.execute(table.update().where(*old, table.c.update_id == sa.bindparam("key"))
                         .values(user_id=sa.bindparam("sender")), senders)
        last = rows[-1][0]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_answers_on_sqlite()
    _rekey_inbox()
    _fill_inbox_senders()
    # The fetcher asks which items point at a file (whose file it is, repointing a rewrite).
    op.create_index("fetched_path", "fetched", ["path"])


def downgrade() -> None:
    raise NotImplementedError("0007 is not reversible: the inbox may hold one update id twice")
