"""Thin Telegram handlers: parse the update, call the engine, render, reply."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from html import escape

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ChatType
from telegram.error import BadRequest, NetworkError, TelegramError
from telegram.ext import ContextTypes

from bot import render, sources
from bot.answer import Answer, Engine, Quote
from bot.settings import Settings
from bot.state import State

log = logging.getLogger(__name__)
KEY = "verbatim"
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
TEXT_ONLY = "I can only read text. Please type your question about the news articles."
PRIVATE_BOT = "This bot is private to some chats; it cannot answer here."
GONE = "That article is no longer in the index."
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
        await answer_and_reply(message, context, question)


async def on_ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or message.text is None:
        return
    question = message.text.split(maxsplit=1)[1] if len(message.text.split(maxsplit=1)) > 1 else ""
    if not question.strip():
        await reply(message, escape("Ask a question after /ask, for example: "
                                    "/ask How far is Qasr Bin Ghashir from Tripoli?"))
        return
    await answer_and_reply(message, context, question)


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


async def within_limits(message: Message, svc: Services) -> bool:
    """Per-user and per-chat question limits; the first refusal in a minute says so."""
    loop = asyncio.get_running_loop()
    checks = [(f"chat:{message.chat_id}", svc.settings.chat_questions_per_minute)]
    if message.from_user is not None:
        checks.insert(0, (f"user:{message.from_user.id}", svc.settings.user_questions_per_minute))
    for key, limit in checks:
        count = await loop.run_in_executor(svc.executor, svc.state.count_event, key)
        if count > limit:
            if count == limit + 1:
                await reply(message, escape(SLOW_DOWN))
            return False
    return True


async def answer_and_reply(message: Message, context: ContextTypes.DEFAULT_TYPE,
                           question: str) -> None:
    svc = services(context)
    if not await within_limits(message, svc):
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
    answer_id = None
    if not answer.error and not answer.help:
        user = message.from_user.id if message.from_user else None
        answer_id = await loop.run_in_executor(
            svc.executor, lambda: svc.state.record_answer(
                message.chat_id, user, answer.to_json(), stored, answer.index_version))
    shown = answer.quotes[:svc.settings.max_quotes]
    pages = render.answer_html(answer, quotes=shown)
    markup = keyboard(answer, answer_id, more=len(answer.quotes) > len(shown))
    for i, page in enumerate(pages):
        await reply(message, page, markup if i == len(pages) - 1 else None)


def keyboard(answer: Answer, answer_id: int | None, more: bool) -> InlineKeyboardMarkup | None:
    if answer_id is None:
        return None
    if answer.abstained:
        rows = [[InlineKeyboardButton(f"📄 {s['title'][:60]}", callback_data=f"a:{answer_id}:{i}")]
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
    query = update.callback_query
    if query is None or not query.data:
        return
    svc = services(context)
    parts = query.data.split(":")
    try:
        kind, answer_id = parts[0], int(parts[1])
        arg = int(parts[2]) if len(parts) > 2 else 0
    except (IndexError, ValueError):
        await query.answer("This button is not understood.")
        return
    loop = asyncio.get_running_loop()
    record = await loop.run_in_executor(svc.executor, svc.state.get_answer, answer_id)
    if record is None:
        await query.answer("That answer is no longer available.")
        return
    message = query.message if isinstance(query.message, Message) else None
    if kind == "f" and arg in (1, -1):
        await loop.run_in_executor(svc.executor, svc.state.record_feedback, answer_id,
                                   query.from_user.id, arg)
        await query.answer("Thanks for the feedback!")
        return
    quotes: list[Quote | None] = []
    index = svc.engine.index
    if kind == "p" and arg < len(record["quotes"]):
        quotes = [sources.paragraph(index, record["quotes"][arg])]
    elif kind == "m":
        quotes = [sources.still_there(index, q)
                  for q in record["quotes"][svc.settings.max_quotes:]]
    elif kind == "a" and arg < len(record["suggestions"]):
        quotes = [sources.lead(index, record["suggestions"][arg]["article_id"])]
    found = [q for q in quotes if q is not None]
    if not found:
        await query.answer(GONE if quotes else "Nothing more to show.")
        return
    await query.answer()
    if message is None:
        return
    blocks = [b for q in found for b in render.quote_blocks(q.text, render.attribution_html(q))]
    for page in render.pack(blocks):
        await reply(message, page)


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
    """Outside ALLOWED_CHAT_IDS the bot says one line and does nothing else."""
    from telegram.ext import ApplicationHandlerStop

    allowed = services(context).settings.allowed_chat_ids
    chat = update.effective_chat
    if not allowed or chat is None or chat.id in allowed:
        return
    message = update.effective_message
    if message is not None and (not is_group(message) or (message.text or "").startswith("/")):
        await reply(message, escape(PRIVATE_BOT))
    elif update.callback_query is not None:
        await update.callback_query.answer(PRIVATE_BOT)
    raise ApplicationHandlerStop


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.error("error while handling an update: %s", context.error, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message is not None:
        with contextlib.suppress(TelegramError):
            await update.effective_message.reply_text(
                "Sorry, something went wrong while answering. Please try again.")
