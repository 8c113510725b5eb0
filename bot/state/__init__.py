"""The bot's state database (SQLite or PostgreSQL) behind one facade: `State` (answers, read
back as `StoredAnswer` records; feedback, subscriptions, follows, rate limits, privacy) with its
durable `Inbox` of updates and its `Outbox` (announced articles and the pushes they make), the
schema and its migrations."""

from bot.state.answers import StoredAnswer
from bot.state.inbox import Inbox, bot_id_from_token
from bot.state.schema import MIGRATIONS, DatabaseUnavailable, migrate, worker_id
from bot.state.store import TOPIC_CHARS, State

__all__ = [
    "MIGRATIONS",
    "TOPIC_CHARS",
    "DatabaseUnavailable",
    "Inbox",
    "State",
    "StoredAnswer",
    "bot_id_from_token",
    "migrate",
    "worker_id",
]
