"""Who may do what: the chat allowlist, group administrators for a chat's updates, the bot's
maintainers (ADMIN_IDS) for the admin commands."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from functools import wraps
from html import escape
from typing import Any

from telegram import Message, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.chat.context import ChatContext
from bot.chat.replies import is_group, reply
from bot.i18n import N_, translator_for

__all__ = ["ADMINS_ONLY", "NOT_ADMIN", "PRIVATE_BOT", "Handler", "admin_only", "allowlist_gate",
           "may_manage"]

log = logging.getLogger(__name__)
ADMINS_ONLY = N_("Only the group's administrators can change its updates.")
NOT_ADMIN = N_("This command is for the bot's maintainers.")
PRIVATE_BOT = N_("This bot is private to some chats; it cannot answer here.")
Handler = Callable[[Update, ChatContext], Coroutine[Any, Any, None]]
AdminHandler = Callable[[Message, ChatContext], Coroutine[Any, Any, None]]


async def allowlist_gate(update: Update, context: ChatContext) -> None:
    """Outside ALLOWED_CHAT_IDS the bot says one line and does nothing else: a press is
    answered (no new message), an update with no chat (inline query, a button on an inline
    message) is refused, as it cannot be told to belong to an allowed chat."""
    allowed = context.services.settings.allowed_chat_ids
    chat = update.effective_chat
    if not allowed or (chat is not None and chat.id in allowed):
        return
    message = update.effective_message
    tr = translator_for(update.effective_user)
    if update.guest_message is not None:
        pass  # a chat the bot is not in: not allowed, and nowhere to say so
    elif update.callback_query is not None:
        await update.callback_query.answer(tr.gettext(PRIVATE_BOT))
    elif update.inline_query is not None:
        await update.inline_query.answer([], cache_time=60, is_personal=True)
    elif chat is not None and message is not None and (
            not is_group(message) or (message.text or "").startswith("/")):
        await reply(message, escape(tr.say(PRIVATE_BOT)))
    raise ApplicationHandlerStop


async def may_manage(message: Message, context: ChatContext) -> bool:
    """In groups only chat administrators (or the group itself, anonymously) manage updates."""
    if not is_group(message):
        return True
    if message.sender_chat is not None and message.sender_chat.id == message.chat_id:
        return True
    if message.from_user is None:
        return False
    try:
        member = await context.bot.get_chat_member(message.chat_id, message.from_user.id)
    except TelegramError as err:
        log.warning("getChatMember failed: %s", err)
        return False
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def is_admin(update: Update, context: ChatContext) -> bool:
    """The sender is one of the bot's maintainers (by user id, never by name)."""
    user = update.effective_user
    allowed = user is not None and user.id in context.services.settings.admin_ids
    if not allowed:
        log.warning("admin command refused for user %s in chat %s",
                    user.id if user else None,
                    update.effective_chat.id if update.effective_chat else None)
    return allowed


def admin_only(command: AdminHandler) -> Handler:
    """A handler that runs `command` on the message of an admin, and refuses anyone else."""

    @wraps(command)
    async def guarded(update: Update, context: ChatContext) -> None:
        message = update.effective_message
        if message is None:
            return
        if not is_admin(update, context):
            await reply(message, escape(translator_for(update.effective_user).say(NOT_ADMIN)))
            return
        await command(message, context)

    return guarded
