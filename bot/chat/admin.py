"""The maintainers' commands (ADMIN_IDS; refused for anyone else by the command table):
/stats, /reload, /fetch."""

from __future__ import annotations

import asyncio
from html import escape

from telegram import Message

from bot.chat.context import ChatContext
from bot.chat.jobs import fetch_news, refresh_index
from bot.chat.replies import reply

__all__ = ["on_fetch", "on_reload", "on_stats"]


async def on_stats(message: Message, context: ChatContext) -> None:
    svc = context.services
    stats = await asyncio.to_thread(svc.state.stats)
    summary = svc.engine.summary()
    rate = stats["abstained"] / stats["questions"] if stats["questions"] else 0.0
    passages, size = (summary.passages, summary.size_bytes) if summary else (0, 0)
    built = summary.built_at if summary else "never"
    lines = [
        f"<b>Questions answered</b>: {stats['questions']} (abstained {rate:.0%})",
        f"<b>Answer latency</b>: p50 {stats['p50_ms']:.0f} ms, p95 {stats['p95_ms']:.0f} ms",
        f"<b>Feedback</b>: 👍 {stats['thumbs_up']} / 👎 {stats['thumbs_down']}",
        f"<b>Subscribed chats</b>: {stats['subscribers']}; <b>following chats</b>: "
        f"{stats['followers']}",
        f"<b>Index</b>: {passages} passages, {size / 1e6:.1f} MB, built {escape(str(built))}",
    ]
    await reply(message, "\n".join(lines))


async def on_reload(message: Message, context: ChatContext) -> None:
    await reply(message, escape(await refresh_index(context)))


async def on_fetch(message: Message, context: ChatContext) -> None:
    """Read the feeds now, index what is new, reply with the summary."""
    await reply(message, escape("Fetching the feeds…"))
    await reply(message, escape(await fetch_news(context)))
