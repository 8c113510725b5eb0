"""Reactions as feedback: 👍 or 👎 on one of the bot's answers counts like its buttons, once
per user and answer (a new reaction replaces the old one). Telegram sends reactions in groups
only where the bot is an administrator."""

from __future__ import annotations

import asyncio

from telegram import ReactionTypeEmoji, Update

from bot.chat.context import ChatContext

__all__ = ["VERDICTS", "on_reaction"]

VERDICTS = {"👍": 1, "👎": -1}


async def on_reaction(update: Update, context: ChatContext) -> None:
    reaction = update.message_reaction
    if reaction is None or reaction.user is None:  # anonymous reactions name no one
        return
    verdicts = [VERDICTS[r.emoji] for r in reaction.new_reaction
                if isinstance(r, ReactionTypeEmoji) and r.emoji in VERDICTS]
    if not verdicts:
        return
    state = context.services.state
    answer_id = await asyncio.to_thread(state.answer_of_message, reaction.chat.id,
                                        reaction.message_id)
    if answer_id is not None:
        await asyncio.to_thread(state.record_feedback, answer_id, reaction.user.id, verdicts[-1])
