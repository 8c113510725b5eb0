"""Verbatim in any chat: inline mode (`@bot question` shows quote cards; choosing one posts
the quote with its attribution) and guest mode (Bot API 10.0: the bot mentioned in a chat it
is not a member of answers in place, the replied-to message being the question when the
mention says nothing else)."""

from __future__ import annotations

import asyncio
import logging
import re
from html import escape

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.error import TelegramError

from bot import render
from bot.chat.context import ChatContext, Services
from bot.chat.limits import SLOW_DOWN, over_limit
from bot.chat.links import deep_link, link_id, share_query
from bot.chat.pages import article_page_url
from bot.engine import HELP, Answer, Notice, NoticeCode, Outcome, Quote
from bot.i18n import N_, Translator, translator_for

__all__ = ["CACHE_SECONDS", "MAX_CARDS", "on_chosen_result", "on_guest_message",
           "on_inline_query"]

log = logging.getLogger(__name__)
MAX_CARDS = 5
CACHE_SECONDS = 300  # Telegram may show the same cards for the same query this long
DESCRIPTION_CHARS = 120
EXAMPLES_TITLE = N_("Try: {question}")
EXAMPLES_HINT = N_("Tap “Ask this”, or type your own question after my name.")
ASK_THIS = N_("Ask this")
NOT_ANSWERED = N_("The articles do not answer that")
NOT_ANSWERED_TEXT = N_("The articles I hold do not answer “{question}”.")
OPEN_BOT = N_("Open the bot")
OPEN_ARTICLE = N_("Open in article")


def card_html(quote: Quote, link: str | None, tr: Translator,
              page: str | None = None) -> str | None:
    """The message a card posts: the quote as a blockquote, its attribution, and the links to
    it (the bot; its article page when PUBLIC_URL is set); None when it does not fit one
    message."""
    blocks = render.quote_blocks(quote.text, render.attribution_html(quote, tr), tr=tr)
    if len(blocks) != 1:
        return None
    html = blocks[0].html
    links = [f'<a href="{escape(url)}">{escape(tr.say(label))}</a>'
             for url, label in ((page, OPEN_ARTICLE), (link, OPEN_BOT)) if url]
    if links:
        html += "\n" + " · ".join(links)
    # Telegram counts a message in UTF-16 units; 40 leaves room for the links' words.
    fits = render.utf16_len(blocks[0].visible) + 40 <= render.TELEGRAM_LIMIT
    return html if fits else None


def cards(answer: Answer, svc: Services, username: str | None, tr: Translator,
          examples: list[str]) -> list[InlineQueryResultArticle]:
    """In a worker thread: the result cards of an answer (a quote each, at most 5), the
    example questions when it was empty or small talk, or one card saying it is not answered."""
    if answer.outcome.is_notice or not answer.question.strip():
        return [InlineQueryResultArticle(
            id=f"x{i}", title=tr.say(EXAMPLES_TITLE, question=question),
            description=tr.say(EXAMPLES_HINT),
            input_message_content=InputTextMessageContent(escape(question)),
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(
                tr.gettext(ASK_THIS), switch_inline_query_current_chat=question)]]))
            for i, question in enumerate(examples[:MAX_CARDS])]
    if answer.outcome is not Outcome.QUOTED:
        nearest = "; ".join(render.shorten(s["title"], 60) for s in answer.suggestions)
        text = tr.say(NOT_ANSWERED_TEXT, question=answer.question)
        return [InlineQueryResultArticle(
            id="none", title=tr.say(NOT_ANSWERED),
            description=tr.say(render.NEAREST, titles=nearest) if nearest else None,
            input_message_content=InputTextMessageContent(escape(text)))]
    results = []
    for quote in answer.quotes[:MAX_CARDS]:
        quote_link = link_id(quote, answer.index_version)
        svc.state.link_quote(quote_link, quote.article_id, quote.start, quote.end, quote.text,
                             answer.index_version)
        link = deep_link(username, quote_link)
        page = article_page_url(svc.settings.public_url, quote, quote_link)
        html = card_html(quote, link, tr, page)
        if html is None:
            continue
        buttons = [InlineKeyboardButton(tr.gettext(N_("Share")),
                                        switch_inline_query=share_query(answer.question))]
        if link:
            buttons.append(InlineKeyboardButton(tr.gettext(N_("Link")), url=link))
        results.append(InlineQueryResultArticle(
            id=quote_link, title=render.shorten(quote.title, 100),
            description=render.shorten(quote.text, DESCRIPTION_CHARS),
            input_message_content=InputTextMessageContent(html),
            reply_markup=InlineKeyboardMarkup([buttons])))
    return results


async def on_inline_query(update: Update, context: ChatContext) -> None:
    """`@bot question` in any chat: quote cards, answered well within Telegram's limit."""
    query = update.inline_query
    if query is None:
        return
    svc = context.services
    tr = translator_for(query.from_user)
    if await over_limit(svc, f"user:{query.from_user.id}", None) is not None:
        # Cached 5 s, not CACHE_SECONDS: after the rate-limit window the query must reach us.
        await _answer_inline(query, [], 5, render.shorten(tr.say(SLOW_DOWN), 64))
        return
    text = " ".join(query.query.split())
    loop = asyncio.get_running_loop()
    if text:
        answer = await loop.run_in_executor(svc.executor, svc.engine.answer, text)
    else:
        # An empty query gets the example questions, as small talk does.
        answer = Answer(question="", abstained=True, help=HELP, notice=Notice(NoticeCode.HELP))
    examples = svc.engine.examples(MAX_CARDS) if answer.outcome.is_notice else []
    username = context.bot.username
    results = await loop.run_in_executor(svc.executor, cards, answer, svc, username, tr,
                                         examples)
    await _answer_inline(query, results, CACHE_SECONDS)


async def _answer_inline(query: InlineQuery, results: list[InlineQueryResultArticle],
                         cache_time: int, note: str | None = None) -> None:
    """answerInlineQuery; `note` is a button above the (no) results that opens the bot.
    Per user (is_personal): the cards are in the user's language."""
    button = InlineQueryResultsButton(note, start_parameter="inline") if note else None
    try:
        await query.answer(results, cache_time=cache_time, is_personal=True, button=button)
    except TelegramError as err:  # too late, or refused: the user types on; nothing to retry
        log.info("inline answer not taken: %s", err)


async def on_chosen_result(update: Update, context: ChatContext) -> None:
    """A card was posted (only with inline feedback on in @BotFather): logged, as the posted
    message is the user's, not the bot's."""
    chosen = update.chosen_inline_result
    if chosen is not None:
        log.info("inline result %s chosen", chosen.result_id)


_MENTION = re.compile(r"@\w+")


async def on_guest_message(update: Update, context: ChatContext) -> None:
    """Mentioned in a chat the bot is not in: answer in place with the first quote."""
    message = update.guest_message
    if message is None or not message.guest_query_id:
        return
    svc = context.services
    tr = translator_for(message.from_user)
    question = guest_question(message)
    sender = f"user:{message.from_user.id}" if message.from_user else None
    if await over_limit(svc, sender, message.chat.id) is not None:
        return
    loop = asyncio.get_running_loop()
    answer = await loop.run_in_executor(svc.executor, svc.engine.answer, question or "")
    username = context.bot.username
    results = await loop.run_in_executor(svc.executor, _guest_cards, answer, svc, username, tr)
    if not results:
        return
    try:
        await context.bot.answer_guest_query(message.guest_query_id, results[0])
    except TelegramError as err:
        log.info("guest answer not taken: %s", err)


def _guest_cards(answer: Answer, svc: Services, username: str | None,
                 tr: Translator) -> list[InlineQueryResultArticle]:
    """In a worker thread: the cards of a guest answer (one example question at most)."""
    return cards(answer, svc, username, tr, svc.engine.examples(1))


def guest_question(message: Message) -> str:
    """The question of a guest mention: its own words without the mention, else the text of
    the message it replies to ("@bot is this true?" under a claim counts its own words)."""
    own = " ".join(_MENTION.sub(" ", message.text or "").split())
    replied = message.reply_to_message
    quoted = (replied.text or replied.caption or "") if replied is not None else ""
    if not quoted:  # the Bot API may carry the replied-to messages as reference_messages
        for reference in message.api_kwargs.get("reference_messages") or ():
            if isinstance(reference, dict) and (reference.get("text") or
                                                reference.get("caption")):
                quoted = reference.get("text") or reference.get("caption") or ""
                break
    if quoted and len(own.split()) <= 4:  # "is this true?", "source?": the claim is asked
        return " ".join(quoted.split())
    return own
