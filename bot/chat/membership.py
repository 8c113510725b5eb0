"""The bot added to a group or removed from a chat (`my_chat_member`): a short welcome saying
how to ask, and the change recorded; a chat the bot left is forgotten (its subscriptions,
follows and queued pushes), as when it blocks the bot."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError

from bot.chat.context import ChatContext
from bot.i18n import N_, translator_for

__all__ = ["WELCOME", "on_my_chat_member"]

log = logging.getLogger(__name__)
WELCOME = N_("<b>Hello!</b> I answer questions about the news articles I hold with the "
             "sentences that answer them, quoted word for word with their source.\n"
             "Ask with /ask &lt;question&gt;, by mentioning @{username}, or by replying to "
             "one of my messages. Administrators: /subscribe for new articles, /follow "
             "&lt;topic&gt;, /sources to choose publishers. /help for more.")
PRESENT = (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER,
           ChatMemberStatus.RESTRICTED)
GONE = (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)


async def on_my_chat_member(update: Update, context: ChatContext) -> None:
    change = update.my_chat_member
    if change is None:
        return
    chat, old, new = change.chat, change.old_chat_member.status, change.new_chat_member.status
    state = context.services.state
    by = change.from_user.id if change.from_user else None
    await asyncio.to_thread(state.record_membership, chat.id, str(new), by)
    if new in GONE and old not in GONE:
        log.info("left chat %s (%s): its updates are forgotten", chat.id, new)
        await asyncio.to_thread(state.forget_chat, chat.id)
        return
    if chat.type in ("group", "supergroup") and new in PRESENT and old in GONE:
        tr = translator_for(change.from_user)
        try:
            await context.bot.send_message(chat.id, tr.say_html(
                WELCOME, username=context.bot.username or "bot"))
        except TelegramError as err:  # it may not be allowed to write yet
            log.info("welcome to chat %s not sent: %s", chat.id, err)
