"""What the news fetcher has seen (feed items, canonical URLs, content hashes) and named
lease locks, so that only one fetch runs at a time, across replicas too."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.schema import fetched, insert_ignore, locks, now


class Ledger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _one(self, condition: Any) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(fetched).where(condition).order_by(
                fetched.c.fetched_at).limit(1)).mappings().first()
        return dict(row) if row else None

    def item(self, item_key: str) -> dict[str, Any] | None:
        return self._one(fetched.c.item_key == item_key)

    def by_link(self, link: str) -> dict[str, Any] | None:
        """A page already fetched through this link, by any feed."""
        return self._one(sa.and_(fetched.c.link == link, fetched.c.path.is_not(None)))

    def by_url(self, url: str) -> dict[str, Any] | None:
        return self._one(sa.and_(fetched.c.url == url, fetched.c.path.is_not(None)))

    def by_hash(self, content_hash: str) -> dict[str, Any] | None:
        return self._one(sa.and_(fetched.c.content_hash == content_hash,
                                 fetched.c.path.is_not(None)))

    def record(self, item_key: str, **values: Any) -> None:
        """Insert or update the item's row."""
        values["fetched_at"] = now()
        with self.engine.begin() as conn:
            updated = conn.execute(fetched.update().where(fetched.c.item_key == item_key)
                                   .values(**values)).rowcount
            if not updated:
                conn.execute(fetched.insert().values(item_key=item_key, **values))

    def repoint(self, url: str, path: str, content_hash: str) -> None:
        """Every item of this page follows its file and content (an update in place)."""
        with self.engine.begin() as conn:
            conn.execute(fetched.update().where(fetched.c.url == url).values(
                path=path, content_hash=content_hash))

    # ---- named lease locks --------------------------------------------------------------
    def acquire(self, name: str, holder: str, seconds: float) -> bool:
        """Take the lock unless another holder has it and its lease has not run out."""
        stamp = now()
        expires = stamp + dt.timedelta(seconds=seconds)
        with self.engine.begin() as conn:
            taken = conn.execute(locks.update().where(
                locks.c.name == name,
                sa.or_(locks.c.expires_at < stamp, locks.c.holder == holder),
            ).values(holder=holder, expires_at=expires)).rowcount
            if taken:
                return True
            inserted = conn.execute(insert_ignore(self.engine, locks, ["name"]).values(
                name=name, holder=holder, expires_at=expires)).first()
            return inserted is not None

    def release(self, name: str, holder: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(locks.delete().where(locks.c.name == name, locks.c.holder == holder))
