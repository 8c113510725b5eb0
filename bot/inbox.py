"""The durable inbox: every update is stored before Telegram is told it arrived.

An update is claimed by the replica that stored it; a claim older than its lease (the replica
died mid-update) is taken over by another replica, and `update_id` de-duplicates redeliveries.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.schema import inbox, insert_ignore, now


class Inbox:
    """Updates stored, claimed and marked done, shared by every replica of the bot."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def add(self, updates: list[tuple[int, str]], worker: str = "") -> list[int]:
        """Store updates, claimed by `worker`; returns the ids not seen before."""
        fresh: list[int] = []
        with self.engine.begin() as conn:
            for update_id, payload in updates:
                result = conn.execute(insert_ignore(self.engine, inbox, ["update_id"]).values(
                    update_id=update_id, payload=payload, status="pending",
                    received_at=now(), claimed_by=worker or None, claimed_at=now()))
                if result.first() is not None:
                    fresh.append(update_id)
        return fresh

    def claim_stale(self, worker: str, lease_seconds: float,
                    limit: int = 50) -> list[tuple[int, str]]:
        """Pending updates whose claim is older than the lease, now claimed by `worker`."""
        expired = now() - dt.timedelta(seconds=lease_seconds)
        with self.engine.begin() as conn:
            query = (sa.select(inbox.c.update_id, inbox.c.payload).where(
                inbox.c.status == "pending",
                sa.or_(inbox.c.claimed_at.is_(None), inbox.c.claimed_at < expired),
            ).order_by(inbox.c.update_id).limit(limit))
            if self.engine.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = [(int(r[0]), str(r[1])) for r in conn.execute(query)]
            if rows:
                conn.execute(inbox.update().where(inbox.c.update_id.in_([r[0] for r in rows]))
                             .values(claimed_by=worker, claimed_at=now()))
        return rows

    def renew(self, worker: str, update_ids: list[int]) -> None:
        """Keep this worker's claims alive while their answers are being worked on."""
        with self.engine.begin() as conn:
            conn.execute(inbox.update().where(
                inbox.c.update_id.in_(update_ids), inbox.c.claimed_by == worker,
                inbox.c.status == "pending").values(claimed_at=now()))

    def done(self, update_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(inbox.update().where(inbox.c.update_id == update_id).values(
                status="done", done_at=now()))

    def pending(self) -> list[tuple[int, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(inbox.c.update_id, inbox.c.payload).where(
                inbox.c.status == "pending").order_by(inbox.c.update_id))
            return [(int(r[0]), str(r[1])) for r in rows]

    def next_offset(self) -> int:
        """The getUpdates offset that acknowledges everything already stored."""
        with self.engine.connect() as conn:
            latest = conn.execute(sa.select(sa.func.max(inbox.c.update_id))).scalar()
        return int(latest) + 1 if latest is not None else 0
