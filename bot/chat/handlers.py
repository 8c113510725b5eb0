"""Thin Telegram handlers: parse the update, call the engine, render, reply."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from html import escape

from sqlalchemy.exc import OperationalError
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ChatType
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes

from bot import render
from bot.engine import lookups as sources
from bot.engine.answer import Answer, Engine, Quote
from bot.settings import Settings
from bot.state.store import State
from index.reader import LoadedIndex

log = logging.getLogger(__name__)
KEY = "verbatim"
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
TEXT_ONLY = "I can only read text. Please type your question about the news articles."
PRIVATE_BOT = "This bot is private to some chats; it cannot answer here."
GONE = "That article is no longer in the index."
NO_LONGER = "That answer is no longer available."
SORRY = "Sorry, something went wrong while answering. Please try again."
FULL_PARAGRAPH_PAGES = 3  # messages of quote one press may send; a note says where the rest is
# Keyed by the Update object being handled (the same one through its retries), not its id:
# two updates may share an id (a Bot API numbering afresh while an old one is pending).
FAILURES = "verbatim.failures"  # bot_data: update -> the error its handler raised
PROGRESS = "verbatim.progress"  # bot_data: update -> what its handler already did
MORE_LIMIT = 6
SLOW_DOWN = ("You are asking faster than I can answer well. Please wait a minute, "
             "then ask again.")
SEND_RETRY_SECONDS = 120.0


@dataclass
class Services:
    """What every handler needs, created once at start-up."""

    settings: Settings
    engine: Engine
    state: State
    executor: ThreadPoolExecutor


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.bot_data[KEY]


def progress(context: ContextTypes.DEFAULT_TYPE, update: Update) -> dict:
    """What the handling of `update` already did (limits counted, answer stored, pages sent):
    an update handled again after a transient failure does not repeat it."""
    return context.bot_data.setdefault(PROGRESS, {}).setdefault(id(update), {})


def take_failure(app: Application, update: Update) -> BaseException | None:
    """The error the handlers of `update` raised (recorded by on_error), and forget it."""
    return app.bot_data.get(FAILURES, {}).pop(id(update), None)


def forget_progress(app: Application, update: Update) -> None:
    app.bot_data.get(PROGRESS, {}).pop(id(update), None)


def is_transient(error: BaseException) -> bool:
    """Worth another try: the database busy or away, Telegram unreachable or flooded; not a
    refusal (BadRequest is a NetworkError in python-telegram-bot) nor a bug."""
    if isinstance(error, BadRequest):
        return False
    return isinstance(error, (OperationalError, NetworkError, RetryAfter, TimeoutError))


async def tell_failure(update: Update) -> None:
    """Once an update is given up on: one line to its chat; a pending press is answered."""
    if update.callback_query is not None:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer()
    if update.effective_message is not None:
        with contextlib.suppress(TelegramError):
            await update.effective_message.reply_text(SORRY)


def is_group(message: Message) -> bool:
    return message.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


def addressed_question(message: Message, username: str, bot_id: int) -> str | None:
    """The question in a message meant for the bot, or None when it is not addressed to it."""
    text = message.text or ""
    if not is_group(message):
        return text
    mention = f"@{username}".lower()
    for entity, value in message.parse_entities([MessageEntity.MENTION]).items():
        if value.lower() == mention:
            return (text[:_py_offset(text, entity.offset)] +
                    text[_py_offset(text, entity.offset + entity.length):]).strip()
    reply = message.reply_to_message
    if reply is not None and reply.from_user is not None and reply.from_user.id == bot_id:
        return text
    return None


def _py_offset(text: str, utf16_offset: int) -> int:
    """Telegram offsets count UTF-16 code units; Python strings count code points."""
    units = 0
    for i, char in enumerate(text):
        if units >= utf16_offset:
            return i
        units += 2 if ord(char) > 0xFFFF else 1
    return len(text)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    question = addressed_question(message, context.bot.username, context.bot.id)
    if question is not None:
        await answer_and_reply(message, context, question, progress(context, update),
                               update.update_id)


async def on_ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or message.text is None:
        return
    question = message.text.split(maxsplit=1)[1] if len(message.text.split(maxsplit=1)) > 1 else ""
    if not question.strip():
        await reply(message, escape("Ask a question after /ask, for example: "
                                    "/ask How far is Qasr Bin Ghashir from Tripoli?"))
        return
    await answer_and_reply(message, context, question, progress(context, update),
                           update.update_id)


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice notes...: one polite line (in groups only when addressed)."""
    message = update.effective_message
    if message is None:
        return
    if is_group(message):
        reply_to = message.reply_to_message
        if reply_to is None or reply_to.from_user is None or reply_to.from_user.id != (
                context.bot.id):
            return
    await reply(message, escape(TEXT_ONLY))


def sender_key(message: Message) -> str | None:
    """Whom a message's rate limit counts: the user, or the chat it was posted as (anonymous
    group admins and channels all arrive from one shared bot user)."""
    if message.sender_chat is not None:
        return f"sender_chat:{message.sender_chat.id}"
    return f"user:{message.from_user.id}" if message.from_user is not None else None


async def _over_limit(svc: Services, sender: str | None, chat_id: int) -> int | None:
    """Count one event for the sender and the chat; the count past a limit, or None."""
    loop = asyncio.get_running_loop()
    checks = [(f"chat:{chat_id}", svc.settings.chat_questions_per_minute)]
    if sender is not None:
        checks.insert(0, (sender, svc.settings.user_questions_per_minute))
    for key, limit in checks:
        count = await loop.run_in_executor(svc.executor, svc.state.count_event, key)
        if count > limit:
            return count - limit
    return None


async def within_limits(message: Message, svc: Services, memo: dict | None = None) -> bool:
    """Per-user and per-chat question limits; the first refusal in a minute says so."""
    memo = {} if memo is None else memo
    if "allowed" not in memo:
        over = await _over_limit(svc, sender_key(message), message.chat_id)
        memo["allowed"], memo["first_refusal"] = over is None, over == 1
    if not memo["allowed"] and memo.pop("first_refusal", False):
        await reply(message, escape(SLOW_DOWN))
    return memo["allowed"]


async def answer_and_reply(message: Message, context: ContextTypes.DEFAULT_TYPE,
                           question: str, memo: dict | None = None,
                           update_id: int | None = None) -> None:
    """Answer a question and reply; the answer is stored (for its buttons) unless its user
    ran /forget meanwhile (`update_id`: the asking update, looked for in the inbox)."""
    svc = services(context)
    memo = {} if memo is None else memo
    if not await within_limits(message, svc, memo):
        return
    try:
        await context.bot.send_chat_action(message.chat_id, ChatAction.TYPING,
                                           message_thread_id=_thread(message))
    except TelegramError as err:
        log.info("typing action failed: %s", err)
    loop = asyncio.get_running_loop()
    answer: Answer = await loop.run_in_executor(
        svc.executor, lambda: svc.engine.answer(question, limit=MORE_LIMIT))
    stored = [asdict(q) for q in answer.quotes]
    answer_id = memo.get("answer_id")
    if answer_id is None and not answer.error and not answer.help:
        user = message.from_user.id if message.from_user else None
        answer_id = await loop.run_in_executor(
            svc.executor, lambda: svc.state.record_answer(
                message.chat_id, user, answer.to_json(), stored, answer.index_version,
                update_id))
        memo["answer_id"] = answer_id
    shown = answer.quotes[:svc.settings.max_quotes]
    pages = await loop.run_in_executor(
        svc.executor, lambda: render.answer_html(answer, quotes=shown))
    markup = keyboard(answer, answer_id, more=len(answer.quotes) > len(shown))
    await _send_pages(message, pages, memo, markup)


async def _send_pages(message: Message, pages: list[str], memo: dict,
                      markup: InlineKeyboardMarkup | None = None) -> None:
    """Send the pages not sent yet by an earlier attempt; the markup goes on the last."""
    for i, page in enumerate(pages):
        if i < memo.get("sent", 0):
            continue
        await reply(message, page, markup if i == len(pages) - 1 else None)
        memo["sent"] = i + 1


def keyboard(answer: Answer, answer_id: int | None, more: bool) -> InlineKeyboardMarkup | None:
    if answer_id is None:
        return None
    if answer.abstained:
        rows = [[InlineKeyboardButton(f"📄 {render.shorten(s['title'], 60)}",
                                      callback_data=f"a:{answer_id}:{i}")]
                for i, s in enumerate(answer.suggestions)]
        return InlineKeyboardMarkup(rows) if rows else None
    first = [InlineKeyboardButton("Full paragraph", callback_data=f"p:{answer_id}:0")]
    if more:
        first.append(InlineKeyboardButton("More sources", callback_data=f"m:{answer_id}"))
    return InlineKeyboardMarkup([first, [
        InlineKeyboardButton("👍", callback_data=f"f:{answer_id}:1"),
        InlineKeyboardButton("👎", callback_data=f"f:{answer_id}:-1"),
    ]])


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The buttons under an answer, honoured only in the chat the answer was given in and
    within the sender's and chat's rate limits; each press is answered exactly once."""
    query = update.callback_query
    if query is None or not query.data:
        return
    svc = services(context)
    memo = progress(context, update)

    async def answer(text: str | None = None) -> None:
        if not memo.get("answered"):
            await query.answer(text)
            memo["answered"] = True

    parts = query.data.split(":")
    try:
        kind, answer_id = parts[0], int(parts[1])
        arg = int(parts[2]) if len(parts) > 2 else 0
    except (IndexError, ValueError):
        await answer("This button is not understood.")
        return
    if query.message is None:  # a button on an inline message: no chat to check it against
        await answer(NO_LONGER)
        return
    chat_id = query.message.chat.id  # also known for a message too old to reply to
    if "allowed" not in memo:
        memo["allowed"] = await _over_limit(svc, f"user:{query.from_user.id}", chat_id) is None
    if not memo["allowed"]:
        await answer(SLOW_DOWN)
        return
    loop = asyncio.get_running_loop()
    record = await loop.run_in_executor(svc.executor, svc.state.get_answer, answer_id)
    if record is None or record["chat_id"] != chat_id:
        await answer(NO_LONGER)  # the same words whether it never existed or is another chat's
        return
    if kind == "f" and arg in (1, -1):
        await loop.run_in_executor(svc.executor, svc.state.record_feedback, answer_id,
                                   query.from_user.id, arg)
        await answer("Thanks for the feedback!")
        return
    outcome, pages = await loop.run_in_executor(
        svc.executor, _button_pages, svc.engine.index, record, kind, arg, svc.settings.max_quotes)
    if not pages:
        await answer(outcome)
        return
    await answer()
    if isinstance(query.message, Message):
        await _send_pages(query.message, pages, memo)


def _button_pages(index: LoadedIndex | None, record: dict, kind: str, arg: int,
                  max_quotes: int) -> tuple[str, list[str]]:
    """In a worker thread: the quotes a button shows, rendered (a huge paragraph is capped at
    FULL_PARAGRAPH_PAGES messages and a note); or why there is nothing to show."""
    quotes: list[Quote | None] = []
    if kind == "p" and 0 <= arg < len(record["quotes"]):
        quotes = [sources.paragraph(index, record["quotes"][arg])]
    elif kind == "m":
        quotes = [sources.still_there(index, q) for q in record["quotes"][max_quotes:]]
    elif kind == "a" and 0 <= arg < len(record["suggestions"]):
        quotes = [sources.lead(index, record["suggestions"][arg]["article_id"])]
    found = [q for q in quotes if q is not None]
    if not found:
        return (GONE if quotes else "Nothing more to show."), []
    if len(found) == 1:
        return "", render.paragraph_pages(found[0], FULL_PARAGRAPH_PAGES)
    blocks = [b for q in found for b in render.quote_blocks(q.text, render.attribution_html(q))]
    return "", render.pack(blocks)


async def reply(message: Message, html: str,
                markup: InlineKeyboardMarkup | None = None) -> Message:
    """Reply in HTML, threaded to the asking message in groups, inside its forum topic.
    While the Bot API is unreachable the reply is retried with back-off, not dropped."""
    delay, waited = 1.0, 0.0
    while True:
        try:
            return await message.reply_html(html, reply_markup=markup,
                                            link_preview_options=NO_PREVIEW,
                                            do_quote=is_group(message))
        except BadRequest:
            raise
        except NetworkError as err:  # includes TimedOut: Telegram unreachable for now
            if waited >= SEND_RETRY_SECONDS:
                raise
            log.warning("reply not sent yet (%s); retrying in %.0f s", err, delay)
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 15.0)


def _thread(message: Message) -> int | None:
    return message.message_thread_id if message.is_topic_message else None


async def allowlist_gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Outside ALLOWED_CHAT_IDS the bot says one line and does nothing else: a press is
    answered (no new message), an update with no chat (inline query, a button on an inline
    message) is refused, as it cannot be told to belong to an allowed chat."""
    from telegram.ext import ApplicationHandlerStop

    allowed = services(context).settings.allowed_chat_ids
    chat = update.effective_chat
    if not allowed or (chat is not None and chat.id in allowed):
        return
    message = update.effective_message
    if update.callback_query is not None:
        await update.callback_query.answer(PRIVATE_BOT)
    elif update.inline_query is not None:
        await update.inline_query.answer([], cache_time=60, is_personal=True)
    elif chat is not None and message is not None and (
            not is_group(message) or (message.text or "").startswith("/")):
        await reply(message, escape(PRIVATE_BOT))
    raise ApplicationHandlerStop


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error and record it for the inbox worker, which retries a transient one and
    tells the user once when it gives up (bot.chat.polling.InboxWorker._process)."""
    log.error("error while handling an update: %s", context.error, exc_info=context.error)
    if isinstance(update, Update) and context.error is not None:
        context.bot_data.setdefault(FAILURES, {})[id(update)] = context.error
