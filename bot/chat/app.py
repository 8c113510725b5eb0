"""The Telegram application: wiring of handlers, start-up, polling or webhook."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

from telegram import BotCommand, Update
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.chat import commands, handlers
from bot.chat.delivery import deliver
from bot.chat.polling import InboxWorker, Poller
from bot.chat.pushes import plan_pushes
from bot.engine.answer import Engine
from bot.settings import Settings
from bot.state.inbox import bot_id_from_token
from bot.state.store import State
from index.reader import IndexUnavailableError

log = logging.getLogger(__name__)
PLANNER = "planner"  # bot_data key: the push planning thread

COMMANDS = [
    BotCommand("ask", "Ask a question about the news articles"),
    BotCommand("latest", "The newest articles"),
    BotCommand("subscribe", "Get a message for each new article"),
    BotCommand("unsubscribe", "Stop messages for new articles"),
    BotCommand("follow", "Get new articles on a topic, e.g. /follow Libya"),
    BotCommand("unfollow", "Stop following a topic"),
    BotCommand("following", "What this chat follows"),
    BotCommand("help", "How to use the bot"),
    BotCommand("about", "What the bot knows: articles, dates, model"),
    BotCommand("start", "Greeting and example questions"),
    BotCommand("privacy", "What the bot stores about you"),
    BotCommand("forget", "Delete everything stored about you"),
]
DESCRIPTION = ("Ask about the news articles I hold: I reply with the sentences that answer it, "
               "quoted word for word, with their source. I never make up an answer.")


class RedactToken(logging.Filter):
    """Keep the bot token (plain or percent-encoded, and its secret half alone) and the webhook
    secret out of every log line: the message, its arguments, and the formatted traceback of
    the exception with its causes (URLs of the Bot API contain the token; at DEBUG
    python-telegram-bot logs setWebhook's parameters, the secret among them)."""

    def __init__(self, token: str, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.token = token
        self.secrets = [s for s in secrets if s]
        self.formatter = logging.Formatter()
        forms = [token, quote(token, safe="")]
        half = token.partition(":")[2]
        if len(half) >= 8:  # the part after the colon is what makes the token secret
            forms.append(half)
        # Case-insensitive: python-telegram-bot lowercases Telegram's error descriptions.
        self.replacements = [(re.compile(re.escape(form), re.IGNORECASE), "<token>")
                             for form in forms if form]
        self.replacements += [(re.compile(re.escape(secret), re.IGNORECASE), "<secret>")
                              for secret in self.secrets]

    def redact(self, text: str) -> str:
        for secret, placeholder in self.replacements:
            text = secret.sub(placeholder, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.replacements:
            return True
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            # Formatted here, chained causes and all, so the handler's formatter uses this text.
            record.exc_text = self.formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install_redaction(token: str, secrets: Iterable[str] = ()) -> None:
    redact = RedactToken(token, secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)


def build_application(settings: Settings, engine: Engine, state: State) -> Application:
    """The handlers and jobs; updates come in through bot.chat.polling or bot.chat.webhook, which
    store each one in the durable inbox before it is acknowledged."""
    assert settings.telegram_bot_token
    app = (
        ApplicationBuilder()
        .updater(None)
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .concurrent_updates(True)
        .rate_limiter(AIORateLimiter(max_retries=5))
        .post_init(_post_init)
        .build()
    )
    app.bot_data[handlers.KEY] = handlers.Services(
        settings=settings, engine=engine, state=state,
        executor=ThreadPoolExecutor(settings.answer_workers, thread_name_prefix="answer"))
    # Updates are keyed by the bot that received them: another token on this database
    # must not take its updates for this one's.
    state.inbox.bind(bot_id_from_token(settings.telegram_bot_token))
    # Push planning (follows x new articles x passages) has its own thread: questions are
    # never queued behind it on the answering threads.
    app.bot_data[PLANNER] = ThreadPoolExecutor(1, thread_name_prefix="plan")
    if engine.index is not None:
        # Plan for the index loaded at start before any reload can swap in a newer one: on a
        # new database that index is the baseline, and a build published meanwhile is pushed.
        try:
            plan_pushes(engine, state, settings.follow_threshold)
            app.bot_data["planned_version"] = engine.index.version
        except Exception:  # the bot serves questions anyway; the next reload check retries
            log.exception("push planning failed at start")
    app.add_handler(TypeHandler(Update, handlers.allowlist_gate), group=-1)
    app.add_handler(CommandHandler("start", commands.on_start))
    app.add_handler(CommandHandler("help", commands.on_help))
    app.add_handler(CommandHandler("about", commands.on_about))
    app.add_handler(CommandHandler("ask", handlers.on_ask))
    for name, callback in (("latest", commands.on_latest), ("subscribe", commands.on_subscribe),
                           ("unsubscribe", commands.on_unsubscribe),
                           ("follow", commands.on_follow), ("unfollow", commands.on_unfollow),
                           ("following", commands.on_following), ("stats", commands.on_stats),
                           ("reload", commands.on_reload), ("fetch", commands.on_fetch),
                           ("privacy", commands.on_privacy),
                           ("forget", commands.on_forget)):
        app.add_handler(CommandHandler(name, callback))
    app.add_handler(CallbackQueryHandler(handlers.on_button))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGES,
                                   handlers.on_text))
    app.add_handler(MessageHandler(
        ~filters.TEXT & ~filters.COMMAND & ~filters.StatusUpdate.ALL
        & filters.UpdateType.MESSAGE, handlers.on_other))
    app.add_error_handler(handlers.on_error)
    app.job_queue.run_repeating(_check_index, interval=settings.reload_interval_seconds,
                                first=0.5, name="index-reload")
    app.job_queue.run_repeating(_prune, interval=24 * 3600, first=60, name="retention")
    if settings.fetch_interval_minutes:
        app.job_queue.run_repeating(_fetch_job, interval=settings.fetch_interval_minutes * 60,
                                    first=min(30.0, settings.fetch_interval_minutes * 60),
                                    name="news-fetch")
    app.job_queue.run_repeating(_deliver, interval=settings.push_interval_seconds,
                                first=settings.push_interval_seconds, name="push-delivery")
    return app


async def _post_init(app: Application) -> None:
    try:
        await app.bot.set_my_commands(COMMANDS)
        await app.bot.set_my_description(DESCRIPTION)
    except Exception as err:  # the menu is a convenience; never fail start-up for it
        log.warning("could not register the command list: %s", err)


async def _check_index(context: ContextTypes.DEFAULT_TYPE) -> None:
    await refresh_index(context)


async def refresh_index(context: ContextTypes.DEFAULT_TYPE) -> str:
    """Swap to a newer index when `build_index.py` published one (the old one keeps serving
    when the new one fails to load), then queue pushes for articles not announced yet."""
    svc = handlers.services(context)
    engine = svc.engine
    try:
        changed = await asyncio.to_thread(engine.load)
    except IndexUnavailableError as err:
        if context.bot_data.get("last_index_error") != str(err):
            context.bot_data["last_index_error"] = str(err)
            log.warning("index not (re)loaded: %s", err)
        await _tell_admins(context, f"⚠️ Index not loaded: {err}")
        serving = engine.index.version if engine.index else "none"
        return f"The index could not be loaded: {err} Still serving: {serving}."
    index = engine.index
    if changed:
        log.info("now serving index version %s", index.version if index else "?")
    if index is not None and context.bot_data.get("planned_version") != index.version:
        queued = await asyncio.get_running_loop().run_in_executor(
            context.bot_data[PLANNER], plan_pushes, engine, svc.state,
            svc.settings.follow_threshold)
        context.bot_data["planned_version"] = index.version
        return f"Serving index {index.version}; {queued} pushes queued."
    return f"Serving index {index.version if index else 'none'}; nothing new."


async def _fetch_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    log.info("%s", await fetch_news(context))


async def fetch_news(context: ContextTypes.DEFAULT_TYPE) -> str:
    """Feeds into the corpus, an incremental build, then the hot reload that pushes."""
    from index.sources.feeds import FeedsFileError, fetch_and_build
    from index.sources.ledger import Ledger

    svc = handlers.services(context)
    try:
        summary = await asyncio.to_thread(fetch_and_build, svc.settings,
                                          Ledger(svc.state.engine))
    except FeedsFileError as err:
        return f"Fetch failed: {err}"
    except Exception as err:  # a build that fails leaves the served index as it was
        log.exception("fetch failed")
        return f"Fetch failed: {err}"
    lines = summary.lines()
    if summary.written:
        lines.append(await refresh_index(context))
    return "\n".join(lines)


async def _tell_admins(context: ContextTypes.DEFAULT_TYPE, text: str) -> None:
    """Tell each admin once per distinct problem."""
    if context.bot_data.get("last_admin_alert") == text:
        return
    context.bot_data["last_admin_alert"] = text
    for admin in handlers.services(context).settings.admin_ids:
        try:
            await context.bot.send_message(admin, text)
        except Exception as err:
            log.warning("could not alert admin %s: %s", admin, err)


async def _prune(context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = handlers.services(context)
    gone = await asyncio.to_thread(svc.state.prune, svc.settings.retention_days)
    log.info("retention: %d old rows deleted", gone)


async def _deliver(context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = handlers.services(context)
    sent = await deliver(context.bot, svc.state, svc.settings.push_digest_over)
    if sent:
        log.info("delivered %d pushes", sent)


def migrate_with_retry(state: State, max_wait: float = 60.0) -> None:
    """Upgrade the state database, waiting with back-off while it cannot be reached."""
    import time

    from sqlalchemy.exc import OperationalError

    delay = 1.0
    while True:
        try:
            state.migrate()
            return
        except OperationalError as err:
            reason = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
            log.error("Setting DATABASE_URL: the database cannot be reached (%s); "
                      "retrying in %.0f s", reason, delay)
            time.sleep(delay)
            delay = min(max_wait, delay * 2)


def run_bot(settings: Settings) -> int:
    """Load the model, index and state once, then serve Telegram until stopped."""
    assert settings.telegram_bot_token
    from bot.chat.webhook import webhook_secret

    install_redaction(settings.telegram_bot_token, [webhook_secret(settings)])
    from bot.cli import make_engine

    engine, problem = make_engine(settings)
    if engine is None:
        log.error("%s", problem)
        return 2
    if problem:
        log.error("%s The bot starts anyway and picks the index up once it is built.", problem)
    state = State(settings.resolved_database_url)
    migrate_with_retry(state)
    app = build_application(settings, engine, state)
    log.info("bot starting against %s", settings.telegram_base_url)
    if settings.telegram_webhook_url:
        from bot.chat.webhook import WebhookServer

        worker: InboxWorker = WebhookServer(app, state, settings, engine)
    else:
        worker = Poller(app, state)
    asyncio.run(worker.run())
    return 1 if worker.failed else 0
