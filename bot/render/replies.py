"""The Telegram HTML messages the bot sends: an answer (its quotes, the head line of a filtered
answer, an abstention, /compare's outlets), a whole paragraph for the "Full paragraph" button,
and the newest articles. Each is a list of messages, every one within Telegram's limit."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from bot.engine import Answer, ArticleRef, Outcome, Period, Quote
from bot.i18n import ENGLISH, N_, Html, Translator
from bot.render.labels import (
    difference_lines,
    filtered_out,
    head_line,
    period_label,
    safe_url,
    shorten,
)
from bot.render.messages import (
    ALSO_REPORTED,
    EACH_OUTLET,
    FOLLOWING_UP,
    NEAREST_BELOW,
    NO_ANSWER,
    NONE_WHEN,
    PUBLISHED_WHEN,
    RELATED,
    notice,
)
from bot.render.packing import TELEGRAM_LIMIT, Block, _cut, pack, utf16_len
from bot.render.pieces import (
    article_line,
    attribution_html,
    blockquote,
    isolates_len,
    meta_html,
    quote_blocks,
    title_html,
)
from bot.render.speakers import speaker_lines


def _said(text: str) -> Block:
    """A line in the bot's own words (already translated): escaped, shown as it is."""
    return Block(escape(text), text)


def paragraph_pages(quote: Quote, max_pages: int, tr: Translator = ENGLISH) -> list[str]:
    """A whole paragraph for the "Full paragraph" button: at most `max_pages` messages of it,
    each whole sentences, then (when it goes on) a note in the bot's own words saying where."""
    blocks = quote_blocks(quote.text, attribution_html(quote, tr), tr=tr)
    pages = pack(blocks)
    if len(pages) <= max_pages:
        return pages
    rest = len(pages) - max_pages
    head = Html(title_html(shorten(quote.title), quote.url, tr))
    # two messages rather than one with a placeholder: each sentence is translated whole
    if safe_url(quote.url):
        note = tr.nsay_html(
            "(continues: paragraph {paragraph} of {title}, {count} more message; the whole "
            "paragraph is at the link.)",
            "(continues: paragraph {paragraph} of {title}, {count} more messages; the whole "
            "paragraph is at the link.)", rest, paragraph=quote.paragraph, title=head)
    else:
        note = tr.nsay_html(
            "(continues: paragraph {paragraph} of {title}, {count} more message; the whole "
            "paragraph is in the source.)",
            "(continues: paragraph {paragraph} of {title}, {count} more messages; the whole "
            "paragraph is in the source.)", rest, paragraph=quote.paragraph, title=head)
    return [*pages[:max_pages], note]


def answer_html(answer: Answer, quotes: list[Quote] | None = None,
                tr: Translator = ENGLISH,
                paragraphs: Sequence[Quote | None] | None = None) -> list[str]:
    """The messages of an answer in Telegram HTML (escaped), split to Telegram's limit;
    `paragraphs` (one per quote shown, or None) go under their quotes as expandable
    blockquotes when the whole fits one message (else the "Full paragraph" button shows
    them)."""
    outcome = answer.outcome  # the ladder `as_text` walks too
    if outcome.is_notice:
        return [escape(notice(answer, tr))]
    if outcome in (Outcome.UNKNOWN_SOURCE, Outcome.OUTSIDE_PERIOD):
        return pack([_said(line) for line in filtered_out(answer, tr)], separator="\n")
    if outcome is Outcome.NOT_ANSWERED:
        pages = _abstention_html(answer, tr)
    else:
        pages = pack(_quotes_blocks(answer, quotes, tr, paragraphs))
    head = head_line(answer, tr)
    if head is None:
        return pages
    # the head line says the filters, then the answer's messages: the head joins the first of
    # them when both fit one message
    return pack([_said(head), *(Block(page, page) for page in pages)], separator="\n")


def _quotes_blocks(answer: Answer, quotes: list[Quote] | None, tr: Translator,
                   paragraphs: Sequence[Quote | None] | None) -> list[Block]:
    """An answer's quotes (those given, else all), each with its paragraph when it has one;
    for /compare with where the outlets differ and who they quote; then the other outlets."""
    blocks: list[Block] = []
    if answer.followup_of:
        blocks.append(_said(tr.say(FOLLOWING_UP, question=answer.followup_of)))
    shown = quotes if quotes is not None else answer.quotes
    around = list(paragraphs) if paragraphs is not None else [None] * len(shown)
    if answer.compared:
        blocks.append(_said(tr.say(EACH_OUTLET)))
    for quote, paragraph in zip(shown, around, strict=True):
        blocks.extend(_with_paragraph(quote, paragraph, tr))
    if answer.compared:
        blocks.extend(_said(line) for line in difference_lines(answer, tr))
        blocks.extend(_said(line) for line in speaker_lines(answer.quotes, tr))
    if answer.also_reported:
        blocks.append(_also_block(answer.also_reported, tr))
    return blocks


def _abstention_html(answer: Answer, tr: Translator) -> list[str]:
    """The articles do not answer: with "This may be related:" and a lead, or a pointer to
    the nearest articles' buttons."""
    if answer.related is not None:
        said = f"{tr.say(NO_ANSWER)} {tr.say(RELATED)}"
        lead = quote_blocks(answer.related.text, attribution_html(answer.related, tr), tr=tr)
        return pack([_said(said), *lead])
    text = tr.say(NO_ANSWER)
    if answer.suggestions:
        text += " " + tr.say(NEAREST_BELOW)
    return [escape(text)]


def _with_paragraph(quote: Quote, paragraph: Quote | None, tr: Translator) -> list[Block]:
    """A quote and its attribution, its whole paragraph folded under it when all of it fits
    one message."""
    quoted = quote_blocks(quote.text, attribution_html(quote, tr), tr=tr)
    if paragraph is None or len(quoted) != 1 or paragraph.text.strip() == quote.text.strip():
        return quoted
    shown = tr.isolate(paragraph.text)
    folded = Block(f"<blockquote expandable>{escape(shown, False)}</blockquote>", shown)
    whole = Block(f"{quoted[0].html}\n{folded.html}", f"{quoted[0].visible}\n{folded.visible}")
    return [whole] if utf16_len(whole.visible) <= TELEGRAM_LIMIT else quoted


def _also_block(quotes: Sequence[Quote], tr: Translator) -> Block:
    """Also reported by: one line per outlet, its sentence verbatim and where it stands."""
    head = tr.say(ALSO_REPORTED)
    html, visible = [escape(head)], [head]
    for quote in quotes:
        source = tr.isolate(shorten(quote.source or ""))
        text = tr.isolate(f"“{quote.text}”")
        title = shorten(quote.title)
        meta, shown = meta_html([(quote.published, True)], tr)
        html.append(f"• <b>{escape(source)}</b>: {escape(text, False)} — "
                    f"{title_html(title, quote.url, tr)}" + (f" · {meta}" if meta else ""))
        visible.append(f"• {source}: {text} — {tr.isolate(title)}"
                       + (f" · {shown}" if shown else ""))
    block = Block("\n".join(html), "\n".join(visible))
    # the lines are one block (never split across messages): too long for one, the head only
    return block if utf16_len(block.visible) <= TELEGRAM_LIMIT else Block(html[0], visible[0])


def latest_html(items: Sequence[tuple[ArticleRef, Quote | None]],
                tr: Translator = ENGLISH, period: Period | None = None) -> list[str]:
    """The newest articles: title, source, date, link and first sentence (as `engine.newest`
    gives them); with `period`, under a line saying it."""
    when = period_label(period, tr) if period is not None else None
    if not items:
        if when:
            return [escape(tr.say(NONE_WHEN, when=when))]
        return [escape(tr.say(N_("The index holds no articles yet.")))]
    blocks = [] if when is None else [_said(tr.say(PUBLISHED_WHEN, when=when))]
    for article, quote in items:
        blocks.extend(_latest_blocks(article, quote, tr))
    return pack(blocks)


def _latest_blocks(article: ArticleRef, quote: Quote | None, tr: Translator) -> list[Block]:
    """An article's line with its first sentence under it: one block when both fit a message,
    else the line, then the sentence over as many messages as it takes."""
    line = article_line(article, tr)
    if quote is None:
        return [line]
    first = blockquote(quote.text, tr)
    whole = Block(f"{line.html}\n{first.html}", f"{line.visible}\n{first.visible}")
    if utf16_len(whole.visible) <= TELEGRAM_LIMIT:
        return [whole]
    budget = TELEGRAM_LIMIT - isolates_len(tr)
    return [line, *(blockquote(piece, tr) for piece in _cut(quote.text, budget))]
