"""/sources: the publishers a chat's questions search unless a question names one, chosen
with buttons (in groups by administrators only) and stored in the state database."""

from __future__ import annotations

import asyncio
import logging
import zlib
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot import render
from bot.chat.access import ADMINS_ONLY, may_manage
from bot.chat.callbacks import Kind, arguments, encode
from bot.chat.context import ChatContext, Services
from bot.chat.replies import reply
from bot.engine import UNAVAILABLE, Answer
from bot.i18n import N_, Translator, translator_for

__all__ = ["compare_in_chat", "on_source_button", "on_sources"]

log = logging.getLogger(__name__)
MAX_BUTTONS = 40  # publishers listed; more are still matched when a question names them
CHOOSE = N_("Choose the publishers this chat's questions search (none chosen: all of them). "
            "A question that names one, “according to …”, searches that one.")
NO_PUBLISHERS = N_("The articles I hold name no publisher.")
NOW_SOME = N_("Questions here search: {sources}.")
NOW_ALL = N_("Questions here search all publishers.")
CHANGED = N_("The list of publishers changed: send /sources again.")
ALL_BUTTON = N_("All publishers")


def _tag(name: str) -> str:
    # A button carries its publisher's place in the list and this short hash of its name: a
    # press on buttons sent before the list changed is refused, not applied to another one.
    return format(zlib.crc32(name.encode()) & 0xFFFF, "x")


def keyboard(names: list[str], chosen: list[str], tr: Translator) -> InlineKeyboardMarkup:
    """A button per publisher (✅ when chosen) and one for all of them."""
    rows = []
    for i, name in enumerate(names[:MAX_BUTTONS]):
        mark = "✅ " if name in chosen else ""
        data = encode(Kind.SOURCES, i, _tag(name))
        rows.append([InlineKeyboardButton(mark + render.shorten(name, 60), callback_data=data)])
    mark = "✅ " if not chosen else ""  # none chosen: all of them
    data = encode(Kind.SOURCES, "all")
    rows.append([InlineKeyboardButton(mark + tr.gettext(ALL_BUTTON), callback_data=data)])
    return InlineKeyboardMarkup(rows)


def compare_in_chat(svc: Services, chat_id: int, question: str) -> Answer:
    """In a worker thread: one quote per publisher, among those the chat chose with /sources
    (all when none is chosen; a question that names one searches that one). The one rule for
    /compare and the "Compare outlets" button under an answer alike."""
    return svc.engine.compare(question, sources=svc.state.chat_sources(chat_id))


def status(chosen: list[str], tr: Translator) -> str:
    if not chosen:
        return tr.say(NOW_ALL)
    return tr.say(NOW_SOME, sources=", ".join(render.shorten(n, 60) for n in chosen))


async def on_sources(update: Update, context: ChatContext) -> None:
    message = update.effective_message
    if message is None:
        return
    tr = translator_for(message.from_user)
    if not await may_manage(message, context):
        await reply(message, escape(tr.say(ADMINS_ONLY)))
        return
    engine = context.services.engine
    if not engine.ready:
        await reply(message, escape(tr.say(UNAVAILABLE)))
        return
    names = engine.sources()
    if not names:
        await reply(message, escape(tr.say(NO_PUBLISHERS)))
        return
    chosen = await asyncio.to_thread(context.services.state.chat_sources, message.chat_id)
    await reply(message, escape(f"{tr.say(CHOOSE)}\n{status(chosen, tr)}"),
                keyboard(names, chosen, tr))


async def on_source_button(update: Update, context: ChatContext) -> None:
    """A press on a /sources button: toggle that publisher (or choose all), for admins."""
    query = update.callback_query
    if query is None or not query.data or not isinstance(query.message, Message):
        return
    message = query.message
    tr = translator_for(query.from_user)
    if message.chat.type in ("group", "supergroup"):
        try:
            member = await context.bot.get_chat_member(message.chat.id, query.from_user.id)
            allowed = member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)
        except TelegramError:
            allowed = False
        if not allowed:
            await query.answer(tr.say(ADMINS_ONLY))
            return
    svc = context.services
    names = svc.engine.sources()
    chosen = await asyncio.to_thread(svc.state.chat_sources, message.chat.id)
    args = arguments(query.data)
    if args == ["all"]:
        chosen = []
    else:
        try:
            name = names[int(args[0])]
        except (IndexError, ValueError):
            name = None
        if name is None or args[1:] != [_tag(name)]:
            await query.answer(tr.say(CHANGED))
            return
        chosen = [n for n in chosen if n != name] if name in chosen else [*chosen, name]
    chosen = [n for n in chosen if n in names]
    await asyncio.to_thread(svc.state.set_chat_sources, message.chat.id, chosen,
                            query.from_user.id)
    try:
        await message.edit_reply_markup(keyboard(names, chosen, tr))
    except TelegramError as err:  # the choice is stored; the old buttons stay
        log.info("editing the /sources buttons failed: %s", err)
    # Telegram shows at most 200 characters of a press's answer.
    await query.answer(render.shorten(status(chosen, tr), 190))
