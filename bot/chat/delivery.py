"""The sender: drains the push queue to Telegram, a digest when many arrive at once. A push has
no user at hand and the state stores no chat language, so its words are English (PUSH_WORDS)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from telegram import Bot, LinkPreviewOptions
from telegram.error import BadRequest, Forbidden, TelegramError

from bot import render
from bot.engine import PushPayload
from bot.i18n import ENGLISH
from bot.state import State, worker_id

log = logging.getLogger(__name__)
PUSH_WORDS = ENGLISH
WORKER = worker_id()  # this process, as the outbox's claim column records it
GONE_CHAT = ("chat not found", "bot was kicked", "user is deactivated", "group chat was deleted",
             "bot was blocked", "chat_write_forbidden", "not enough rights")


async def deliver(bot: Bot, state: State, digest_over: int) -> int:
    """Send what is queued; returns how many pushes were delivered."""
    rows = await asyncio.to_thread(state.claim_outbox, WORKER)
    by_chat: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_chat[row["chat_id"]].append(row)
    delivered = 0
    for chat_id, items in by_chat.items():
        ids = [item["id"] for item in items]
        payloads = [PushPayload.from_dict(item["payload"]) for item in items]  # also old rows
        if len(items) > digest_over:
            batches = [(ids, await asyncio.to_thread(render.digest_html, payloads,
                                                     PUSH_WORDS))]
        else:  # rendered off the event loop: a long quote must not stall the answers
            batches = [([item["id"]], await asyncio.to_thread(render.push_html, payload,
                                                              PUSH_WORDS))
                       for item, payload in zip(items, payloads, strict=True)]
        for batch_ids, pages in batches:
            status = await _send(bot, state, chat_id, pages)
            await asyncio.to_thread(state.finish_outbox, batch_ids, status)
            if status == "sent":
                delivered += len(batch_ids)
            if status == "dropped":
                await asyncio.to_thread(state.finish_outbox,
                                        [i for i in ids if i not in batch_ids], "dropped")
                break
    return delivered


async def _send(bot: Bot, state: State, chat_id: int, pages: list[str]) -> str:
    """Send a push's pages: `sent`, `failed`, `pending` (try again) or `dropped` (chat gone)."""
    try:
        for page in pages:
            await bot.send_message(chat_id, page, parse_mode="HTML",
                                   link_preview_options=LinkPreviewOptions(is_disabled=True))
        return "sent"
    except Forbidden as err:
        log.info("chat %s blocked the bot (%s): unsubscribed", chat_id, err)
    except BadRequest as err:
        if not any(reason in str(err).lower() for reason in GONE_CHAT):
            log.warning("push to %s refused: %s", chat_id, err)
            return "failed"
        log.info("chat %s is gone (%s): unsubscribed", chat_id, err)
    except TelegramError as err:
        log.warning("push to %s not delivered yet: %s", chat_id, err)
        return "pending"
    await asyncio.to_thread(state.forget_chat, chat_id)
    return "dropped"
