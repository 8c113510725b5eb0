"""The durable inbox: every update is stored before Telegram is told it arrived.

An update is claimed by the replica that stored it; a claim older than its lease (the replica
died mid-update) is taken over by another replica. Updates are keyed by the bot that received
them and their `update_id`; a redelivery (same bot, same id, same message or press) is
recognised and dropped, while an update that reuses a stored id for something else (a Bot API
that numbers afresh, as Telegram does after a week without updates) is a new one.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.state.schema import Claims, inbox, insert_ignore, now

CLAIMS = Claims(inbox)  # claimed_by, claimed_at


def bot_id_from_token(token: str | None) -> int:
    """The bot's id: the number before ':' in its token (0 when the token has none)."""
    head = (token or "").split(":", 1)[0]
    # ASCII digits only (int() takes "²" too), and few enough for the BIGINT column.
    if head.isascii() and head.isdigit() and len(head) <= 18:
        return int(head)
    return 0


def _body(payload: str) -> tuple[str, dict[str, Any]]:
    """The kind of an update (message, callback_query...) and its object."""
    try:
        data = json.loads(payload)
    except ValueError:
        return "", {}
    if not isinstance(data, dict):
        return "", {}
    for key, value in data.items():
        if key != "update_id" and isinstance(value, dict):
            return key, value
    return "", {}


def sender(payload: str) -> int | None:
    """The id of the user who sent an update (`from` of a message, a button press...)."""
    _, body = _body(payload)
    person = body.get("from") or body.get("user")
    if isinstance(person, dict) and isinstance(person.get("id"), int):
        return person["id"]
    return None


def identity(payload: str) -> tuple[Any, ...]:
    """What tells two updates apart beyond their id: a redelivery has the same identity."""
    kind, body = _body(payload)
    chat = body.get("chat")
    chat = chat if isinstance(chat, dict) else {}
    return (kind, body.get("id"), chat.get("id"), body.get("message_id"), body.get("date"),
            body.get("edit_date"), body.get("poll_id"), sender(payload))


class Inbox:
    """Updates stored, claimed and marked done, shared by every replica of the bot."""

    def __init__(self, engine: Engine, bot_id: int = 0) -> None:
        self.engine = engine
        self.bot_id = bot_id

    def bind(self, bot_id: int) -> None:
        """Serve the updates of this bot; rows stored before updates were keyed by bot (bot
        id 0) are adopted, so their redeliveries are still recognised."""
        self.bot_id = bot_id
        if not bot_id:
            return
        mine = inbox.alias("mine")
        taken = sa.select(mine.c.update_id).where(
            mine.c.bot_id == bot_id, mine.c.update_id == inbox.c.update_id,
            mine.c.generation == inbox.c.generation)
        with self.engine.begin() as conn:
            conn.execute(inbox.update().where(inbox.c.bot_id == 0, ~sa.exists(taken))
                         .values(bot_id=bot_id))

    def _stored(self, conn: sa.Connection, update_ids: list[int]) -> dict[int, list[Any]]:
        """This bot's stored rows with these ids: id -> [(generation, payload)]."""
        found: dict[int, list[Any]] = {}
        # In chunks of 500: SQLite limits the parameters bound in one statement.
        for start in range(0, len(update_ids), 500):
            rows = conn.execute(sa.select(inbox.c.update_id, inbox.c.generation,
                                          inbox.c.payload).where(
                inbox.c.bot_id == self.bot_id,
                inbox.c.update_id.in_(update_ids[start:start + 500])))
            for update_id, generation, payload in rows:
                found.setdefault(int(update_id), []).append((int(generation), str(payload)))
        return found

    def add(self, updates: list[tuple[int, str]], worker: str = "") -> list[int]:
        """Store updates, claimed by `worker`; returns the ids of those not seen before."""
        fresh: list[int] = []
        with self.engine.begin() as conn:
            for update_id, payload in updates:
                # First as generation 0, which is taken whenever the id is known: the rows
                # stored with the id are read only then (a redelivery, or a reused id).
                stored: dict[int, list[Any]] = {}
                for _attempt in range(4):  # another replica may store the same id meanwhile
                    known = stored.get(update_id, [])
                    if any(identity(p) == identity(payload) for _, p in known):
                        break  # a redelivery
                    generation = max((g for g, _ in known), default=-1) + 1
                    result = conn.execute(insert_ignore(
                        self.engine, inbox, ["bot_id", "update_id", "generation"]).values(
                        bot_id=self.bot_id, update_id=update_id, generation=generation,
                        user_id=sender(payload), payload=payload, status="pending",
                        received_at=now(), claimed_by=CLAIMS.name(worker) or None,
                        **CLAIMS.start()))
                    if result.first() is not None:
                        fresh.append(update_id)
                        break
                    stored = self._stored(conn, [update_id])
        return fresh

    def claim_stale(self, worker: str, lease_seconds: float,
                    limit: int = 50) -> list[tuple[int, str]]:
        """Pending updates whose claim is older than the lease, now claimed by `worker`."""
        with self.engine.begin() as conn:
            query = (sa.select(inbox.c.update_id, inbox.c.payload).where(
                inbox.c.bot_id == self.bot_id, inbox.c.status == "pending",
                CLAIMS.free(lease_seconds),
            ).order_by(inbox.c.received_at, inbox.c.update_id).limit(limit))
            rows = CLAIMS.claim(conn, query, "update_id", worker,
                                inbox.c.bot_id == self.bot_id, inbox.c.status == "pending")
        return [(int(r["update_id"]), str(r["payload"])) for r in rows]

    def renew(self, worker: str, update_ids: list[int]) -> None:
        """Keep this worker's claims alive while their answers are being worked on."""
        with self.engine.begin() as conn:
            CLAIMS.renew(conn, worker, inbox.c.bot_id == self.bot_id,
                         inbox.c.update_id.in_(update_ids), inbox.c.status == "pending")

    def done(self, update_id: int, payload: str | None = None) -> None:
        """Mark handled: the update with this id and, given its payload, that very update
        (another one may share its id); nothing happens when /forget deleted it meanwhile."""
        mine = sa.and_(inbox.c.bot_id == self.bot_id, inbox.c.update_id == update_id,
                       inbox.c.status == "pending")
        with self.engine.begin() as conn:
            if payload is not None:
                rows = conn.execute(sa.select(inbox.c.generation, inbox.c.payload).where(mine))
                wanted = identity(payload)
                generations = [int(g) for g, p in rows if identity(str(p)) == wanted]
                if not generations:
                    return
                mine = sa.and_(mine, inbox.c.generation.in_(generations))
            conn.execute(inbox.update().where(mine).values(status="done", done_at=now()))

    def pending(self) -> list[tuple[int, str]]:
        """This bot's updates not handled yet, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(inbox.c.update_id, inbox.c.payload).where(
                inbox.c.bot_id == self.bot_id, inbox.c.status == "pending")
                .order_by(inbox.c.received_at, inbox.c.update_id))
            return [(int(r[0]), str(r[1])) for r in rows]
