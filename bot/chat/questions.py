"""Questions: a private message, /ask, a mention or a reply to the bot in a group; the engine's
answer rendered and sent with its buttons, stored for them."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from html import escape

from telegram import InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot import render
from bot.chat.buttons import keyboard
from bot.chat.callbacks import answer_id_of
from bot.chat.context import ChatContext, Progress, Services
from bot.chat.limits import within_limits
from bot.chat.links import Reach, copy_text, deep_link, link_id, share_query
from bot.chat.pages import article_page_url
from bot.chat.replies import argument, is_group, reply, send_pages, topic_thread
from bot.chat.sources import compare_in_chat
from bot.engine import Answer, Exchange, Outcome
from bot.i18n import N_, Translator, translator_for
from bot.render import NEW_CONVERSATION

__all__ = [
    "Asked",
    "Ready",
    "addressed_question",
    "answer_and_reply",
    "leaned_on",
    "on_ask",
    "on_compare",
    "on_new",
    "on_other",
    "on_text",
    "prepare_reply",
    "reach_of",
]

log = logging.getLogger(__name__)
TEXT_ONLY = N_("I can only read text. Please type your question about the news articles.")
ASK_HOW = N_("Ask a question after /ask, for example: /ask How far is Qasr Bin Ghashir from "
             "Tripoli?")
COMPARE_HOW = N_("Ask a question after /compare, for example: /compare How many fighters were "
                 "killed?")
MORE_LIMIT = 6


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
    if _replies_to_bot(message, bot_id):
        return text
    return None


def _replies_to_bot(message: Message, bot_id: int) -> bool:
    replied = message.reply_to_message
    return replied is not None and replied.from_user is not None and (
        replied.from_user.id == bot_id)


def _py_offset(text: str, utf16_offset: int) -> int:
    """Telegram offsets count UTF-16 code units; Python strings count code points."""
    units = 0
    for i, char in enumerate(text):
        if units >= utf16_offset:
            return i
        units += 2 if ord(char) > 0xFFFF else 1
    return len(text)


async def on_text(update: Update, context: ChatContext) -> None:
    message = update.effective_message
    if message is None:
        return
    question = addressed_question(message, context.bot.username, context.bot.id)
    if question is not None:
        await answer_and_reply(message, context, question, context.progress(update),
                               update.update_id)


async def on_ask(update: Update, context: ChatContext) -> None:
    await _command_question(update, context, ASK_HOW)


async def on_compare(update: Update, context: ChatContext) -> None:
    """/compare <question>: one quote per publisher, and where they differ."""
    await _command_question(update, context, COMPARE_HOW, compare=True)


async def _command_question(update: Update, context: ChatContext, how: str,
                            compare: bool = False) -> None:
    """The question after a command (/ask, /compare) answered; `how` said when there is none."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    question = argument(message)
    if not question:
        await reply(message, escape(translator_for(update.effective_user).say(how)))
        return
    await answer_and_reply(message, context, question, context.progress(update),
                           update.update_id, compare=compare)


async def on_new(update: Update, context: ChatContext) -> None:
    """/new: the next question in this chat (or topic) does not follow up the last answer."""
    message = update.effective_message
    if message is None:
        return
    await asyncio.to_thread(context.services.state.new_conversation, message.chat_id,
                            topic_thread(message) or 0)
    await reply(message, escape(translator_for(update.effective_user).say(NEW_CONVERSATION)))


async def on_other(update: Update, context: ChatContext) -> None:
    """Stickers, photos, voice notes...: one polite line (in groups only when addressed)."""
    message = update.effective_message
    if message is None:
        return
    if is_group(message) and not _replies_to_bot(message, context.bot.id):
        return
    await reply(message, escape(translator_for(update.effective_user).say(TEXT_ONLY)))


@dataclass(frozen=True)
class Asked:
    """A question as its handler received it: what the prepare pass needs of the update."""

    message: Message
    question: str
    bot_id: int
    username: str | None
    update_id: int | None  # the asking update, looked for in the inbox when storing
    compare: bool  # /compare: one quote per publisher


@dataclass(frozen=True)
class Ready:
    """A reply ready to send: its pages (HTML) and the buttons under the last."""

    pages: list[str]
    markup: InlineKeyboardMarkup | None


async def answer_and_reply(message: Message, context: ChatContext, question: str,
                           progress: Progress, update_id: int | None = None,
                           compare: bool = False) -> None:
    """Answer a question and reply; the answer is stored (for its buttons) unless its user
    ran /forget meanwhile (`update_id`: the asking update, looked for in the inbox). The bot's
    own words are in the language of the user who asked."""
    svc = context.services
    if not await within_limits(message, svc, progress):
        return
    await _typing(message, context)
    asked = Asked(message, question, context.bot.id, context.bot.username, update_id, compare)
    loop = asyncio.get_running_loop()
    ready = await loop.run_in_executor(svc.executor, prepare_reply, svc, asked, progress)
    await send_pages(message, ready.pages, progress, ready.markup)
    if progress.answer_id is not None:
        # After sending: the messages that show the answer (a reaction on one is feedback).
        await loop.run_in_executor(svc.executor, svc.state.record_answer_messages,
                                   message.chat_id, list(progress.message_ids),
                                   progress.answer_id)


async def _typing(message: Message, context: ChatContext) -> None:
    """The "typing…" hint in the chat while the answer is made; a failure costs only the
    hint."""
    try:
        await context.bot.send_chat_action(message.chat_id, ChatAction.TYPING,
                                           message_thread_id=topic_thread(message))
    except TelegramError as err:
        log.info("typing action failed: %s", err)


def prepare_reply(svc: Services, asked: Asked, progress: Progress) -> Ready:
    """In a worker thread, in one pass: the engine's answer (following up what the question
    leans on, among the chat's publishers), stored for its buttons, rendered, and its links
    kept. `progress.answer_id` is set here, as soon as the answer is stored, so that a retry
    after a later failure stores it no second time (the handler awaits this pass: nothing
    else touches its progress meanwhile)."""
    message = asked.message
    tr = translator_for(message.from_user)
    answer = _engine_answer(svc, asked)
    if progress.answer_id is None and not answer.outcome.is_notice:  # small talk: not kept
        progress.answer_id = _store(svc, asked, answer)
    shown = answer.quotes[:svc.settings.max_quotes]
    # The whole paragraph of each shown quote, folded under it: the quote knows only its
    # paragraph's number, the paragraph's text is the index's.
    around = [svc.engine.paragraph(q) for q in shown]
    pages = render.answer_html(answer, quotes=shown, tr=tr, paragraphs=around)
    reach = None
    if progress.answer_id is not None:
        reach = reach_of(answer, svc, asked.username, tr, private=not is_group(message))
    markup = keyboard(answer, progress.answer_id, more=len(answer.quotes) > len(shown), tr=tr,
                      reach=reach)
    return Ready(pages, markup)


def _engine_answer(svc: Services, asked: Asked) -> Answer:
    """One quote per publisher for /compare; else up to MORE_LIMIT quotes, following up the
    exchange the question leans on. Both among the publishers the chat chose."""
    chat_id = asked.message.chat_id
    if asked.compare:
        return compare_in_chat(svc, chat_id, asked.question)
    earlier = leaned_on(asked.message, asked.bot_id, svc)
    sources = svc.state.chat_sources(chat_id)
    return svc.engine.answer(asked.question, limit=MORE_LIMIT, context=earlier, sources=sources)


def _store(svc: Services, asked: Asked, answer: Answer) -> int | None:
    """The answer stored with all its quotes (More sources shows those past the first); its
    id, or None when the asking update is gone (/forget)."""
    message = asked.message
    user = message.from_user.id if message.from_user else None
    stored = [q.to_dict() for q in answer.quotes]
    return svc.state.record_answer(message.chat_id, user, answer.to_json(), stored,
                                   answer.index_version, asked.update_id)


def reach_of(answer: Answer, svc: Services, username: str | None, tr: Translator,
             private: bool = False) -> Reach | None:
    """The Share, Copy, Link and Open in article buttons of an answer (its first quote's
    link kept in the state database); None when it quotes nothing. `private`: a private chat
    (where Telegram allows a Mini App button)."""
    if answer.outcome is not Outcome.QUOTED or not answer.quotes:
        return None
    quote = answer.quotes[0]
    quote_link = link_id(quote, answer.index_version)
    svc.state.link_quote(quote_link, quote.article_id, quote.start, quote.end, quote.text,
                         answer.index_version)
    link = deep_link(username, quote_link)
    public = svc.settings.public_url
    web_app = bool(svc.settings.article_web_app and private and public
                   and public.startswith("https://"))
    page = article_page_url(public, quote, quote_link, mini_app=web_app)
    return Reach(share=share_query(answer.question), copy=copy_text(quote, link, tr),
                 link=link, page=page, web_app=web_app)


def leaned_on(message: Message, bot_id: int, svc: Services) -> Exchange | None:
    """The exchange a question may follow up: the answer it replies to (any chat; any question
    then leans on it), or in a private chat the user's last answer within FOLLOWUP_MINUTES
    (and after /new; then only a question whose wording refers back)."""
    user = message.from_user.id if message.from_user else None
    replied = message.reply_to_message
    if replied is not None and _replies_to_bot(message, bot_id):
        answer_id = _answer_id(replied)
        found = svc.state.get_answer(answer_id) if answer_id is not None else None
        if found is not None and found.chat_id == message.chat_id:
            return Exchange.of_stored(found.question, found.quotes, replied=True)
    minutes = svc.settings.followup_minutes
    if is_group(message) or user is None or minutes <= 0:
        return None
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes)
    found = svc.state.last_answer(message.chat_id, user, since, topic_thread(message) or 0)
    return Exchange.of_stored(found.question, found.quotes) if found else None


def _answer_id(message: Message) -> int | None:
    """The id of the stored answer a bot message shows, read off its buttons."""
    markup = message.reply_markup
    for row in markup.inline_keyboard if markup is not None else ():
        for button in row:
            found = answer_id_of(str(button.callback_data or ""))
            if found is not None:
                return found
    return None
