"""The sender: drains the push queue to Telegram, a digest when many arrive at once, one
message per story (later outlets are added to it by an edit, else a short reply). A push has
no user at hand and the state stores no chat language, so its words are English (PUSH_WORDS)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any, NamedTuple

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
# Telegram's descriptions of a refusal that will not change: the chat is gone for the bot.
GONE_CHAT = ("chat not found", "bot was kicked", "user is deactivated", "group chat was deleted",
             "bot was blocked", "chat_write_forbidden", "not enough rights")
# One message to send: its pushes' outbox ids, its pages, and the later outlets to add to
# its last page (None: a digest, whose entries list their outlets themselves).
_Batch = tuple[list[int], list[str], list[ArticleRef] | None]


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


class _Queue(NamedTuple):
    """One chat's claimed pushes sorted out by story (outbox ids, in queue order)."""

    pushes: list[int]  # a story's first push: a message of its own (or a digest's entry)
    joined: dict[int, list[int]]  # a push -> its story's later outlets queued with it
    later: list[int]  # later outlets of stories not pushed in this round


async def _deliver_chat(bot: Bot, state: State, chat_id: int, items: list[dict[str, Any]],
                        digest_over: int) -> int:
    """One chat's queued pushes: one message per story (its later outlets added under it),
    a digest when more than `digest_over` stories arrive at once."""
    payloads = {item["id"]: PushPayload.from_dict(item["payload"]) for item in items}
    queue = _sort_out(payloads)
    batches = await _render_batches(payloads, queue, digest_over)
    delivered, dropped = await _send_batches(bot, state, chat_id, batches, queue.joined)
    if dropped:
        # The chat is gone (_refused forgot it): the rest of its queue is not sent.
        await asyncio.to_thread(state.outbox.finish_outbox, list(payloads), "dropped")
        return delivered
    return delivered + await _add_later(bot, state, chat_id, queue.later, payloads)


def _sort_out(payloads: dict[int, PushPayload]) -> _Queue:
    """Tell a story's first push from its later outlets; an outlet whose story is pushed in
    this same round is shown in that push's message rather than as an edit."""
    pushes = [push_id for push_id, payload in payloads.items() if payload.kind != "also"]
    leads = {payloads[push_id].article.article_id: push_id for push_id in pushes}
    joined: dict[int, list[int]] = defaultdict(list)
    later: list[int] = []
    for push_id, payload in payloads.items():
        if payload.kind != "also":
            continue
        if payload.lead in leads:
            joined[leads[payload.lead]].append(push_id)
        else:
            later.append(push_id)
    return _Queue(pushes, joined, later)


async def _render_batches(payloads: dict[int, PushPayload], queue: _Queue,
                          digest_over: int) -> list[_Batch]:
    """The messages to send: one digest of every story, or one batch per story with its
    later outlets to add. Rendered off the event loop: a long quote must not stall the
    answers."""

    def also(push_id: int) -> list[ArticleRef]:
        return [payloads[i].article for i in queue.joined[push_id]]

    if len(queue.pushes) > digest_over:
        stories = [payloads[push_id] for push_id in queue.pushes]
        added = {payloads[push_id].article.article_id: also(push_id) for push_id in queue.pushes}
        pages = await asyncio.to_thread(render.digest_html, stories, PUSH_WORDS, added)
        return [(list(queue.pushes), pages, None)]
    batches: list[_Batch] = []
    for push_id in queue.pushes:
        pages = await asyncio.to_thread(render.push_html, payloads[push_id], PUSH_WORDS)
        batches.append(([push_id], pages, also(push_id)))
    return batches


async def _send_batches(bot: Bot, state: State, chat_id: int, batches: list[_Batch],
                        joined: dict[int, list[int]]) -> tuple[int, bool]:
    """Send the batches in order; (pushes delivered, whether the chat turned out gone)."""
    delivered = 0
    for batch, pages, added in batches:
        status = await _send_push(bot, state, chat_id, batch, pages, added)
        # The outlets joined to a push are shown in its message: they share its fate.
        done = batch + [i for push_id in batch for i in joined[push_id]]
        await asyncio.to_thread(state.outbox.finish_outbox, done, status)
        if status == "sent":
            delivered += len(done)
        if status == "dropped":
            return delivered, True
    return delivered, False


async def _add_later(bot: Bot, state: State, chat_id: int, later: list[int],
                     payloads: dict[int, PushPayload]) -> int:
    """Add the later outlets of stories pushed before to their messages; how many were."""
    delivered = 0
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
    composed = None  # the last page with the outlets added, when they fit in one message
    if added is not None:
        composed = render.with_also(pages[-1], added, PUSH_WORDS)
    if composed is not None:
        shown = [*pages[:-1], composed]
    elif added:  # too long to add to: each outlet a short message of its own
        for article in added:
            shown = shown + render.addition_html(
                PushPayload(kind="also", topic=None, article=article, quote=None), PUSH_WORDS)
    status, sent = await _send(bot, state, chat_id, shown)
    if status != "sent":
        return status
    # The push's last page, not the outlets' messages after it, is what later outlets edit.
    # Its text is kept without the outlets (an edit composes it again with all of them); a
    # digest's or too long a push's is not kept (None), so later outlets reply to it.
    message_id = sent[len(pages) - 1]
    html = pages[-1] if composed is not None else None
    also = [a.to_dict() for a in added or []]
    for push_id in batch:
        await asyncio.to_thread(state.outbox.record_push_message, push_id, message_id, html,
                                also)
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
        if status != "sent":
            return status
        # Compare-and-set of the outlets recorded: if another replica's edit changed them
        # since they were read, this edit left that replica's outlet out: read them again
        # and edit with both.
        if await asyncio.to_thread(state.outbox.replace_push_also, lead["id"], lead["also"],
                                   also):
            return status
        again = await asyncio.to_thread(state.outbox.push_message, chat_id, lead_article)
        if again is not None:
            lead = again
    # Still racing after EDIT_TRIES edits, each of which showed this outlet: counted as sent
    # rather than edited on and on.
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
            reply = None
            if reply_to and not sent:  # the first page only; sent even if that one is deleted
                reply = ReplyParameters(reply_to, allow_sending_without_reply=True)
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
