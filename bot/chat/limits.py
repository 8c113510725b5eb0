"""Rate limits: questions and button presses per sender and per chat and minute."""

from __future__ import annotations

import asyncio
from html import escape

from telegram import Message

from bot.chat.context import Progress, Services
from bot.chat.replies import reply
from bot.i18n import N_, translator_for

__all__ = ["SLOW_DOWN", "over_limit", "sender_key", "within_limits"]

SLOW_DOWN = N_("You are asking faster than I can answer well. Please wait a minute, "
               "then ask again.")


def sender_key(message: Message) -> str | None:
    """Whom a message's rate limit counts: the user, or the chat it was posted as (anonymous
    group admins and channels all arrive from one shared bot user)."""
    if message.sender_chat is not None:
        return f"sender_chat:{message.sender_chat.id}"
    return f"user:{message.from_user.id}" if message.from_user is not None else None


async def over_limit(svc: Services, sender: str | None, chat_id: int | None) -> int | None:
    """Count one event for the sender, then the chat (none for an inline query), in one
    transaction of the state database; the count past a limit, or None."""
    settings = svc.settings
    checks: list[tuple[str, int]] = []
    if sender is not None:
        checks.append((sender, settings.user_questions_per_minute))
    if chat_id is not None:
        checks.append((f"chat:{chat_id}", settings.chat_questions_per_minute))
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(svc.executor, svc.state.count_events, checks)


async def within_limits(message: Message, svc: Services, progress: Progress) -> bool:
    """Per-user and per-chat question limits; the first refusal in a minute says so."""
    # Counted once per update: a retry after a transient failure reuses the verdict, so it
    # does not count the same question twice.
    if progress.allowed is None:
        over = await over_limit(svc, sender_key(message), message.chat_id)
        progress.allowed = over is None
        # Only the first question past the limit is told; the rest of the window is silent.
        progress.first_refusal = over == 1
    if not progress.allowed and progress.first_refusal:
        progress.first_refusal = False
        await reply(message, escape(translator_for(message.from_user).say(SLOW_DOWN)))
    return progress.allowed
