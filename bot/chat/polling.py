"""Long polling with a durable inbox, back-off while Telegram is away, and a draining stop.

python-telegram-bot's own updater acknowledges an update (the next getUpdates offset) before
its handler has run, so a crash loses it. Here each update is stored in the state database
first, acknowledged only by the following getUpdates call, and marked done after its handler
finished; pending ones are processed again at start, and the inbox tells redeliveries from new
updates (bot, `update_id` and content), so no offset is ever taken from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from telegram import Update
from telegram.error import InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.chat import handlers
from bot.state.store import State

log = logging.getLogger(__name__)
HANDLER_ATTEMPTS = 3  # tries of an update whose handler failed transiently
HANDLER_RETRY_SECONDS = 1.0  # back-off before the second try, doubled for each further one
POLL_TIMEOUT = 25
MAX_BACKOFF = 30.0
DRAIN_SECONDS = 8.0
MAX_IN_FLIGHT = 64


class InboxWorker:
    """Processes updates from the durable inbox concurrently; subclasses take them in."""

    def __init__(self, app: Application, state: State, worker: str = "") -> None:
        self.app = app
        self.state = state
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}"
        self.stopping = asyncio.Event()
        self.in_flight: set[asyncio.Task] = set()
        self.failed = False
        # update ids this worker has taken and not finished, counted: two may share an id
        self.claimed: Counter[int] = Counter()
        self.slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        # Marking an update done is the step between a sent answer and its record: its own
        # thread keeps it from queueing behind inbox writes of a burst.
        self.bookkeeper = ThreadPoolExecutor(1, thread_name_prefix="inbox-done")

    async def run(self) -> None:
        """Serve until SIGTERM or SIGINT, then drain: answers in flight are still sent."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        if not await self._initialize():
            self.state.close()
            return
        try:
            if self.app.post_init is not None:
                await self.app.post_init(self.app)
            await self.app.start()
            intake = asyncio.create_task(self.take_in())
            intake.add_done_callback(self._intake_ended)
            await self.stopping.wait()
            log.info("stopping: no new updates taken, %d answers in flight", len(self.in_flight))
            intake.cancel()
            await self.stop_intake()
            if self.in_flight:
                await asyncio.wait(self.in_flight, timeout=DRAIN_SECONDS)
            await self.app.stop()
        finally:
            if self.app.running:
                await self.app.stop()
            await self.app.shutdown()
            self.state.close()

    def _intake_ended(self, task: asyncio.Task) -> None:
        """Intake that fails (a port already in use, say) stops the bot with the reason,
        instead of leaving it running deaf."""
        if not task.cancelled() and task.exception() is not None:
            log.error("cannot take updates in: %s; stopping", task.exception())
            self.failed = True
            self.stopping.set()

    async def take_in(self) -> None:
        raise NotImplementedError

    async def stop_intake(self) -> None:
        """Stop taking updates in (before the drain)."""

    async def _initialize(self) -> bool:
        """getMe until the Bot API answers (it may be down when the bot starts)."""
        backoff = 1.0
        while not self.stopping.is_set():
            try:
                await self.app.initialize()
                return True
            except InvalidToken:
                log.error("Telegram refused the token (setting TELEGRAM_BOT_TOKEN)")
                return False
            except (NetworkError, TimedOut) as err:
                log.warning("Bot API unreachable at start (%s); retrying in %.0f s", err, backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
        return False


    async def _spawn(self, update_id: int, payload: str) -> None:
        self.claimed[update_id] += 1
        await self.slots.acquire()
        task = asyncio.create_task(self._process(update_id, payload))
        self.in_flight.add(task)
        task.add_done_callback(self.in_flight.discard)

    async def _process(self, update_id: int, payload: str) -> None:
        try:
            update = Update.de_json(json.loads(payload), self.app.bot)
            await self._handle(update)
            await asyncio.get_running_loop().run_in_executor(
                self.bookkeeper, self._record_done, update_id, payload, time.perf_counter())
        except Exception:
            log.exception("update %s failed; it stays pending for the next start", update_id)
        finally:
            self.claimed[update_id] -= 1
            if self.claimed[update_id] <= 0:
                del self.claimed[update_id]
            self.slots.release()

    async def _handle(self, update: Update) -> None:
        """Run the handlers; a transient failure (database busy, Telegram away) is tried again
        with back-off up to HANDLER_ATTEMPTS times, what is handled already is not repeated
        (handlers.progress); when it is given up on, the user is told once."""
        try:
            for attempt in range(1, HANDLER_ATTEMPTS + 1):
                await self.app.process_update(update)
                error = handlers.take_failure(self.app, update)
                if error is None:
                    return
                if not handlers.is_transient(error) or attempt == HANDLER_ATTEMPTS:
                    log.warning("update %s failed (%s: %s); the user is told", update.update_id,
                                type(error).__name__, error)
                    await handlers.tell_failure(update)
                    return
                delay = HANDLER_RETRY_SECONDS * 2 ** (attempt - 1)
                log.warning("update %s failed (%s: %s); retrying in %.0f s", update.update_id,
                            type(error).__name__, error, delay)
                await asyncio.sleep(delay)
        finally:
            handlers.forget_progress(self.app, update)

    def _record_done(self, update_id: int, payload: str, handled: float) -> None:
        """In the bookkeeper thread: the log line follows the commit at once, not whenever the
        busy event loop resumes the handler, so a log read after a crash is exact."""
        self.state.inbox.done(update_id, payload)
        log.debug("update %s done; recorded %.1f ms after its handler finished", update_id,
                  (time.perf_counter() - handled) * 1000)


class Poller(InboxWorker):
    """Long polling: the only replica, so what was pending at the last stop is taken first."""

    async def take_in(self) -> None:
        for update_id, payload in await asyncio.to_thread(self.state.inbox.pending):
            log.info("processing update %s left pending before the last stop", update_id)
            await self._spawn(update_id, payload)
        await self._fetch_loop()

    async def _fetch_loop(self) -> None:
        # No offset but right after a batch: getUpdates then returns what Telegram holds
        # unconfirmed, and the inbox tells redeliveries from new updates. An offset from the
        # database would make the bot deaf when the Bot API numbers afresh (another token on
        # this database, a restarted server): updates below it are dropped unseen.
        offset: int | None = None
        backoff = 1.0
        while not self.stopping.is_set():
            try:
                updates = await self.app.bot.get_updates(
                    offset=offset, timeout=POLL_TIMEOUT, allowed_updates=Update.ALL_TYPES,
                    read_timeout=POLL_TIMEOUT + 10)
                backoff = 1.0
            except InvalidToken:
                log.error("Telegram refused the token (setting TELEGRAM_BOT_TOKEN); stopping")
                self.stopping.set()
                return
            except RetryAfter as err:
                await asyncio.sleep(float(err.retry_after.total_seconds()
                                          if hasattr(err.retry_after, "total_seconds")
                                          else err.retry_after))
                continue
            except (NetworkError, TimedOut) as err:
                log.warning("Bot API unreachable (%s); retrying in %.0f s", err, backoff)
                offset = None  # the server may come back numbering afresh
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
                continue
            except Exception:
                log.exception("getUpdates failed unexpectedly; retrying in %.0f s", backoff)
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
                continue
            if not updates:
                offset = None  # everything received is confirmed by now
                continue
            stored = [(u.update_id, json.dumps(u.to_dict())) for u in updates]
            try:
                fresh = set(await asyncio.to_thread(self.state.inbox.add, stored, self.worker))
            except Exception:
                # Not stored, so not acknowledged either: the same updates come again.
                log.exception("could not store updates in the inbox; retrying in %.0f s",
                              backoff)
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
                continue
            offset = updates[-1].update_id + 1
            for update_id, payload in stored:
                if update_id in fresh:
                    await self._spawn(update_id, payload)
