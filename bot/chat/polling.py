"""Long polling with the durable inbox (bot.chat.intake), back-off while Telegram is away.

Each update is stored in the state database first, acknowledged only by the following
getUpdates call, and marked done after its handler finished; pending ones are processed again
at start, and the inbox tells redeliveries from new updates (bot, `update_id` and content), so no
offset is ever taken from the database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging

from telegram import Update
from telegram.error import InvalidToken, NetworkError, RetryAfter

from bot.chat.intake import InboxWorker
from bot.chat.pages import ArticleServer
from bot.chat.retry import Backoff, pause

__all__ = ["POLL_TIMEOUT", "Poller"]

log = logging.getLogger(__name__)
POLL_TIMEOUT = 25


class Poller(InboxWorker):
    """Long polling: the only replica, so what was pending at the last stop is taken first.
    With `PUBLIC_URL` set, the article pages are served beside it (bot.article_page)."""

    pages: ArticleServer | None = None

    async def take_in(self) -> None:
        services = self.app.bot_data.wired
        if services is not None and services.settings.public_url and self.pages is None:
            self.pages = ArticleServer(services.engine, self.state, services.settings)
            self.pages.start()  # a port in use stops the bot with the reason (_intake_ended)
        for update_id, payload in await asyncio.to_thread(self.state.inbox.pending):
            log.info("processing update %s left pending before the last stop", update_id)
            await self._spawn(update_id, payload)
        await self._fetch_loop()

    async def stop_intake(self) -> None:
        if self.pages is not None:
            self.pages.stop()

    async def _fetch_loop(self) -> None:
        # No offset but right after a batch: getUpdates then returns what Telegram holds
        # unconfirmed, and the inbox tells redeliveries from new updates. An offset from the
        # database would make the bot deaf when the Bot API numbers afresh (another token on
        # this database, a restarted server): updates below it are dropped unseen.
        offset: int | None = None
        backoff = Backoff()
        while not self.stopping.is_set():
            updates, offset = await self._fetch(offset, backoff)
            if updates is None:
                continue
            if not updates:
                offset = None  # everything received is confirmed by now
                continue
            if await self._take(updates, backoff):
                # Acknowledges the batch (Telegram forgets what is below the offset): only
                # now that it is stored in the inbox.
                offset = updates[-1].update_id + 1

    async def _fetch(self, offset: int | None,
                     backoff: Backoff) -> tuple[tuple[Update, ...] | None, int | None]:
        """One getUpdates call: (its updates, the offset to go on with); no updates (None)
        when it failed, after waiting as the failure asks."""
        try:
            # A long poll: Telegram answers within POLL_TIMEOUT seconds even with nothing
            # new, so the read waits 10 s longer before taking the silence for an outage.
            updates = await self.app.bot.get_updates(
                offset=offset, timeout=POLL_TIMEOUT, allowed_updates=Update.ALL_TYPES,
                read_timeout=POLL_TIMEOUT + 10)
        except InvalidToken:
            log.error("Telegram refused the token (setting TELEGRAM_BOT_TOKEN); stopping")
            self.stopping.set()
            return None, offset
        except RetryAfter as err:
            # Flood control says how long to wait: exactly that, no back-off on top.
            await asyncio.sleep(_seconds(err.retry_after))
            return None, offset
        except NetworkError as err:  # TimedOut among them
            delay = backoff.next()
            log.warning("Bot API unreachable (%s); retrying in %.0f s", err, delay)
            await pause(delay)
            return None, None  # the server may come back numbering afresh
        except Exception:
            delay = backoff.next()
            log.exception("getUpdates failed unexpectedly; retrying in %.0f s", delay)
            await pause(delay)
            return None, offset
        backoff.reset()
        return updates, offset

    async def _take(self, updates: tuple[Update, ...], backoff: Backoff) -> bool:
        """Store a batch in the inbox and handle the updates it had not seen; False when it
        could not be stored (after a back-off)."""
        stored = [(u.update_id, json.dumps(u.to_dict())) for u in updates]
        try:
            fresh = set(await asyncio.to_thread(self.state.inbox.add, stored, self.worker))
        except Exception:
            # Not stored, so not acknowledged either: the same updates come again.
            delay = backoff.next()
            log.exception("could not store updates in the inbox; retrying in %.0f s", delay)
            await pause(delay)
            return False
        for update_id, payload in stored:
            if update_id in fresh:
                await self._spawn(update_id, payload)
        return True


def _seconds(wait: float | dt.timedelta) -> float:
    """RetryAfter.retry_after: a timedelta, or seconds in older python-telegram-bot."""
    return wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)
