"""A chat's updates: /latest, /subscribe and /unsubscribe (every new article), /follow,
/unfollow and /following (new articles on a topic). In groups only administrators change them."""

from __future__ import annotations

import asyncio
from html import escape

from telegram import Message, Update

from bot import render
from bot.chat.access import ADMINS_ONLY, may_manage
from bot.chat.context import ChatContext
from bot.chat.replies import argument, reply
from bot.engine import UNAVAILABLE, topic_words
from bot.state import TOPIC_CHARS

__all__ = ["on_follow", "on_following", "on_latest", "on_subscribe", "on_unfollow",
           "on_unsubscribe"]

MAX_TOPIC = TOPIC_CHARS  # the follows.topic column


async def on_latest(update: Update, context: ChatContext) -> None:
    message = update.effective_message
    if message is None:
        return
    engine = context.services.engine
    text = argument(message)
    count = int(text) if text.isascii() and text.isdigit() else 5  # not "²": int() refuses it
    count = max(1, min(count, 20))
    if not engine.ready:
        await reply(message, escape(UNAVAILABLE))
        return
    for page in render.latest_html(engine.newest(count)):
        await reply(message, page)


async def _managed(message: Message, context: ChatContext) -> bool:
    """May the sender change this chat's updates? Refused with a line when not."""
    if await may_manage(message, context):
        return True
    await reply(message, escape(ADMINS_ONLY))
    return False


async def on_subscribe(update: Update, context: ChatContext) -> None:
    message = update.effective_message
    if message is None or not await _managed(message, context):
        return
    state = context.services.state
    user = message.from_user.id if message.from_user else None
    new = await asyncio.to_thread(state.subscribe, message.chat_id, user)
    await reply(message, "Subscribed: this chat gets a message for each new article."
                if new else "This chat is already subscribed.")


async def on_unsubscribe(update: Update, context: ChatContext) -> None:
    message = update.effective_message
    if message is None or not await _managed(message, context):
        return
    removed = await asyncio.to_thread(context.services.state.unsubscribe, message.chat_id)
    await reply(message, "Unsubscribed." if removed else "This chat was not subscribed.")


async def on_follow(update: Update, context: ChatContext) -> None:
    message = update.effective_message
    if message is None:
        return
    topic = " ".join(argument(message).split())
    if not topic:
        await reply(message, "Name a topic, for example: /follow Libya")
        return
    if len(topic) > MAX_TOPIC:
        await reply(message, f"A topic can be at most {MAX_TOPIC} characters.")
        return
    if not topic_words(topic):
        await reply(message, f"“{escape(topic)}” has no word to look for in the articles "
                    "(words such as “the”, “who” or “many” are left out): name the topic with "
                    "a more specific word, for example: /follow Libya")
        return
    if not await _managed(message, context):
        return
    user = message.from_user.id if message.from_user else None
    svc = context.services
    limit = svc.settings.max_follows_per_chat
    outcome = await asyncio.to_thread(svc.state.follow, message.chat_id, topic, user, limit)
    if outcome == "full":
        text = (f"This chat follows {limit} topics already, at most {limit} topics are "
                "possible. Stop following one first (/following lists them, /unfollow "
                "&lt;topic&gt; stops one).")
    elif outcome == "new":
        text = (f"Following “{escape(topic)}”: new articles that match it will be sent here, "
                "with the matching sentence.")
    else:
        text = f"Already following “{escape(topic)}”."
    await reply(message, text)


async def on_unfollow(update: Update, context: ChatContext) -> None:
    message = update.effective_message
    if message is None:
        return
    topic = " ".join(argument(message).split())
    if not await _managed(message, context):
        return
    removed = await asyncio.to_thread(context.services.state.unfollow, message.chat_id, topic)
    await reply(message, f"Stopped following “{escape(topic)}”." if removed
                else f"This chat does not follow “{escape(topic)}”.")


async def on_following(update: Update, context: ChatContext) -> None:
    message = update.effective_message
    if message is None:
        return
    state = context.services.state
    topics = await asyncio.to_thread(state.following, message.chat_id)
    subscribed = await asyncio.to_thread(state.is_subscribed, message.chat_id)
    lines = ["Subscribed to all new articles." if subscribed else "Not subscribed to all new "
             "articles (/subscribe)."]
    if topics:
        lines.append("Following: " + ", ".join(f"“{escape(t)}”" for _, t in topics))
    else:
        lines.append("Following no topics (/follow &lt;topic&gt;).")
    await reply(message, "\n".join(lines))
