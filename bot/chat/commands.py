"""Command handlers: /start, /help, /about, updates (/latest, /subscribe, /follow...),
privacy, and the admin commands."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from html import escape

from telegram import Message, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot import render
from bot.chat.handlers import is_group, reply, services
from bot.chat.pushes import article_fields
from bot.engine import lookups as sources
from bot.engine.answer import UNAVAILABLE
from bot.state.store import TOPIC_CHARS

log = logging.getLogger(__name__)
ADMINS_ONLY = "Only the group's administrators can change its updates."
NOT_ADMIN = "This command is for the bot's maintainers."
MAX_TOPIC = TOPIC_CHARS  # the follows.topic column


async def may_manage(message: Message, context: ContextTypes.DEFAULT_TYPE) -> bool:
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


def argument(message: Message) -> str:
    parts = (message.text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    svc = services(context)
    examples = sources.examples(svc.engine.index)
    lines = ["<b>Hello!</b> I answer questions about the news articles I hold, with quotes "
             "taken word for word from them and their sources. I never write answers myself: "
             "when the articles do not answer, I say so."]
    if examples:
        lines.append("\nTry one of these (tap to copy):")
        lines.extend(f"<code>{escape(q)}</code>" for q in examples)
    await reply(message, "\n".join(lines))


HELP_TEXT = (
    "<b>How to use me</b>\n"
    "• In a private chat, just type a question.\n"
    "• In a group, use /ask &lt;question&gt;, mention me, or reply to one of my messages.\n"
    "• I reply with the sentences from the articles that answer it, quoted exactly, with "
    "title, source, date, link and paragraph.\n"
    "• Buttons: <i>Full paragraph</i> shows the whole paragraph, <i>More sources</i> more "
    "quotes, 👍/👎 tell the maintainers how I did.\n"
    "/about shows what I know."
)


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None:
        await reply(update.effective_message, HELP_TEXT)


async def on_about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    index = services(context).engine.index
    if index is None:
        await reply(message, escape(UNAVAILABLE))
        return
    dates = [a.published for a in index.articles.values() if a.published]
    manifest = index.manifest
    text = (f"<b>Corpus</b>: {len(index.articles)} articles, {index.passage_count} passages\n"
            f"<b>Newest article</b>: {escape(max(dates)) if dates else 'no dated articles'}\n"
            f"<b>Index built</b>: {escape(str(manifest.get('built_at')))}\n"
            f"<b>Model</b>: {escape(str(manifest.get('model')))}")
    await reply(message, text)


async def on_latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    index = services(context).engine.index
    text = argument(message)
    count = int(text) if text.isascii() and text.isdigit() else 5  # not "²": int() refuses it
    count = max(1, min(count, 20))
    if index is None:
        await reply(message, escape(UNAVAILABLE))
        return
    items = []
    for info in sources.newest(index, count):
        lead = sources.first_sentence(index, info)
        items.append((article_fields(info), asdict(lead) if lead else None))
    for page in render.latest_html(items):
        await reply(message, page)


async def on_subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    if not await may_manage(message, context):
        await reply(message, escape(ADMINS_ONLY))
        return
    state = services(context).state
    user = message.from_user.id if message.from_user else None
    new = await asyncio.to_thread(state.subscribe, message.chat_id, user)
    await reply(message, "Subscribed: this chat gets a message for each new article."
                if new else "This chat is already subscribed.")


async def on_unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    if not await may_manage(message, context):
        await reply(message, escape(ADMINS_ONLY))
        return
    removed = await asyncio.to_thread(services(context).state.unsubscribe, message.chat_id)
    await reply(message, "Unsubscribed." if removed else "This chat was not subscribed.")


async def on_follow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
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
    if not await may_manage(message, context):
        await reply(message, escape(ADMINS_ONLY))
        return
    user = message.from_user.id if message.from_user else None
    svc = services(context)
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


async def on_unfollow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    topic = " ".join(argument(message).split())
    if not await may_manage(message, context):
        await reply(message, escape(ADMINS_ONLY))
        return
    removed = await asyncio.to_thread(services(context).state.unfollow, message.chat_id, topic)
    await reply(message, f"Stopped following “{escape(topic)}”." if removed
                else f"This chat does not follow “{escape(topic)}”.")


async def on_following(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    state = services(context).state
    topics = await asyncio.to_thread(state.following, message.chat_id)
    subscribed = await asyncio.to_thread(state.is_subscribed, message.chat_id)
    lines = ["Subscribed to all new articles." if subscribed else "Not subscribed to all new "
             "articles (/subscribe)."]
    if topics:
        lines.append("Following: " + ", ".join(f"“{escape(t)}”" for _, t in topics))
    else:
        lines.append("Following no topics (/follow &lt;topic&gt;).")
    await reply(message, "\n".join(lines))


def is_admin(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    user = update.effective_user
    allowed = user is not None and user.id in services(context).settings.admin_ids
    if not allowed:
        log.warning("admin command refused for user %s in chat %s",
                    user.id if user else None,
                    update.effective_chat.id if update.effective_chat else None)
    return allowed


async def admin_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Message | None:
    """The message of an admin command, or None (with a refusal sent) for anyone else."""
    message = update.effective_message
    if message is None:
        return None
    if not is_admin(update, context):
        await reply(message, escape(NOT_ADMIN))
        return None
    return message


async def on_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = await admin_message(update, context)
    if message is None:
        return
    svc = services(context)
    stats = await asyncio.to_thread(svc.state.stats)
    index = svc.engine.index
    rate = stats["abstained"] / stats["questions"] if stats["questions"] else 0.0
    size = sum(p.stat().st_size for p in index.folder.iterdir() if p.is_file()) if index else 0
    lines = [
        f"<b>Questions answered</b>: {stats['questions']} (abstained {rate:.0%})",
        f"<b>Answer latency</b>: p50 {stats['p50_ms']:.0f} ms, p95 {stats['p95_ms']:.0f} ms",
        f"<b>Feedback</b>: 👍 {stats['thumbs_up']} / 👎 {stats['thumbs_down']}",
        f"<b>Subscribed chats</b>: {stats['subscribers']}; <b>following chats</b>: "
        f"{stats['followers']}",
        f"<b>Index</b>: {index.passage_count if index else 0} passages, {size / 1e6:.1f} MB, "
        f"built {escape(str(index.manifest.get('built_at') if index else 'never'))}",
    ]
    await reply(message, "\n".join(lines))


async def on_reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = await admin_message(update, context)
    if message is None:
        return
    from bot.chat.app import refresh_index

    result = await refresh_index(context)
    await reply(message, escape(result))


async def on_fetch(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Admins: read the feeds now, index what is new, reply with the summary."""
    message = await admin_message(update, context)
    if message is None:
        return
    from bot.chat.app import fetch_news

    await reply(message, escape("Fetching the feeds…"))
    await reply(message, escape(await fetch_news(context)))


PRIVACY = (
    "<b>What I store, and for how long</b>\n"
    "• Your questions and the quotes I answered with (for the buttons under answers and for "
    "statistics), and your 👍/👎: deleted after {days} days.\n"
    "• Incoming messages addressed to me and button presses, as received (so none is lost "
    "if I restart): deleted after {days} days.\n"
    "• A chat's subscriptions and followed topics, with who set them up: kept until "
    "/unsubscribe or /unfollow, or until I am removed from the chat.\n"
    "• Which new articles a chat was sent (with the topic that matched): queued until sent, "
    "then deleted after {days} days.\n"
    "• A rate limit counter per user and chat (a number and a time, no text): deleted after "
    "a day without messages.\n"
    "/forget deletes everything stored about you now: your questions, answers, feedback, "
    "messages, and your private chat's subscriptions, topics and queued articles. Only the "
    "rate limit counter stays until it expires, so that /forget does not lift the limit."
)


async def on_privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None:
        days = services(context).settings.retention_days
        await reply(update.effective_message, PRIVACY.format(days=days))


async def on_forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or update.effective_user is None:
        return
    gone = await asyncio.to_thread(services(context).state.forget_user,
                                   update.effective_user.id)
    await reply(message, f"Done: {gone} stored items about you were deleted (your questions, "
                "answers, feedback, messages, and your private chat's subscriptions, topics "
                "and queued articles).")
