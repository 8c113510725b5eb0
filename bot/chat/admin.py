"""The maintainers' commands (ADMIN_IDS; refused for anyone else by the command table):
/stats, /reload, /fetch. Replies are in the admin's language; what the index or the fetcher
reports inside them (an error, the fetch summary) stays as they word it."""

from __future__ import annotations

import asyncio
from html import escape

from telegram import Message

from bot.chat.context import ChatContext
from bot.chat.jobs import fetch_news, refresh_index
from bot.chat.replies import reply
from bot.i18n import N_, translator_for

__all__ = ["on_fetch", "on_reload", "on_stats"]


async def on_stats(message: Message, context: ChatContext) -> None:
    svc = context.services
    tr = translator_for(message.from_user)
    stats = await asyncio.to_thread(svc.state.stats)
    summary = svc.engine.summary()
    rate = stats["abstained"] / stats["questions"] if stats["questions"] else 0.0
    passages, size = (summary.passages, summary.size_bytes) if summary else (0, 0)
    built = str(summary.built_at) if summary else tr.gettext(N_("never"))
    lines = [
        tr.say_html(N_("<b>Questions answered</b>: {questions} (abstained {rate})"),
                    questions=stats["questions"], rate=f"{rate:.0%}"),
        tr.say_html(N_("<b>Answer latency</b>: p50 {p50} ms, p95 {p95} ms"),
                    p50=f"{stats['p50_ms']:.0f}", p95=f"{stats['p95_ms']:.0f}"),
        tr.say_html(N_("<b>Feedback</b>: 👍 {up} / 👎 {down}"), up=stats["thumbs_up"],
                    down=stats["thumbs_down"]),
        tr.say_html(N_("<b>Subscribed chats</b>: {subscribers}; <b>following chats</b>: "
                       "{followers}"), subscribers=stats["subscribers"],
                    followers=stats["followers"]),
        tr.say_html(N_("<b>Index</b>: {passages} passages, {size} MB, built {built}"),
                    passages=passages, size=f"{size / 1e6:.1f}", built=built),
    ]
    await reply(message, "\n".join(lines))


async def on_reload(message: Message, context: ChatContext) -> None:
    tr = translator_for(message.from_user)
    await reply(message, escape(await refresh_index(context, tr)))


async def on_fetch(message: Message, context: ChatContext) -> None:
    """Read the feeds now, index what is new, reply with the summary."""
    tr = translator_for(message.from_user)
    await reply(message, escape(tr.say(N_("Fetching the feeds…"))))
    await reply(message, escape(await fetch_news(context, tr)))
