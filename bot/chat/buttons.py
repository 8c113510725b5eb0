"""The buttons under an answer: how they are made, and what a press shows (the full paragraph,
more sources, an article's lead) or records (feedback)."""

from __future__ import annotations

import asyncio

from telegram import (
    CallbackQuery,
    CopyTextButton,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
    WebAppInfo,
)

from bot import render
from bot.chat.context import ChatContext, Progress, Services
from bot.chat.limits import SLOW_DOWN, over_limit
from bot.chat.links import Reach
from bot.chat.replies import send_pages
from bot.chat.sources import compare_in_chat
from bot.engine import Answer, Quote
from bot.i18n import ENGLISH, N_, Translator, translator_for
from bot.state import StoredAnswer

__all__ = ["GONE", "NO_LONGER", "button_pages", "keyboard", "on_button", "reach_rows"]

GONE = N_("That article is no longer in the index.")
NO_LONGER = N_("That answer is no longer available.")
NOT_UNDERSTOOD = N_("This button is not understood.")
NOTHING_MORE = N_("Nothing more to show.")
FULL_PARAGRAPH_PAGES = 3  # messages of quote one press may send; a note says where the rest is


def keyboard(answer: Answer, answer_id: int | None, more: bool,
             tr: Translator = ENGLISH, reach: Reach | None = None) -> InlineKeyboardMarkup | None:
    """The buttons under a stored answer: its articles when it abstained, else the full
    paragraph, more sources (when there are more) and feedback; labels in `tr`'s language
    (an article's title stays as it is)."""
    if answer_id is None:
        return None
    if answer.abstained:
        rows = [[InlineKeyboardButton(f"📄 {render.shorten(s['title'], 60)}",
                                      callback_data=f"a:{answer_id}:{i}")]
                for i, s in enumerate(answer.suggestions)]
        return InlineKeyboardMarkup(rows) if rows else None
    first = [InlineKeyboardButton(tr.gettext(N_("Full paragraph")),
                                  callback_data=f"p:{answer_id}:0")]
    if more:
        first.append(InlineKeyboardButton(tr.gettext(N_("More sources")),
                                          callback_data=f"m:{answer_id}"))
    if answer.also_reported and not answer.compared:
        first.append(InlineKeyboardButton(tr.gettext(N_("Compare outlets")),
                                          callback_data=f"c:{answer_id}"))
    rows = [first, [
        InlineKeyboardButton("👍", callback_data=f"f:{answer_id}:1"),
        InlineKeyboardButton("👎", callback_data=f"f:{answer_id}:-1"),
    ]]
    if reach is not None:
        rows.extend(reach_rows(reach, tr))
    return InlineKeyboardMarkup(rows)


def reach_rows(reach: Reach, tr: Translator = ENGLISH) -> list[list[InlineKeyboardButton]]:
    """Share (types the question after @bot in a chat the user picks), Copy (attribution and
    link to the clipboard), Link (opens the bot on the quote), Open in article."""
    row = [InlineKeyboardButton(tr.gettext(N_("Share")), switch_inline_query=reach.share)]
    if reach.copy:
        row.append(InlineKeyboardButton(tr.gettext(N_("Copy")),
                                        copy_text=CopyTextButton(reach.copy)))
    if reach.link:
        row.append(InlineKeyboardButton(tr.gettext(N_("Link")), url=reach.link))
    rows = [row]
    if reach.page:
        label = tr.gettext(N_("Open in article"))
        rows.append([InlineKeyboardButton(label, web_app=WebAppInfo(reach.page))
                     if reach.web_app else InlineKeyboardButton(label, url=reach.page)])
    return rows


def _parse(data: str) -> tuple[str, int, int] | None:
    """(kind, answer id, argument) of a button's data, or None when it is not one of ours."""
    parts = data.split(":")
    try:
        return parts[0], int(parts[1]), int(parts[2]) if len(parts) > 2 else 0
    except (IndexError, ValueError):
        return None


async def _answer(query: CallbackQuery, progress: Progress, text: str | None = None) -> None:
    """Answer a press exactly once, also when its handling is tried again; `text` (English)
    in the language of the user who pressed."""
    if not progress.answered:
        await query.answer(translator_for(query.from_user).gettext(text) if text else None)
        progress.answered = True


async def on_button(update: Update, context: ChatContext) -> None:
    """The buttons under an answer, honoured only in the chat the answer was given in and
    within the sender's and chat's rate limits; each press is answered exactly once."""
    query = update.callback_query
    if query is None or not query.data:
        return
    svc = context.services
    progress = context.progress(update)
    parsed = _parse(query.data)
    if parsed is None:
        await _answer(query, progress, NOT_UNDERSTOOD)
        return
    kind, answer_id, arg = parsed
    if query.message is None:  # a button on an inline message: no chat to check it against
        await _answer(query, progress, NO_LONGER)
        return
    chat_id = query.message.chat.id  # also known for a message too old to reply to
    if progress.allowed is None:
        progress.allowed = await over_limit(svc, f"user:{query.from_user.id}", chat_id) is None
    if not progress.allowed:
        await _answer(query, progress, SLOW_DOWN)
        return
    loop = asyncio.get_running_loop()
    record = await loop.run_in_executor(svc.executor, svc.state.get_answer, answer_id)
    if record is None or record.chat_id != chat_id:
        # The same words whether it never existed or is another chat's.
        await _answer(query, progress, NO_LONGER)
        return
    await _press(query, svc, progress, record, (kind, answer_id, arg))


async def _press(query: CallbackQuery, svc: Services, progress: Progress,
                 record: StoredAnswer, button: tuple[str, int, int]) -> None:
    """A press on a button of a stored answer of this chat: feedback, or what it shows."""
    kind, answer_id, arg = button
    loop = asyncio.get_running_loop()
    if kind == "f" and arg in (1, -1):
        await loop.run_in_executor(svc.executor, svc.state.record_feedback, answer_id,
                                   query.from_user.id, arg)
        await _answer(query, progress, N_("Thanks for the feedback!"))
        return
    outcome, pages = await loop.run_in_executor(
        svc.executor, button_pages, svc, record, kind, arg, translator_for(query.from_user))
    if not pages:
        await _answer(query, progress, outcome)
        return
    await _answer(query, progress)
    if isinstance(query.message, Message):
        await send_pages(query.message, pages, progress)


def button_pages(svc: Services, record: StoredAnswer, kind: str, arg: int,
                 tr: Translator = ENGLISH) -> tuple[str, list[str]]:
    """In a worker thread: the quotes a button shows, rendered in `tr`'s language (a huge
    paragraph is capped at FULL_PARAGRAPH_PAGES messages and a note); or why there is nothing
    to show (in English: `_answer` translates it)."""
    engine, max_quotes = svc.engine, svc.settings.max_quotes
    stored = record.quotes
    quotes: list[Quote | None] = []
    if kind == "p" and 0 <= arg < len(stored):
        quotes = [engine.paragraph(Quote.from_dict(stored[arg]))]
    elif kind == "m":
        quotes = [engine.still_there(Quote.from_dict(q)) for q in stored[max_quotes:]]
    elif kind == "a" and 0 <= arg < len(record.suggestions):
        quotes = [engine.lead(record.suggestions[arg]["article_id"])]
    elif kind == "c":  # Compare outlets: the question asked again, as /compare asks it
        compared = compare_in_chat(svc, record.chat_id, record.question)
        return ("" if not compared.abstained else GONE), (
            render.answer_html(compared, tr=tr) if not compared.abstained else [])
    found = [q for q in quotes if q is not None]
    if not found:
        return (GONE if quotes else NOTHING_MORE), []
    if len(found) == 1:
        return "", render.paragraph_pages(found[0], FULL_PARAGRAPH_PAGES, tr)
    blocks = [b for q in found
              for b in render.quote_blocks(q.text, render.attribution_html(q, tr), tr=tr)]
    return "", render.pack(blocks)
