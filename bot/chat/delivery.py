"""The sender: drains the push queue to Telegram, a digest when many arrive at once, one
message per story (later outlets are added to it by an edit, else a short reply). A push has
no user at hand and the state stores no chat language, so its words are English (PUSH_WORDS)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from telegram import Bot, LinkPreviewOptions, ReplyParameters
from telegram.error import BadRequest, Forbidden, TelegramError

from bot import render
from bot.engine import ArticleRef, PushPayload
from bot.i18n import ENGLISH
from bot.state import State, worker_id

log = logging.getLogger(__name__)
PUSH_WORDS = ENGLISH
WORKER = worker_id()  # this process, as the outbox's claim column records it
EDIT_TRIES = 3  # edits of one push racing another replica's before giving up
GONE_CHAT = ("chat not found", "bot was kicked", "user is deactivated", "group chat was deleted",
             "bot was blocked", "chat_write_forbidden", "not enough rights")


async def deliver(bot: Bot, state: State, digest_over: int) -> int:
    """Send what is queued; returns how many pushes were delivered."""
    rows = await asyncio.to_thread(state.outbox.claim_outbox, WORKER)
    by_chat: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_chat[row["chat_id"]].append(row)
    delivered = 0
    for chat_id, items in by_chat.items():
        delivered += await _deliver_chat(bot, state, chat_id, items, digest_over)
    return delivered


async def _deliver_chat(bot: Bot, state: State, chat_id: int, items: list[dict[str, Any]],
                        digest_over: int) -> int:
    """One chat's queued pushes: one message per story (its later outlets added under it),
    a digest when more than `digest_over` stories arrive at once."""
    payloads = {item["id"]: PushPayload.from_dict(item["payload"]) for item in items}
    pushes = [item for item in items if payloads[item["id"]].kind != "also"]
    leads = {payloads[item["id"]].article.article_id: item["id"] for item in pushes}
    joined: dict[int, list[int]] = defaultdict(list)  # a push -> its story's later outlets
    later: list[int] = []  # later outlets of stories pushed before
    for item in items:
        payload = payloads[item["id"]]
        if payload.kind == "also":
            if payload.lead in leads:
                joined[leads[payload.lead]].append(item["id"])
            else:
                later.append(item["id"])

    def also(push_id: int) -> list[ArticleRef]:
        return [payloads[i].article for i in joined[push_id]]

    if len(pushes) > digest_over:
        pages = await asyncio.to_thread(
            render.digest_html, [payloads[item["id"]] for item in pushes], PUSH_WORDS,
            {payloads[item["id"]].article.article_id: also(item["id"]) for item in pushes})
        batches: list[tuple[list[int], list[str], list[ArticleRef] | None]] = [
            ([item["id"] for item in pushes], pages, None)]
    else:  # rendered off the event loop: a long quote must not stall the answers
        batches = [([item["id"]], await asyncio.to_thread(render.push_html, payloads[item["id"]],
                                                          PUSH_WORDS), also(item["id"]))
                   for item in pushes]
    delivered = 0
    for batch, pages, added in batches:
        status = await _send_push(bot, state, chat_id, batch, pages, added)
        done = batch + [i for push_id in batch for i in joined[push_id]]
        await asyncio.to_thread(state.outbox.finish_outbox, done, status)
        if status == "sent":
            delivered += len(done)
        if status == "dropped":
            await asyncio.to_thread(state.outbox.finish_outbox, list(payloads), "dropped")
            return delivered
    for push_id in later:
        status = await _add_to_story(bot, state, chat_id, push_id, payloads[push_id])
        await asyncio.to_thread(state.outbox.finish_outbox, [push_id], status)
        if status == "sent":
            delivered += 1
        if status == "dropped":
            return delivered
    return delivered


async def _send_push(bot: Bot, state: State, chat_id: int, batch: list[int], pages: list[str],
                     added: list[ArticleRef] | None) -> str:
    """Send a push (or a digest, `added` None) and remember the message that shows it, so
    its story's later outlets can be added to it by an edit."""
    shown = pages
    composed = render.with_also(pages[-1], added, PUSH_WORDS) if added is not None else None
    if composed is not None:
        shown = [*pages[:-1], composed]
    elif added:  # too long to add to: each outlet a short message of its own
        for article in added:
            shown = shown + render.addition_html(
                PushPayload(kind="also", topic=None, article=article, quote=None), PUSH_WORDS)
    status, sent = await _send(bot, state, chat_id, shown)
    if status == "sent":
        message_id = sent[len(pages) - 1]
        for push_id in batch:  # a digest's or too long a push's message is replied to
            await asyncio.to_thread(state.outbox.record_push_message, push_id, message_id,
                                    pages[-1] if composed is not None else None,
                                    [a.to_dict() for a in added or []])
    return status


async def _add_to_story(bot: Bot, state: State, chat_id: int, push_id: int,
                        payload: PushPayload) -> str:
    """Another outlet of a story the chat was pushed: added to that push's message ("Also:
    Reuters, AP") when Telegram lets it be edited, else a short follow-up replying to it."""
    lead = await asyncio.to_thread(state.outbox.push_message, chat_id, payload.lead or "")
    if lead is not None and lead["status"] == "pending":
        return "pending"  # its story's push is not out yet (another replica may be sending it)
    if lead is None or lead["status"] != "sent":  # that push never arrived: this one leads
        pages = await asyncio.to_thread(render.push_html, PushPayload(
            kind="new", topic=None, article=payload.article, quote=payload.quote), PUSH_WORDS)
        return await _send_push(bot, state, chat_id, [push_id], pages, [])
    if lead["message_id"] and lead["message_html"]:
        status = await _edit_story(bot, state, chat_id, payload.lead or "", lead,
                                   payload.article)
        if status != "failed":
            return status
    pages = await asyncio.to_thread(render.addition_html, payload, PUSH_WORDS)
    status, _ = await _send(bot, state, chat_id, pages, reply_to=lead["message_id"])
    return status


async def _edit_story(bot: Bot, state: State, chat_id: int, lead_article: str,
                      lead: dict[str, Any], article: ArticleRef) -> str:
    """Add an outlet to a story's push by editing its message; when another replica added
    one meanwhile, edit again with both (so the message ends with every outlet)."""
    for _ in range(EDIT_TRIES):
        also = [*(a for a in lead["also"] if a.get("article_id") != article.article_id),
                article.to_dict()]  # once, also when delivered again after a crash
        page = render.with_also(lead["message_html"], [ArticleRef.from_dict(a) for a in also],
                                PUSH_WORDS)
        if page is None:
            return "failed"  # no room left in that message
        status = await _edit(bot, state, chat_id, lead["message_id"], page)
        if status != "sent" or await asyncio.to_thread(state.outbox.replace_push_also, lead["id"],
                                                       lead["also"], also):
            return status
        again = await asyncio.to_thread(state.outbox.push_message, chat_id, lead_article)
        lead = again if again is not None else lead
    return "sent"


async def _edit(bot: Bot, state: State, chat_id: int, message_id: int, page: str) -> str:
    """Edit a sent push: `sent`, `failed` (it cannot be: deleted, too old), `pending` or
    `dropped` (chat gone)."""
    try:
        await bot.edit_message_text(page, chat_id=chat_id, message_id=message_id,
                                    parse_mode="HTML",
                                    link_preview_options=LinkPreviewOptions(is_disabled=True))
        return "sent"
    except BadRequest as err:
        if "not modified" in str(err).lower():
            return "sent"  # already shows it (a repeated delivery)
        return await _refused(state, chat_id, err, f"edit of push {message_id}")
    except TelegramError as err:
        return await _refused(state, chat_id, err, f"edit of push {message_id}")


async def _send(bot: Bot, state: State, chat_id: int, pages: list[str],
                reply_to: int | None = None) -> tuple[str, list[int]]:
    """Send a push's pages: `sent`, `failed`, `pending` (try again) or `dropped` (chat
    gone), with the ids of the messages sent; the first page replies to `reply_to`."""
    sent: list[int] = []
    try:
        for page in pages:
            reply = (ReplyParameters(reply_to, allow_sending_without_reply=True)
                     if reply_to and not sent else None)
            message = await bot.send_message(
                chat_id, page, parse_mode="HTML", reply_parameters=reply,
                link_preview_options=LinkPreviewOptions(is_disabled=True))
            sent.append(message.message_id)
        return "sent", sent
    except TelegramError as err:
        return await _refused(state, chat_id, err, "push"), sent


async def _refused(state: State, chat_id: int, err: TelegramError, what: str) -> str:
    """What Telegram's refusal of a send or an edit means: `dropped` when the chat is gone
    or blocked the bot (it is forgotten), `failed` for another refusal, `pending` (try
    again) for an outage or flood control."""
    if isinstance(err, BadRequest) and not any(
            gone in str(err).lower() for gone in GONE_CHAT):
        log.warning("%s to %s refused: %s", what, chat_id, err)
        return "failed"
    if not isinstance(err, (Forbidden, BadRequest)):
        log.warning("%s to %s not done yet: %s", what, chat_id, err)
        return "pending"
    log.info("chat %s is gone or blocked the bot (%s): unsubscribed", chat_id, err)
    await asyncio.to_thread(state.forget_chat, chat_id)
    return "dropped"
