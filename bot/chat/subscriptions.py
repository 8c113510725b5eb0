"""A chat's updates: /latest, /subscribe and /unsubscribe (every new article), /follow,
/unfollow and /following (new articles on a topic). In groups only administrators change them.
Replies are in the language of the user who sent the command."""

from __future__ import annotations

import asyncio
import datetime as dt
from html import escape

from telegram import Message, Update

from bot import render
from bot.chat.access import ADMINS_ONLY, may_manage
from bot.chat.context import ChatContext
from bot.chat.replies import argument, reply
from bot.engine import UNAVAILABLE, find_period, topic_words
from bot.i18n import N_, Html, translator_for
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
    first, _, rest = text.partition(" ")
    count = 5
    said = text
    if first.isascii() and first.isdigit():  # not "²": int() refuses it
        count = max(1, min(int(first), 20))
        said = rest.strip()
    tr = translator_for(message.from_user)
    if not engine.ready:
        await reply(message, escape(tr.say(UNAVAILABLE)))
        return
    period = None
    if any(c.isalpha() for c in said):  # "/latest last week", "/latest 10 since Monday"
        period, left = find_period(said, tr.language, dt.date.today())
        if period is None or topic_words(left):
            await reply(message, tr.say_html(N_(
                "I did not understand “{period}” as a period: try /latest last week, /latest "
                "since Monday or /latest 10 yesterday."), period=said))
            return
    for page in render.latest_html(engine.newest(count, period), tr, period):
        await reply(message, page)


async def _managed(message: Message, context: ChatContext) -> bool:
    """May the sender change this chat's updates? Refused with a line when not."""
    if await may_manage(message, context):
        return True
    await reply(message, escape(translator_for(message.from_user).say(ADMINS_ONLY)))
    return False


async def on_subscribe(update: Update, context: ChatContext) -> None:
    message = update.effective_message
    if message is None or not await _managed(message, context):
        return
    state = context.services.state
    user = message.from_user.id if message.from_user else None
    new = await asyncio.to_thread(state.subscribe, message.chat_id, user)
    tr = translator_for(message.from_user)
    if new:
        said = tr.say_html(N_("Subscribed: this chat gets a message for each new article."))
    else:
        said = tr.say_html(N_("This chat is already subscribed."))
    await reply(message, said)


async def on_unsubscribe(update: Update, context: ChatContext) -> None:
    message = update.effective_message
    if message is None or not await _managed(message, context):
        return
    removed = await asyncio.to_thread(context.services.state.unsubscribe, message.chat_id)
    tr = translator_for(message.from_user)
    if removed:
        said = tr.say_html(N_("Unsubscribed."))
    else:
        said = tr.say_html(N_("This chat was not subscribed."))
    await reply(message, said)


async def on_follow(update: Update, context: ChatContext) -> None:
    message = update.effective_message
    if message is None:
        return
    topic = " ".join(argument(message).split())
    tr = translator_for(message.from_user)
    refusal = _unfollowable(topic)
    if refusal is not None:
        await reply(message, tr.say_html(refusal, topic=topic, limit=MAX_TOPIC))
        return
    if not await _managed(message, context):
        return
    user = message.from_user.id if message.from_user else None
    svc = context.services
    limit = svc.settings.max_follows_per_chat
    outcome = await asyncio.to_thread(svc.state.follow, message.chat_id, topic, user, limit)
    if outcome == "full":
        text = tr.nsay_html(
            "This chat follows {count} topic already, at most {count} topic is possible. Stop "
            "following it first (/following lists it, /unfollow &lt;topic&gt; stops it).",
            "This chat follows {count} topics already, at most {count} topics are possible. "
            "Stop following one first (/following lists them, /unfollow &lt;topic&gt; stops "
            "one).", limit)
    elif outcome == "new":
        text = tr.say_html(N_("Following “{topic}”: new articles that match it will be sent "
                              "here, with the matching sentence."), topic=topic)
    else:
        text = tr.say_html(N_("Already following “{topic}”."), topic=topic)
    await reply(message, text)


def _unfollowable(topic: str) -> str | None:
    """Why a topic cannot be followed (a message with {topic} and {limit}), or None."""
    if not topic:
        return N_("Name a topic, for example: /follow Libya")
    if len(topic) > MAX_TOPIC:
        return N_("A topic can be at most {limit} characters.")
    if not topic_words(topic):
        return N_("“{topic}” has no word to look for in the articles (words such as “the”, "
                  "“who” or “many” are left out): name the topic with a more specific word, "
                  "for example: /follow Libya")
    return None


async def on_unfollow(update: Update, context: ChatContext) -> None:
    message = update.effective_message
    if message is None:
        return
    topic = " ".join(argument(message).split())
    if not await _managed(message, context):
        return
    removed = await asyncio.to_thread(context.services.state.unfollow, message.chat_id, topic)
    tr = translator_for(message.from_user)
    if removed:
        said = tr.say_html(N_("Stopped following “{topic}”."), topic=topic)
    else:
        said = tr.say_html(N_("This chat does not follow “{topic}”."), topic=topic)
    await reply(message, said)


async def on_following(update: Update, context: ChatContext) -> None:
    message = update.effective_message
    if message is None:
        return
    state = context.services.state
    topics = await asyncio.to_thread(state.following, message.chat_id)
    subscribed = await asyncio.to_thread(state.is_subscribed, message.chat_id)
    tr = translator_for(message.from_user)
    if subscribed:
        lines = [tr.say_html(N_("Subscribed to all new articles."))]
    else:
        lines = [tr.say_html(N_("Not subscribed to all new articles (/subscribe)."))]
    if topics:
        quoted = ", ".join(tr.say_html(N_("“{topic}”"), topic=t) for _, t in topics)
        lines.append(tr.say_html(N_("Following: {topics}"), topics=Html(quoted)))
    else:
        lines.append(tr.say_html(N_("Following no topics (/follow &lt;topic&gt;).")))
    await reply(message, "\n".join(lines))
