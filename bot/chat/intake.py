"""The update intake's common part: updates taken from the durable inbox and processed
concurrently, a transient failure retried with back-off, a draining stop. The poller
(bot.chat.polling) and the webhook (bot.chat.webhook) take updates in.

python-telegram-bot's own updater acknowledges an update (the next getUpdates offset) before
its handler has run, so a crash loses it. Here each update is stored in the state database
first, acknowledged only once stored, and marked done after its handler finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from telegram import Update
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.chat.context import ChatApp, ChatContext
from bot.chat.retry import Backoff, pause
from bot.engine import UNAVAILABLE, IndexUnavailableError
from bot.i18n import N_, translator_for
from bot.state import DatabaseUnavailable, State, worker_id

__all__ = ["InboxWorker", "is_transient", "on_error", "tell_failure"]

log = logging.getLogger(__name__)
HANDLER_ATTEMPTS = 3  # tries of an update whose handler failed transiently
HANDLER_RETRY_SECONDS = 1.0  # back-off before the second try, doubled for each further one
# A stop waits this long for answers in flight, so the process exits within 10 s
# (docs/operations.md) with time left to close the state.
DRAIN_SECONDS = 8.0
# Updates handled at once; beyond it the intake waits for a free slot (a burst stays stored
# in the inbox) rather than piling up tasks.
MAX_IN_FLIGHT = 64
SORRY = N_("Sorry, something went wrong while answering. Please try again.")


def is_transient(error: BaseException) -> bool:
    """Worth another try: the database busy or away, Telegram unreachable or flooded; not a
    refusal (BadRequest is a NetworkError in python-telegram-bot) nor a bug."""
    if isinstance(error, BadRequest):
        return False
    return isinstance(error, (DatabaseUnavailable, IndexUnavailableError, NetworkError,
                              RetryAfter, TimeoutError))


async def tell_failure(update: Update, error: BaseException | None = None) -> None:
    """Once an update is given up on: one line to its chat (plain text), saying the index is
    unavailable when that was the error (its database away); a pending press is answered."""
    if update.callback_query is not None:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer()
    if update.effective_message is not None:
        with contextlib.suppress(TelegramError):
            said = UNAVAILABLE if isinstance(error, IndexUnavailableError) else SORRY
            sorry = translator_for(update.effective_user).say(said)
            await update.effective_message.reply_text(sorry, parse_mode=None,
                                                      link_preview_options=None)


async def on_error(update: object, context: ChatContext) -> None:
    """Log the error and record it for the inbox worker, which retries a transient one and
    tells the user once when it gives up (InboxWorker._handle)."""
    log.error("error while handling an update: %s", context.error, exc_info=context.error)
    if isinstance(update, Update) and context.error is not None:
        context.bot_data.failures[id(update)] = context.error


class InboxWorker:
    """Processes updates from the durable inbox concurrently; subclasses take them in."""

    def __init__(self, app: ChatApp, state: State, worker: str = "") -> None:
        self.app = app
        self.state = state
        self.worker = worker or worker_id()
        self.stopping = asyncio.Event()
        self.in_flight: set[asyncio.Task[None]] = set()
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

    def _intake_ended(self, task: asyncio.Task[None]) -> None:
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
        backoff = Backoff()
        while not self.stopping.is_set():
            try:
                await self.app.initialize()
                return True
            except InvalidToken:
                log.error("Telegram refused the token (setting TELEGRAM_BOT_TOKEN)")
                return False
            except NetworkError as err:  # TimedOut among them
                delay = backoff.next()
                log.warning("Bot API unreachable at start (%s); retrying in %.0f s", err, delay)
                await pause(delay, self.stopping)
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
        (ChatContext.progress); when it is given up on, the user is told once."""
        memory = self.app.bot_data
        backoff = Backoff(HANDLER_RETRY_SECONDS)
        try:
            for attempt in range(1, HANDLER_ATTEMPTS + 1):
                await self.app.process_update(update)
                error = memory.take_failure(update)
                if error is None:
                    return
                if not is_transient(error) or attempt == HANDLER_ATTEMPTS:
                    log.warning("update %s failed (%s: %s); the user is told", update.update_id,
                                type(error).__name__, error)
                    await tell_failure(update, error)
                    return
                delay = backoff.next()
                log.warning("update %s failed (%s: %s); retrying in %.0f s", update.update_id,
                            type(error).__name__, error, delay)
                await pause(delay)
        finally:
            memory.forget_progress(update)

    def _record_done(self, update_id: int, payload: str, handled: float) -> None:
        """In the bookkeeper thread: the log line follows the commit at once, not whenever the
        busy event loop resumes the handler, so a log read after a crash is exact."""
        self.state.inbox.done(update_id, payload)
        log.debug("update %s done; recorded %.1f ms after its handler finished", update_id,
                  (time.perf_counter() - handled) * 1000)
