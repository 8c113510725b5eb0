"""What the bot is, knows and keeps: /start, /about, /privacy and /forget."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from html import escape

from telegram import Message, Update

from bot import render
from bot.chat.context import ChatContext
from bot.chat.links import parse_start
from bot.chat.replies import reply
from bot.engine import UNAVAILABLE, Engine, Quote
from bot.i18n import N_, Html, Translator, translator_for

__all__ = ["PRIVACY", "on_about", "on_forget", "on_privacy", "on_start"]

GREETING = N_("<b>Hello!</b> I answer questions about the news articles I hold, with quotes "
            "taken word for word from them and their sources. I never write answers myself: "
            "when the articles do not answer, I say so.")
LINK_EXPIRED = N_("This quote link has expired: links to quotes are kept for {days} days after "
                  "the quote was last given.")
PRIVACY = N_(
    "<b>What I store, and for how long</b>\n"
    "• Your questions and the quotes I answered with (for the buttons under answers and for "
    "statistics), and your 👍/👎: deleted after {days} days.\n"
    "• Incoming messages addressed to me and button presses, as received (so none is lost "
    "if I restart): deleted after {days} days.\n"
    "• A chat's subscriptions, followed topics and chosen publishers (/sources), with who "
    "set them up: kept until /unsubscribe, /unfollow or /sources change them, or until I am "
    "removed from the chat.\n"
    "• When a chat last started afresh with /new (a time, no text): deleted after {days} "
    "days.\n"
    "• Which new articles a chat was sent (with the topic that matched): queued until sent, "
    "then deleted after {days} days.\n"
    "• Links to quotes (the Link and Open in article buttons): which quote each points at, no "
    "user or chat: deleted {days} days after the quote was last given; the link then says it "
    "has expired.\n"
    "• A rate limit counter per user and chat (a number and a time, no text): deleted after "
    "a day without messages.\n"
    "/forget deletes everything stored about you now: your questions, answers, feedback, "
    "messages, and your private chat's subscriptions, topics and queued articles. Only the "
    "rate limit counter stays until it expires, so that /forget does not lift the limit."
)


async def on_start(update: Update, context: ChatContext) -> None:
    message = update.effective_message
    if message is None:
        return
    tr = translator_for(update.effective_user)
    quote_link = parse_start(context.args[0]) if context.args else None
    if quote_link is not None:  # t.me/<bot>?start=q_<id>: a link to a quote
        await show_linked_quote(message, context, quote_link, tr)
        return
    examples = context.services.engine.examples()  # questions as the articles word them
    lines = [tr.say_html(GREETING)]
    if examples:
        lines.append("\n" + tr.say_html(N_("Try one of these (tap to copy):")))
        lines.extend(f"<code>{escape(q)}</code>" for q in examples)
    await reply(message, "\n".join(lines))


async def show_linked_quote(message: Message, context: ChatContext, quote_link: str,
                            tr: Translator) -> None:
    """The quote a link points at, with its attribution, as it stands in the live index; or
    that the link has expired (pruned after RETENTION_DAYS, or never given); or that its
    article is no longer there."""
    svc = context.services
    loop = asyncio.get_running_loop()
    stored = await loop.run_in_executor(svc.executor, svc.state.quote_link, quote_link)
    if stored is None:
        await reply(message, escape(tr.say(LINK_EXPIRED, days=svc.settings.retention_days)))
        return
    # A link stores only the words and where they stood: the live index finds them again
    # (the article may have changed since) and fills in the rest (title, outlet, date).
    linked = Quote(text=stored["text"], article_id=stored["article_id"], title="", source=None,
                   url=None, published=None, paragraph=0, start=stored["start"],
                   end=stored["end"], score=1.0)
    quote = await loop.run_in_executor(svc.executor, svc.engine.still_there, linked)
    if quote is None:
        await reply(message, escape(tr.say(N_("That quote is no longer in the index: its "
                                              "article was removed or changed."))))
        return
    quote = await loop.run_in_executor(svc.executor, _numbered, svc.engine, quote)
    attribution = render.attribution_html(quote, tr)
    for page in render.pack(render.quote_blocks(quote.text, attribution, tr=tr)):
        await reply(message, page)


def _numbered(engine: Engine, quote: Quote) -> Quote:
    """The quote with its paragraph number (a link stores only where it stands)."""
    around = engine.paragraph(quote)
    if around is None:
        return quote
    return replace(quote, paragraph=around.paragraph)


async def on_about(update: Update, context: ChatContext) -> None:
    message = update.effective_message
    if message is None:
        return
    tr = translator_for(update.effective_user)
    summary = context.services.engine.summary()
    if summary is None:
        await reply(message, escape(tr.say(UNAVAILABLE)))
        return
    newest = summary.newest_published
    articles = tr.nsay("{count} article", "{count} articles", summary.articles)
    passages = tr.nsay("{count} passage", "{count} passages", summary.passages)
    lines = [
        tr.say_html(N_("<b>Corpus</b>: {articles}, {passages}"), articles=Html(escape(articles)),
                    passages=Html(escape(passages))),
        tr.say_html(N_("<b>Newest article</b>: {date}"), date=newest) if newest
        else tr.say_html(N_("<b>Newest article</b>: no dated articles")),
        tr.say_html(N_("<b>Index built</b>: {built}"), built=str(summary.built_at)),
        tr.say_html(N_("<b>Model</b>: {model}"), model=str(summary.model)),
    ]
    await reply(message, "\n".join(lines))


async def on_privacy(update: Update, context: ChatContext) -> None:
    if update.effective_message is not None:
        days = context.services.settings.retention_days
        tr = translator_for(update.effective_user)
        await reply(update.effective_message, tr.say_html(PRIVACY, days=days))


async def on_forget(update: Update, context: ChatContext) -> None:
    message = update.effective_message
    if message is None or update.effective_user is None:
        return
    gone = await asyncio.to_thread(context.services.state.forget_user,
                                   update.effective_user.id)
    tr = translator_for(update.effective_user)
    await reply(message, tr.nsay_html(
        "Done: {count} stored item about you was deleted (your questions, answers, feedback, "
        "messages, and your private chat's subscriptions, topics and queued articles).",
        "Done: {count} stored items about you were deleted (your questions, answers, "
        "feedback, messages, and your private chat's subscriptions, topics and queued "
        "articles).", gone))
