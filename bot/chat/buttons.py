"""The buttons under an answer: how they are made, and what a press shows (the full paragraph,
more sources, an article's lead) or records (feedback)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

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
from bot.chat.callbacks import Kind, Press, encode, read_press
from bot.chat.context import ChatContext, Progress, Services
from bot.chat.limits import SLOW_DOWN, over_limit
from bot.chat.links import Reach
from bot.chat.replies import send_pages
from bot.chat.sources import compare_in_chat
from bot.engine import Answer, Outcome, Quote
from bot.i18n import ENGLISH, N_, Translator, translator_for
from bot.state import StoredAnswer

__all__ = [
    "GONE",
    "NO_LONGER",
    "keyboard",
    "on_article",
    "on_compare",
    "on_feedback",
    "on_more",
    "on_other_button",
    "on_paragraph",
    "reach_rows",
]

GONE = N_("That article is no longer in the index.")
NO_LONGER = N_("That answer is no longer available.")
NOT_UNDERSTOOD = N_("This button is not understood.")
NOTHING_MORE = N_("Nothing more to show.")
FULL_PARAGRAPH_PAGES = 3  # messages of quote one press may send; a note says where the rest is
THANKS = N_("Thanks for the feedback!")
# What a press shows, made in a worker thread: why there is nothing to show (in English, for
# `_answer` to translate) or the pages, in the language of the user who pressed.
Shown = tuple[str, list[str]]
PagesOf = Callable[[Services, StoredAnswer, int, Translator], Shown]


def keyboard(answer: Answer, answer_id: int | None, more: bool,
             tr: Translator = ENGLISH, reach: Reach | None = None) -> InlineKeyboardMarkup | None:
    """The buttons under a stored answer: its articles when it abstained, else the full
    paragraph, more sources (when there are more) and feedback; labels in `tr`'s language
    (an article's title stays as it is)."""
    if answer_id is None:
        return None
    if answer.outcome is not Outcome.QUOTED:  # the nearest articles' buttons
        rows = [[InlineKeyboardButton(f"📄 {render.shorten(s['title'], 60)}",
                                      callback_data=encode(Kind.ARTICLE, answer_id, i))]
                for i, s in enumerate(answer.suggestions)]
        return InlineKeyboardMarkup(rows) if rows else None
    first = [InlineKeyboardButton(tr.gettext(N_("Full paragraph")),
                                  callback_data=encode(Kind.PARAGRAPH, answer_id, 0))]
    if more:
        first.append(InlineKeyboardButton(tr.gettext(N_("More sources")),
                                          callback_data=encode(Kind.MORE, answer_id)))
    if answer.also_reported and not answer.compared:
        first.append(InlineKeyboardButton(tr.gettext(N_("Compare outlets")),
                                          callback_data=encode(Kind.COMPARE, answer_id)))
    rows = [first, [
        InlineKeyboardButton("👍", callback_data=encode(Kind.FEEDBACK, answer_id, 1)),
        InlineKeyboardButton("👎", callback_data=encode(Kind.FEEDBACK, answer_id, -1)),
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
        if reach.web_app:
            button = InlineKeyboardButton(label, web_app=WebAppInfo(reach.page))
        else:
            button = InlineKeyboardButton(label, url=reach.page)
        rows.append([button])
    return rows


async def _answer(query: CallbackQuery, progress: Progress, text: str | None = None) -> None:
    """Answer a press exactly once, also when its handling is tried again; `text` (English)
    in the language of the user who pressed."""
    if not progress.answered:
        said = translator_for(query.from_user).gettext(text) if text else None
        await query.answer(said)
        progress.answered = True


async def _stored_press(update: Update, context: ChatContext,
                        ) -> tuple[CallbackQuery, Press, StoredAnswer] | None:
    """A press on a button under an answer and the stored answer it acts on; None (the press
    answered with why) when its data is not understood, the answer is not this chat's (or
    gone), or the sender or chat is past its rate limit. Every kind's handler starts here."""
    query = update.callback_query
    if query is None or not query.data:
        return None
    svc = context.services
    progress = context.progress(update)
    press = read_press(query.data)
    if press is None:
        await _answer(query, progress, NOT_UNDERSTOOD)
        return None
    if query.message is None:  # a button on an inline message: no chat to check it against
        await _answer(query, progress, NO_LONGER)
        return None
    chat_id = query.message.chat.id  # also known for a message too old to reply to
    if progress.allowed is None:  # counted once per press, not again when it is retried
        over = await over_limit(svc, f"user:{query.from_user.id}", chat_id)
        progress.allowed = over is None
    if not progress.allowed:
        await _answer(query, progress, SLOW_DOWN)
        return None
    loop = asyncio.get_running_loop()
    record = await loop.run_in_executor(svc.executor, svc.state.get_answer, press.answer_id)
    if record is None or record.chat_id != chat_id:
        # The same words whether it never existed or is another chat's.
        await _answer(query, progress, NO_LONGER)
        return None
    return query, press, record


async def on_feedback(update: Update, context: ChatContext) -> None:
    """👍/👎 under an answer: the verdict recorded (one per user and answer)."""
    pressed = await _stored_press(update, context)
    if pressed is None:
        return
    query, press, _ = pressed
    progress = context.progress(update)
    if press.arg not in (1, -1):
        await _answer(query, progress, NOTHING_MORE)
        return
    svc = context.services
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(svc.executor, svc.state.record_feedback, press.answer_id,
                               query.from_user.id, press.arg)
    await _answer(query, progress, THANKS)


async def on_paragraph(update: Update, context: ChatContext) -> None:
    """Full paragraph: the whole paragraph around the quote, as the live index has it."""
    await _show(update, context, _paragraph_pages)


async def on_more(update: Update, context: ChatContext) -> None:
    """More sources: the quotes past those shown, those still in the live index."""
    await _show(update, context, _more_pages)


async def on_article(update: Update, context: ChatContext) -> None:
    """An abstention's suggested article: its lead paragraph."""
    await _show(update, context, _article_pages)


async def on_compare(update: Update, context: ChatContext) -> None:
    """Compare outlets: the answer's question asked again, as /compare asks it."""
    await _show(update, context, _compare_pages)


async def on_other_button(update: Update, context: ChatContext) -> None:
    """Data of no kind the bot makes (a client may send any): not understood when it is not
    of a button's shape; else, after the same checks as a real button, nothing to show."""
    await _show(update, context, _nothing)


async def _show(update: Update, context: ChatContext, pages_of: PagesOf) -> None:
    """Send what a press on a button of a stored answer of this chat shows (made in a worker
    thread by `pages_of`), or answer the press with why there is nothing."""
    pressed = await _stored_press(update, context)
    if pressed is None:
        return
    query, press, record = pressed
    svc, progress = context.services, context.progress(update)
    tr = translator_for(query.from_user)
    loop = asyncio.get_running_loop()
    outcome, pages = await loop.run_in_executor(svc.executor, pages_of, svc, record, press.arg,
                                                tr)
    if not pages:
        await _answer(query, progress, outcome)
        return
    await _answer(query, progress)
    if isinstance(query.message, Message):
        await send_pages(query.message, pages, progress)


def _paragraph_pages(svc: Services, record: StoredAnswer, index: int, tr: Translator) -> Shown:
    stored = record.quote(index)
    if stored is None:
        return _quote_pages([], tr)
    return _quote_pages([svc.engine.paragraph(Quote.from_dict(stored))], tr)


def _more_pages(svc: Services, record: StoredAnswer, _: int, tr: Translator) -> Shown:
    hidden = record.quotes[svc.settings.max_quotes:]
    return _quote_pages([svc.engine.still_there(Quote.from_dict(q)) for q in hidden], tr)


def _article_pages(svc: Services, record: StoredAnswer, index: int, tr: Translator) -> Shown:
    article_id = record.suggested_article(index)
    if article_id is None:
        return _quote_pages([], tr)
    return _quote_pages([svc.engine.lead(article_id)], tr)


def _compare_pages(svc: Services, record: StoredAnswer, _: int, tr: Translator) -> Shown:
    compared = compare_in_chat(svc, record.chat_id, record.question)
    if compared.outcome is not Outcome.QUOTED:
        return GONE, []
    return "", render.answer_html(compared, tr=tr)


def _nothing(svc: Services, record: StoredAnswer, _: int, tr: Translator) -> Shown:
    return NOTHING_MORE, []


def _quote_pages(quotes: list[Quote | None], tr: Translator) -> Shown:
    """The quotes a button shows (None: gone from the index), rendered; a huge paragraph is
    capped at FULL_PARAGRAPH_PAGES messages and a note. Nothing to show when none is left."""
    found = [q for q in quotes if q is not None]
    if not found:
        return (GONE if quotes else NOTHING_MORE), []
    if len(found) == 1:
        return "", render.paragraph_pages(found[0], FULL_PARAGRAPH_PAGES, tr)
    blocks = [b for q in found
              for b in render.quote_blocks(q.text, render.attribution_html(q, tr), tr=tr)]
    return "", render.pack(blocks)
