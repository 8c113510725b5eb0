"""A stored answer as the bot reads it back (for its buttons and for a follow-up): the typed
record of one row of the `answers` table, made from the row and back into its columns."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["StoredAnswer"]


@dataclass(frozen=True)
class StoredAnswer:
    """An answer as the state database keeps it."""

    id: int  # 0 until stored: the database gives it
    chat_id: int
    user_id: int | None
    question: str
    abstained: bool
    # The quote and suggestion dicts as stored (JSON), not Quote objects: bot.state never
    # imports bot.engine, and a row written by an older version loads as it is; a button reads
    # only the quote it needs (bot.chat makes the Quote).
    quotes: list[Mapping[str, Any]]
    suggestions: list[dict[str, Any]]
    latency_ms: float
    index_version: str | None
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> StoredAnswer:
        """The record of a row of `answers` (its quotes and suggestions decoded from JSON)."""
        return cls(id=row["id"], chat_id=row["chat_id"], user_id=row["user_id"],
                   question=row["question"], abstained=row["abstained"],
                   quotes=json.loads(row["quotes"]), suggestions=json.loads(row["suggestions"]),
                   latency_ms=row["latency_ms"], index_version=row["index_version"],
                   created_at=row["created_at"])

    def to_row(self) -> dict[str, Any]:
        """The columns of its row, the id left to the database (quotes and suggestions as
        JSON, non-ASCII text kept as it is)."""
        return {"chat_id": self.chat_id, "user_id": self.user_id, "question": self.question,
                "abstained": self.abstained,
                "quotes": json.dumps(self.quotes, ensure_ascii=False),
                "suggestions": json.dumps(self.suggestions, ensure_ascii=False),
                "latency_ms": self.latency_ms, "index_version": self.index_version,
                "created_at": self.created_at}

    def quote(self, index: int) -> Mapping[str, Any] | None:
        """The stored dict of its quote number `index` (from 0); None past its quotes."""
        return self.quotes[index] if 0 <= index < len(self.quotes) else None

    def suggested_article(self, index: int) -> str | None:
        """The article id of its suggestion number `index` (an abstention's); None past them."""
        if not 0 <= index < len(self.suggestions):
            return None
        article_id: str = self.suggestions[index]["article_id"]
        return article_id
