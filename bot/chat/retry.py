"""The one back-off of the Telegram side: doubling delays, capped (start-up, polling, setWebhook,
handler retries, replies, the state database at start)."""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["MAX_BACKOFF", "Backoff", "pause"]

MAX_BACKOFF = 30.0


class Backoff:
    """Delays `first`, 2 x `first`, 4 x `first`... up to `cap`; `waited` sums those taken."""

    def __init__(self, first: float = 1.0, cap: float = MAX_BACKOFF) -> None:
        self.first = first
        self.cap = cap
        self.delay = first
        self.waited = 0.0

    def next(self) -> float:
        """The delay to wait now (the next one doubles)."""
        delay = self.delay
        self.delay = min(self.cap, delay * 2)
        self.waited += delay
        return delay

    def reset(self) -> None:
        """After a success: the next failure waits `first` again."""
        self.delay = self.first



async def pause(delay: float, stopping: asyncio.Event | None = None) -> None:
    """Wait `delay` seconds, or less when `stopping` is set meanwhile."""
    if stopping is None:
        await asyncio.sleep(delay)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), delay)
