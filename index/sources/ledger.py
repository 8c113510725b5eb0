"""What the news fetcher has seen (feed items, canonical URLs, content hashes) and named
lease locks, so that only one fetch runs at a time, across replicas too."""

from __future__ import annotations

import logging
import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from index.database import Claims, fetched, locks, now, width

log = logging.getLogger(__name__)
# The `fetched` columns' lengths (PostgreSQL enforces them; SQLite does not).
LIMITS: dict[str, int] = {c.name: width(c) for c in fetched.columns
                          if isinstance(getattr(c.type, "length", None), int)}
LOCKS = Claims(locks, holder="holder", taken_at=None, expires_at="expires_at")


def too_long(**values: Any) -> list[str]:
    """The names of the values that do not fit their `fetched` column."""
    return [name for name, value in values.items() if isinstance(value, str)
            and name in LIMITS and len(value) > LIMITS[name]]


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

    def by_url(self, url: str, feed: str | None = None) -> dict[str, Any] | None:
        """A page with this canonical URL (of this feed only, when given)."""
        condition = sa.and_(fetched.c.url == url, fetched.c.path.is_not(None))
        if feed is not None:
            condition = sa.and_(condition, fetched.c.feed == feed)
        return self._one(condition)

    def written_for(self, path: str, feed: str) -> bool:
        """Whether this feed has an item in this corpus file."""
        return self._one(sa.and_(fetched.c.path == path, fetched.c.feed == feed)) is not None

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

    def repoint(self, path: str, content_hash: str) -> None:
        """Every item in this file (of any feed) follows its new content (an update in place)."""
        with self.engine.begin() as conn:
            conn.execute(fetched.update().where(fetched.c.path == path).values(
                content_hash=content_hash))

    # ---- named lease locks --------------------------------------------------------------
    def acquire(self, name: str, holder: str, seconds: float) -> bool:
        """Take the lock unless another holder has it and its lease has not run out."""
        with self.engine.begin() as conn:
            return LOCKS.acquire(conn, {"name": name}, holder, seconds)

    def renew(self, name: str, holder: str, seconds: float) -> bool:
        """Extend the holder's lease; False when it no longer holds the lock."""
        with self.engine.begin() as conn:
            return bool(LOCKS.renew(conn, holder, locks.c.name == name, seconds=seconds))

    def release(self, name: str, holder: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(locks.delete().where(locks.c.name == name, LOCKS.held_by(holder)))

    def lease(self, name: str, holder: str, seconds: float) -> Lease:
        return Lease(self, name, holder, seconds)


class Lease:
    """A lock held for as long as a job runs: `held` says whether it was taken; a thread renews
    it every third of its term (`lost` if another holder took it over); released on exit."""

    def __init__(self, ledger: Ledger, name: str, holder: str, seconds: float) -> None:
        self.ledger, self.name, self.holder, self.seconds = ledger, name, holder, seconds
        self.held = self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"lease-{name}", daemon=True)

    def __enter__(self) -> Lease:
        self.held = self.ledger.acquire(self.name, self.holder, self.seconds)
        if self.held:
            self._thread.start()
        return self

    def _renew(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                renewed = self.ledger.renew(self.name, self.holder, self.seconds)
            except Exception as err:  # a busy database: try again at the next beat
                log.warning("could not renew the %s lease: %s", self.name, err)
                continue
            if not renewed:
                self.lost = True
                log.warning("the %s lease was taken over by another holder", self.name)
                return

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self.held:
            self._thread.join()
            self.ledger.release(self.name, self.holder)
