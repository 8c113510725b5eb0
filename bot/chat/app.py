"""The Telegram application: its wiring (typed context, defaults, the handlers, the jobs), start-up
and serving by long polling or webhook."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from telegram import (
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    ChosenInlineResultHandler,
    Defaults,
    InlineQueryHandler,
    JobQueue,
    MessageHandler,
    MessageReactionHandler,
    TypeHandler,
    filters,
)

import bot.chat.buttons as buttons
import bot.chat.commands as commands
import bot.chat.inline as inline
import bot.chat.jobs as jobs
import bot.chat.membership as membership
import bot.chat.questions as questions
import bot.chat.reactions as reactions
import bot.chat.sources as sources
from bot.chat.access import allowlist_gate
from bot.chat.callbacks import Kind, pattern
from bot.chat.context import CONTEXT_TYPES, ChatApp, ChatContext, Services
from bot.chat.intake import InboxWorker, on_error
from bot.chat.polling import Poller
from bot.chat.redact import install_redaction
from bot.chat.retry import Backoff
from bot.chat.webhook import WebhookServer, webhook_secret
from bot.engine import Engine, open_engine
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, translator
from bot.settings import Settings
from bot.state import DatabaseUnavailable, State, bot_id_from_token

__all__ = ["DEFAULTS", "build_application", "migrate_with_retry", "run_bot"]

log = logging.getLogger(__name__)
# Every message the bot sends is HTML without a link preview, unless it says otherwise.
DEFAULTS = Defaults(parse_mode=ParseMode.HTML,
                    link_preview_options=LinkPreviewOptions(is_disabled=True))


def build_application(settings: Settings, engine: Engine, state: State) -> ChatApp:
    """The handlers and jobs; updates come in through bot.chat.polling or bot.chat.webhook, which
    store each one in the durable inbox before it is acknowledged."""
    assert settings.telegram_bot_token
    app = (
        ApplicationBuilder()
        .updater(None)
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .context_types(CONTEXT_TYPES)
        .job_queue(JobQueue[ChatContext]())
        .defaults(DEFAULTS)
        .concurrent_updates(True)
        .rate_limiter(AIORateLimiter(max_retries=5))
        .post_init(_post_init)
        .build()
    )
    services = Services(
        settings=settings, engine=engine, state=state,
        executor=ThreadPoolExecutor(settings.answer_workers, thread_name_prefix="answer"),
        planner=ThreadPoolExecutor(1, thread_name_prefix="plan"))
    app.bot_data.wired = services
    # Updates are keyed by the bot that received them: another token on this database
    # must not take its updates for this one's.
    state.inbox.bind(bot_id_from_token(settings.telegram_bot_token))
    app.bot_data.planned_version = jobs.plan_at_start(services)
    _add_handlers(app)
    assert app.job_queue is not None  # python-telegram-bot[job-queue] is a dependency
    jobs.schedule(app.job_queue, settings)
    return app


def _add_handlers(app: ChatApp) -> None:
    app.add_handler(TypeHandler(Update, allowlist_gate), group=-1)
    app.add_handlers(commands.command_handlers())
    app.add_handlers(_button_handlers())
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGES,
                                   questions.on_text))
    app.add_handler(MessageHandler(
        ~filters.TEXT & ~filters.COMMAND & ~filters.StatusUpdate.ALL
        & filters.UpdateType.MESSAGE, questions.on_other))
    app.add_handler(InlineQueryHandler(inline.on_inline_query))
    app.add_handler(ChosenInlineResultHandler(inline.on_chosen_result))
    app.add_handler(MessageHandler(filters.UpdateType.GUEST_MESSAGE, inline.on_guest_message))
    app.add_handler(ChatMemberHandler(membership.on_my_chat_member,
                                      ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(MessageReactionHandler(reactions.on_reaction))
    app.add_error_handler(on_error)


def _button_handlers() -> list[CallbackQueryHandler[ChatContext, None]]:
    """One handler per kind of button (the data's first letter), then one for data of no kind
    the bot makes (a client may send any)."""
    by_kind = {
        Kind.ARTICLE: buttons.on_article,
        Kind.COMPARE: buttons.on_compare,
        Kind.FEEDBACK: buttons.on_feedback,
        Kind.MORE: buttons.on_more,
        Kind.PARAGRAPH: buttons.on_paragraph,
        Kind.SOURCES: sources.on_source_button,
    }
    handlers = [CallbackQueryHandler(callback, pattern=pattern(kind))
                for kind, callback in by_kind.items()]
    return [*handlers, CallbackQueryHandler(buttons.on_other_button)]


async def _post_init(app: ChatApp) -> None:
    """The command menus and description: for private chats and for groups, in English for
    everyone and in each language the bot speaks (Telegram shows a user the one of their
    language_code), then the menu of any other chat."""
    scopes = ((BotCommandScopeAllPrivateChats(), "private"),
              (BotCommandScopeAllGroupChats(), "group"))
    try:
        for language in LANGUAGES:  # the default language first: it is everyone's fallback
            tr = translator(language)
            code = None if language == DEFAULT_LANGUAGE else language
            for scope, chats in scopes:  # groups and private chats get their own menus
                await app.bot.set_my_commands(commands.menu(tr, chats), scope=scope,
                                              language_code=code)
            if code is not None:
                await app.bot.set_my_commands(commands.menu(tr), language_code=code)
            await app.bot.set_my_description(tr.gettext(commands.DESCRIPTION),
                                             language_code=code)
        # The menu without scope last: tests (and operators) see the bot ready once it is.
        await app.bot.set_my_commands(commands.menu())
    except Exception as err:  # the menu is a convenience; never fail start-up for it
        log.warning("could not register the command list: %s", err)


def migrate_with_retry(state: State, max_wait: float = 60.0) -> None:
    """Upgrade the state database, waiting with back-off while it cannot be reached."""
    backoff = Backoff(1.0, cap=max_wait)
    while True:
        try:
            state.migrate()
            return
        except DatabaseUnavailable as err:
            reason = str(err.orig).strip().splitlines()[0] if err.orig else str(err)
            delay = backoff.next()
            log.error("Setting DATABASE_URL: the database cannot be reached (%s); "
                      "retrying in %.0f s", reason, delay)
            time.sleep(delay)


def run_bot(settings: Settings) -> int:
    """Load the model, index and state once, then serve Telegram until stopped."""
    assert settings.telegram_bot_token
    install_redaction(settings.telegram_bot_token, [webhook_secret(settings)])
    engine, problem = open_engine(settings)
    if engine is None:
        log.error("%s", problem)
        return 2
    if problem:
        log.error("%s The bot starts anyway and picks the index up once it is built.", problem)
    state = State(settings.resolved_database_url)
    migrate_with_retry(state)
    app = build_application(settings, engine, state)
    log.info("bot starting against %s", settings.telegram_base_url)
    worker: InboxWorker
    if settings.telegram_webhook_url:
        worker = WebhookServer(app, state, settings, engine)
    else:
        worker = Poller(app, state)
    asyncio.run(worker.run())
    return 1 if worker.failed else 0
