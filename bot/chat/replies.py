"""Replying: in HTML without link previews (the application's Defaults), threaded to the asking
message in groups, retried with back-off while the Bot API is unreachable."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Message
from telegram.constants import ChatType
from telegram.error import BadRequest, NetworkError

from bot.chat.context import Progress
from bot.chat.retry import Backoff, pause

__all__ = ["argument", "is_group", "reply", "send_pages", "topic_thread"]

log = logging.getLogger(__name__)
# A reply waits out an outage this long, each wait at most SEND_MAX_DELAY; past it, the
# update's own retry (InboxWorker._handle) sends the pages not sent yet (send_pages).
SEND_RETRY_SECONDS = 120.0
SEND_MAX_DELAY = 15.0


def is_group(message: Message) -> bool:
    return message.chat.type in (ChatType.GROUP, ChatType.SUPERGROUP)


def topic_thread(message: Message) -> int | None:
    """The forum topic a message was posted in, if any."""
    return message.message_thread_id if message.is_topic_message else None


def argument(message: Message) -> str:
    """The text after a command."""
    parts = (message.text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


async def reply(message: Message, html: str,
                markup: InlineKeyboardMarkup | None = None) -> Message:
    """Reply in HTML, threaded to the asking message in groups, inside its forum topic.
    While the Bot API is unreachable the reply is retried with back-off, not dropped."""
    backoff = Backoff(1.0, cap=SEND_MAX_DELAY)
    while True:
        try:
            return await message.reply_text(html, reply_markup=markup,
                                             do_quote=is_group(message))
        except BadRequest:  # a NetworkError in python-telegram-bot, but refused for good
            raise
        except NetworkError as err:  # includes TimedOut: Telegram unreachable for now
            if backoff.waited >= SEND_RETRY_SECONDS:
                raise
            delay = backoff.next()
            log.warning("reply not sent yet (%s); retrying in %.0f s", err, delay)
            await pause(delay)


async def send_pages(message: Message, pages: list[str], progress: Progress,
                     markup: InlineKeyboardMarkup | None = None) -> None:
    """Send the pages not sent yet by an earlier attempt; the markup goes on the last."""
    for i, page in enumerate(pages):
        if i < progress.sent:
            continue
        last = i == len(pages) - 1
        sent = await reply(message, page, markup if last else None)
        progress.sent = i + 1
        progress.message_ids.append(sent.message_id)
