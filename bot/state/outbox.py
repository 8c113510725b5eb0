"""The outbox: new articles claimed once across replicas (`announced`), the pushes queued for
chats, claimed by one sender at a time, and what each sent push shows (its message and the
later outlets of its story added to it)."""

from __future__ import annotations

import json
import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.state.schema import (
    Claims,
    announced,
    answers,
    clip,
    fit_key,
    insert_ignore,
    now,
    outbox,
    width,
)

__all__ = ["ARTICLE_KEY_CHARS", "Outbox"]

log = logging.getLogger(__name__)
# Column lengths, as the schema declares them; PostgreSQL refuses longer values, SQLite would
# keep them.
ARTICLE_KEY_CHARS = min(width(announced.c.article_id), width(outbox.c.article_id))
VERSION_CHARS = min(width(answers.c.index_version), width(announced.c.index_version))
REASON_CHARS = width(outbox.c.reason)
OUTBOX_CLAIMS = Claims(outbox)  # claimed_by, claimed_at


class Outbox:
    """New articles announced once, and the pushes they make (`State.outbox`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim_new_articles(self, article_ids: list[str], version: str) -> tuple[list[str], bool]:
        """Record articles as announced; returns (those this call claimed, is_first_index).

        The first index a database ever sees is a baseline: its articles are recorded but not
        pushed. Claims are atomic, so with several replicas each article is claimed once. An id
        longer than its column is stored as a fixed-length key (its start and its hash).
        """
        keys = {article_id: fit_key(article_id, ARTICLE_KEY_CHARS) for article_id in article_ids}
        for article_id, key in keys.items():
            if key != article_id:
                log.warning("article id of %d characters stored by its hash: %.80s...",
                            len(article_id), article_id)
        version = clip(version, VERSION_CHARS)
        with self.engine.begin() as conn:
            first = conn.execute(sa.select(sa.func.count()).select_from(announced)).scalar() == 0
            known: set[str] = set()
            # In chunks of 500: SQLite limits the parameters bound in one statement.
            for start in range(0, len(article_ids), 500):
                chunk = [keys[a] for a in article_ids[start:start + 500]]
                known.update(r[0] for r in conn.execute(sa.select(announced.c.article_id).where(
                    announced.c.article_id.in_(chunk))))
            claimed: list[str] = []
            stamp = now()
            for article_id in article_ids:
                if keys[article_id] in known:
                    continue
                result = conn.execute(insert_ignore(self.engine, announced, ["article_id"]).values(
                    article_id=keys[article_id], index_version=version, announced_at=stamp))
                if result.first() is not None:
                    claimed.append(article_id)
            return claimed, first

    def enqueue(self, items: list[dict[str, Any]]) -> int:
        """Queue pushes; a chat never gets the same article twice (first reason wins)."""
        count = 0
        insert = insert_ignore(self.engine, outbox, ["chat_id", "article_id"])
        with self.engine.begin() as conn:
            for item in items:
                result = conn.execute(insert.values(
                    chat_id=item["chat_id"],
                    article_id=fit_key(item["article_id"], ARTICLE_KEY_CHARS),
                    reason=item["reason"][:REASON_CHARS],
                    payload=json.dumps(item["payload"], ensure_ascii=False),
                    status="pending", attempts=0, created_at=now()))
                count += result.first() is not None
        return count

    def story_pushes(self, article_ids: list[str]) -> dict[int, str]:
        """The chats pushed (or about to be) one of these articles: chat -> the first such
        article, whose push the story's later outlets are added to."""
        keys = {fit_key(a, ARTICLE_KEY_CHARS): a for a in article_ids}
        if not keys:
            return {}
        query = (sa.select(outbox.c.chat_id, outbox.c.article_id)
                 .where(outbox.c.article_id.in_(list(keys)),
                        outbox.c.status.in_(["pending", "sent"]))
                 .order_by(outbox.c.id))
        leads: dict[int, str] = {}
        with self.engine.connect() as conn:
            for chat_id, key in conn.execute(query):
                leads.setdefault(chat_id, keys[key])
        return leads

    def push_message(self, chat_id: int, article_id: str) -> dict[str, Any] | None:
        """A chat's push of an article: its outbox id, status, the message that shows it
        and the other outlets added to it (`also`, a list); None when there is none."""
        query = sa.select(outbox.c.id, outbox.c.status, outbox.c.message_id,
                          outbox.c.message_html, outbox.c.also).where(
            outbox.c.chat_id == chat_id,
            outbox.c.article_id == fit_key(article_id, ARTICLE_KEY_CHARS))
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return {**row, "also": json.loads(row["also"]) if row["also"] else []}

    def record_push_message(self, push_id: int, message_id: int, html: str | None,
                            also: list[dict[str, Any]]) -> None:
        """Remember the message a push was sent as (its last one) and its text (None: a
        digest, answered by replies), with the outlets shown as `also` in it, so later outlets
        of the story can be added by an edit."""
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.id == push_id).values(
                message_id=message_id, message_html=html,
                also=json.dumps(also, ensure_ascii=False)))

    def replace_push_also(self, push_id: int, before: list[dict[str, Any]],
                          after: list[dict[str, Any]]) -> bool:
        """Set the outlets shown in a push's message to `after` if they are still `before`
        (another replica may have added one meanwhile); whether they were."""
        old = json.dumps(before, ensure_ascii=False)
        with self.engine.begin() as conn:
            changed = conn.execute(outbox.update().where(
                outbox.c.id == push_id, sa.func.coalesce(outbox.c.also, "[]") == old).values(
                also=json.dumps(after, ensure_ascii=False))).rowcount
        return changed == 1

    def claim_outbox(self, worker: str, limit: int = 200,
                     lease_seconds: float = 120.0) -> list[dict[str, Any]]:
        """Pending pushes for this worker; a claim older than the lease may be taken over."""
        # A claim older than the lease is taken to be a sender that died mid-round; `attempts`
        # counts how often each push was claimed.
        with self.engine.begin() as conn:
            query = (sa.select(outbox).where(
                outbox.c.status == "pending", OUTBOX_CLAIMS.free(lease_seconds),
            ).order_by(outbox.c.id).limit(limit))
            rows = OUTBOX_CLAIMS.claim(conn, query, "id", worker,
                                       attempts=outbox.c.attempts + 1)
        for row in rows:
            row["payload"] = json.loads(row["payload"])
        return rows

    def finish_outbox(self, ids: list[int], status: str) -> None:
        """Mark pushes `sent`, `failed` or `dropped`; `pending` releases the claim."""
        values: dict[str, Any] = {"status": status}
        if status == "sent":
            values["sent_at"] = now()
        if status == "pending":
            values.update(OUTBOX_CLAIMS.released())
        with self.engine.begin() as conn:
            conn.execute(outbox.update().where(outbox.c.id.in_(ids)).values(**values))
