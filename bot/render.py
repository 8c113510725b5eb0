"""Render answers for people: plain text (console, command line) and Telegram HTML, in the
reader's language (a `Translator`; English by default). Only the bot's own words are
translated: quotes, titles and publishers are shown exactly as stored."""

from __future__ import annotations

import bisect
import calendar
import dataclasses
import datetime as dt
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from babel.dates import format_date, format_interval, format_skeleton

from bot.engine import Answer, ArticleRef, Filters, Period, Quote
from bot.i18n import ENGLISH, N_, Html, Translator
from bot.render_speakers import speaker_label, speaker_lines
from index import sentences
from index.sources import is_web_url

MAX_TITLE = 200  # characters of a title or source shown; longer ones end in an ellipsis
NO_ANSWER = N_("The articles do not answer that.")
RELATED = N_("This may be related:")
NEAREST = N_("Nearest articles: {titles}")
NEAREST_BELOW = N_("Nearest articles are below.")
PARAGRAPH = N_("paragraph {number}")
FOLLOWING_UP = N_("Following up on: {question}")
PUBLISHED_WHEN = N_("Articles published {when}:")
PUBLISHED_BY = N_("Articles by {sources}:")
PUBLISHED_BY_WHEN = N_("Articles by {sources} published {when}:")
NONE_WHEN = N_("No article I hold was published {when}.")
NONE_BY_WHEN = N_("No article by {sources} was published {when}.")
WIDENED = N_("Nothing from {period}; from {when}:")
WIDENED_BY = N_("Nothing by {sources} from {period}; from {when}:")
NEAREST_DATED = N_("The nearest dated articles:")
NONE_DATED = N_("None of the articles I hold is dated.")
UNKNOWN_SOURCE = N_("I have no articles from {source}. The sources I have: {sources}.")
NO_SOURCES = N_("I have no articles from {source}; the articles I hold name no publisher.")
ALSO_REPORTED = N_("Also reported by:")
EACH_OUTLET = N_("Each outlet in its own words:")
ONE_OUTLET = N_("Only one outlet answers this.")
DIFFERENCES = {"numbers": N_("Numbers differ: {said}"), "days": N_("Days differ: {said}"),
               "spellings": N_("Spelled differently: {said}")}
UNTIL = N_("until {date}")
SINCE = N_("since {date}")
NEW_CONVERSATION = N_("New conversation: the next question starts fresh.")  # /new
# The engine's own messages (bot.engine: HELP, UNAVAILABLE, QuestionError), translated here
# by their English text; tests/unit/bot/test_i18n.py keeps the two in step.
ENGINE_HELP = N_("I answer questions about the news articles I hold, quoting them word for "
                 "word with the source. Ask me something like “How far is Qasr Bin Ghashir "
                 "from Tripoli?”")
ENGINE_UNAVAILABLE = N_("The article index is unavailable right now; please try again later.")
ENGINE_EMPTY = N_("The question is empty: type a question about the news articles.")
_TOO_LONG = re.compile(r"The question is too long \((\d+) characters; the limit is (\d+)\)\. "
                       r"Please ask a shorter question\.")
_ENGINE_TEXTS = (ENGINE_HELP, ENGINE_UNAVAILABLE, ENGINE_EMPTY)


def engine_message(text: str, tr: Translator = ENGLISH) -> str:
    """An engine's message (help, an error) in the reader's language; one the catalogs do not
    know (an index problem's details) stays as the engine said it."""
    if tr.language == "en":
        return text
    if text in _ENGINE_TEXTS:
        return tr.say(text)
    too_long = _TOO_LONG.fullmatch(text)
    if too_long:
        length, limit = int(too_long[1]), int(too_long[2])
        return tr.nsay("The question is too long ({count} character; the limit is {limit}). "
                       "Please ask a shorter question.",
                       "The question is too long ({count} characters; the limit is {limit}). "
                       "Please ask a shorter question.", length, limit=limit)
    return text


def shorten(text: str, limit: int = MAX_TITLE) -> str:
    """A title (or source) cut visibly at `limit` characters: an article's title is metadata,
    never the quote, so a huge one must not break the messages that show it."""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def safe_url(url: str | None) -> str | None:
    """The URL when it is http(s), else None: a `javascript:` or `tg://` link is never
    rendered, whatever the article's front matter says."""
    return url if url and url == url.strip() and is_web_url(url) else None


def attribution(quote: Quote, tr: Translator = ENGLISH) -> str:
    """Speaker · title · source · date · link · paragraph, leaving out what is unknown."""
    parts = [*filter(None, [speaker_label(quote)]), shorten(quote.title)]
    if quote.source:
        parts.append(shorten(quote.source))
    if quote.published:
        parts.append(quote.published)
    if quote.url:
        parts.append(quote.url)
    shown = [tr.isolate(part) for part in parts]
    return " · ".join([*shown, tr.say(PARAGRAPH, number=quote.paragraph)])


def _quoted(quote: Quote, tr: Translator) -> str:
    """A quote in quotation marks (one isolate with them), then its attribution."""
    return f"{tr.isolate(f'“{quote.text}”')}\n    — {attribution(quote, tr)}"


def _locale(tr: Translator) -> str:
    return "en_GB" if tr.language == "en" else tr.language  # "24–30 Nov 2026"


def period_label(period: Period, tr: Translator = ENGLISH) -> str:
    """A period as people write it in the reader's language: "24–30 Nov 2026", "until 31 Dec
    2019", "since 30 Nov 2026"."""
    locale = _locale(tr)

    def day(value: dt.date) -> str:
        return format_date(value, "medium", locale=locale)

    start, end = period.start, period.end
    if start is None and end is None:
        return ""
    if start is None:
        assert end is not None
        return tr.gettext(UNTIL).format(date=day(end))
    if end is None:
        return tr.gettext(SINCE).format(date=day(start))
    if start == end:
        return day(start)
    # the month's last day by the calendar: 31 Dec 9999 has no next day to step to
    if start.day == 1 and end.day == calendar.monthrange(end.year, end.month)[1] and (
            start.month, start.year) == (end.month, end.year):  # a whole month: "Mar 2005"
        return format_skeleton("yMMM", start, locale=locale)
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return format_skeleton("y", start, locale=locale)  # "2005", "2005年"
    return format_interval(start, end, "yMMMd", locale=locale)


def filters_head(filters: Filters | None, tr: Translator = ENGLISH) -> str | None:
    """The line above an answer saying which articles it was searched in; None for all."""
    if filters is None or not filters.active:
        return None
    when = period_label(filters.period, tr) if filters.period else None
    sources = ", ".join(shorten(name) for name in filters.sources)
    if when and sources:
        return tr.say(PUBLISHED_BY_WHEN, sources=sources, when=when)
    if when:
        return tr.say(PUBLISHED_WHEN, when=when)
    return tr.say(PUBLISHED_BY, sources=sources)


# "in the last 3 days" names the period with its preposition: "Nothing from the last 3 days".
_PERIOD_PREPOSITION = re.compile(r"^(?:in|during|over|within) ", re.IGNORECASE)


def widened_head(answer: Answer, tr: Translator = ENGLISH) -> str | None:
    """The line above an answer from a widened period: "Nothing from this week; from 19 Jun
    2022:" (the period in the question's words, then the days its quotes were published);
    None when the period was not widened."""
    filters, wider = answer.filters, answer.period_widened
    if wider is None or filters is None or filters.period is None:
        return None
    days = sorted(day for quote in answer.quotes if (day := _day(quote.published)))
    when = period_label(Period(days[0], days[-1]) if days else wider, tr)
    asked = (_PERIOD_PREPOSITION.sub("", filters.period.said)
             or period_label(filters.period, tr))
    sources = ", ".join(shorten(name) for name in filters.sources)
    if sources:
        return tr.say(WIDENED_BY, sources=sources, period=asked, when=when)
    return tr.say(WIDENED, period=asked, when=when)


def _day(published: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(published[:10]) if published else None
    except ValueError:
        return None


def filtered_out(answer: Answer, tr: Translator = ENGLISH) -> list[str] | None:
    """What to say when the filters left nothing to search: an unknown publisher (with the
    ones there are) or a period no article is dated in (with the nearest dated articles);
    None otherwise. The lines after the first are article titles with their dates."""
    filters = answer.filters
    if filters is not None and filters.unknown_source is not None:
        if not answer.available_sources:
            return [tr.say(NO_SOURCES, source=filters.unknown_source)]
        names = ", ".join(shorten(name) for name in answer.available_sources)
        return [tr.say(UNKNOWN_SOURCE, source=filters.unknown_source, sources=names)]
    if not answer.outside_period or filters is None or filters.period is None:
        return None
    when = period_label(filters.period, tr)
    sources = ", ".join(shorten(name) for name in filters.sources)
    lines = [tr.say(NONE_BY_WHEN, sources=sources, when=when) if sources
             else tr.say(NONE_WHEN, when=when)]
    if not answer.suggestions:
        return [*lines, tr.say(NONE_DATED)]
    lines.append(tr.say(NEAREST_DATED))
    lines.extend("• " + " · ".join(tr.isolate(value) for value in (
        shorten(s["title"]), s.get("published", "")) if value) for s in answer.suggestions)
    return lines


def as_text(answer: Answer, tr: Translator = ENGLISH) -> str:
    """An answer as a person reads it in a terminal."""
    if answer.error:
        return engine_message(answer.error, tr)
    if answer.help:
        return engine_message(answer.help, tr)
    out = filtered_out(answer, tr)
    if out is not None:
        return "\n".join(out)
    head = widened_head(answer, tr) or filters_head(answer.filters, tr)
    if head is not None:
        answer_text = as_text(_unfiltered(answer), tr)
        return f"{head}\n{answer_text}"
    if answer.abstained:
        lines = [tr.say(NO_ANSWER)]
        if answer.related is not None:
            lines.append(f"{tr.say(RELATED)}\n{_quoted(answer.related, tr)}")
        elif answer.suggestions:
            titles = "; ".join(tr.isolate(shorten(s["title"])) for s in answer.suggestions)
            lines.append(tr.say(NEAREST, titles=Html(titles)))
        return "\n".join(lines)
    quotes = "\n\n".join(_quoted(quote, tr) for quote in answer.quotes)
    if answer.compared:
        quotes = f"{tr.say(EACH_OUTLET)}\n{quotes}"
        quotes += "".join(f"\n{line}" for line in difference_lines(answer, tr))
        quotes += "".join(f"\n{line}" for line in speaker_lines(answer.quotes, tr))
    if answer.also_reported:
        quotes += f"\n\n{tr.say(ALSO_REPORTED)}" + "".join(
            f"\n• {tr.isolate(q.source or '')}: {_quoted(q, tr)}" for q in answer.also_reported)
    if answer.followup_of:
        return f"{tr.say(FOLLOWING_UP, question=answer.followup_of)}\n{quotes}"
    return quotes


def difference_lines(answer: Answer, tr: Translator = ENGLISH) -> list[str]:
    """/compare: where the outlets' quotes differ ("Numbers differ: 48 (Al Jazeera) / more
    than 40 (Anadolu Agency)"), or that only one outlet answers."""
    if len({q.source for q in answer.quotes}) < 2:
        return [tr.say(ONE_OUTLET)]
    return [tr.say(DIFFERENCES[kind], said=" / ".join(
        f"{words} ({source})" for words, source in said)) for kind, said in answer.differences]


def _unfiltered(answer: Answer) -> Answer:
    """The same answer without its filters (rendered once the head line says them)."""
    return dataclasses.replace(answer, filters=None, period_widened=None)


# ---- Telegram HTML -------------------------------------------------------------------------
TELEGRAM_LIMIT = 4096


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units of the text after entity parsing."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Block:
    """A piece of a message: its HTML and the text Telegram shows for it."""

    html: str
    visible: str


def title_html(title: str, url: str | None, tr: Translator = ENGLISH) -> str:
    """The title, linked when the article has an http(s) URL (isolated in an RTL reply)."""
    link = safe_url(url)
    shown = tr.isolate(escape(title))
    if link:
        return f'<a href="{escape(link, quote=True)}">{shown}</a>'
    return f"<b>{shown}</b>"


def date_html(published: str, tr: Translator = ENGLISH) -> str:
    """A publication date as a Telegram date_time entity (the reader's app shows it in their
    language, long form), its text the date as stored (what older apps show). A date without
    a time is taken at noon UTC, which is the same calendar day from UTC-11 to UTC+11."""
    shown = escape(tr.isolate(published))
    moment = _moment(published)
    return shown if moment is None else f'<tg-time unix="{moment}" format="D">{shown}</tg-time>'


def _moment(published: str) -> int | None:
    """Unix time of an ISO date or time (UTC unless it says otherwise); None when unreadable."""
    try:
        if len(published) == 10:
            day = dt.date.fromisoformat(published)
            return int(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC).timestamp())
        moment = dt.datetime.fromisoformat(published.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    stamp = int(moment.timestamp())
    return stamp if stamp >= 0 else None


def _meta_html(values: Sequence[tuple[str | None, bool]], tr: Translator) -> tuple[str, str]:
    """Source · date ... as (HTML, visible text); (value, is_date) pairs, unknown ones left
    out."""
    html, visible = [], []
    for value, is_date in values:
        if not value:
            continue
        text = tr.isolate(value if is_date else shorten(value))
        html.append(date_html(value, tr) if is_date else escape(text))
        visible.append(text)
    return " · ".join(html), " · ".join(visible)


def attribution_html(quote: Quote, tr: Translator = ENGLISH) -> Block:
    """— speaker · title (linked) · source · date · paragraph, leaving out what is unknown."""
    title = shorten(quote.title)
    head = title_html(title, quote.url, tr)
    said = speaker_label(quote)
    who = f"{tr.isolate(said)} · " if said else ""
    who_html = escape(who)
    meta, shown = _meta_html([(quote.source, False), (quote.published, True)], tr)
    number = tr.say(PARAGRAPH, number=quote.paragraph)
    tail_html = f"{meta} · {escape(number)}" if meta else escape(number)
    tail = f"{shown} · {number}" if shown else number
    return Block(f"— {who_html}{head} · {tail_html}", f"— {who}{tr.isolate(title)} · {tail}")


def _blockquote(text: str, tr: Translator) -> Block:
    """A quote exactly as in the article; in an RTL reply FSI…PDI sit around it, never in it."""
    shown = tr.isolate(text)
    return Block(f"<blockquote>{escape(shown, quote=False)}</blockquote>", shown)


def quote_blocks(text: str, attribution: Block, limit: int = TELEGRAM_LIMIT,
                 tr: Translator = ENGLISH) -> list[Block]:
    """A quote in a blockquote; one too long for a message is cut at sentence boundaries."""
    quote = _blockquote(text, tr)
    whole = Block(f"{quote.html}\n{attribution.html}", f"{quote.visible}\n{attribution.visible}")
    if utf16_len(whole.visible) <= limit:
        return [whole]
    isolates = utf16_len(tr.isolate("x")) - 1  # what the isolates add around each piece
    budget = limit - utf16_len(attribution.visible) - 1 - isolates
    pieces = _cut(text, budget)
    blocks = [_blockquote(p, tr) for p in pieces]
    blocks[-1] = Block(blocks[-1].html + "\n" + attribution.html,
                       blocks[-1].visible + "\n" + attribution.visible)
    return blocks


def _cut(text: str, budget: int) -> list[str]:
    """Consecutive slices of `text`, each within `budget`, cut after sentences where possible.
    Linear: UTF-16 offsets are summed once, and each cut is a binary search over them."""
    pieces: list[str] = []
    start = 0
    bounds = sorted({s.end for s in sentences(text)})
    units = [0, *itertools.accumulate(2 if ord(c) > 0xFFFF else 1 for c in text)]
    while start < len(text):
        reach = bisect.bisect_right(units, units[start] + budget) - 1  # longest slice that fits
        fitting = bisect.bisect_right(bounds, reach) - 1
        end = bounds[fitting] if fitting >= 0 and bounds[fitting] > start else start
        if end == start:  # one sentence over the budget: cut at the last space that fits
            end = max(start + 1, min(reach, len(text)))
            space = text.rfind(" ", start, end)
            end = space if space > start and end < len(text) else end
        pieces.append(text[start:end].strip())
        start = end
        while start < len(text) and text[start].isspace():
            start += 1
    return [p for p in pieces if p]


def pack(blocks: list[Block], limit: int = TELEGRAM_LIMIT, separator: str = "\n\n") -> list[str]:
    """Join blocks into as few messages as fit, never splitting a block."""
    messages: list[list[Block]] = []
    gap = utf16_len(separator)
    used = 0  # UTF-16 units of the last message so far
    for block in blocks:
        size = utf16_len(block.visible)
        if messages and used + gap + size <= limit:
            messages[-1].append(block)
            used += gap + size
        else:
            messages.append([block])
            used = size
    return [separator.join(b.html for b in group) for group in messages]


def paragraph_pages(quote: Quote, max_pages: int, tr: Translator = ENGLISH) -> list[str]:
    """A whole paragraph for the "Full paragraph" button: at most `max_pages` messages of it,
    each whole sentences, then (when it goes on) a note in the bot's own words saying where."""
    blocks = quote_blocks(quote.text, attribution_html(quote, tr), tr=tr)
    pages = pack(blocks)
    if len(pages) <= max_pages:
        return pages
    rest = len(pages) - max_pages
    head = Html(title_html(shorten(quote.title), quote.url, tr))
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
    if answer.error:
        return [escape(engine_message(answer.error, tr))]
    if answer.help:
        return [escape(engine_message(answer.help, tr))]
    out = filtered_out(answer, tr)
    if out is not None:
        return pack([Block(escape(line), line) for line in out], separator="\n")
    head = widened_head(answer, tr) or filters_head(answer.filters, tr)
    if head is not None:
        rest = answer_html(_unfiltered(answer), quotes, tr, paragraphs)
        return pack([Block(escape(head), head), *(Block(page, page) for page in rest)],
                    separator="\n")
    if answer.abstained:
        return _abstention_html(answer, tr)
    blocks: list[Block] = []
    if answer.followup_of:
        said = tr.say(FOLLOWING_UP, question=answer.followup_of)
        blocks.append(Block(escape(said), said))
    shown = quotes if quotes is not None else answer.quotes
    around = list(paragraphs) if paragraphs is not None else [None] * len(shown)
    if answer.compared:
        blocks.append(Block(escape(tr.say(EACH_OUTLET)), tr.say(EACH_OUTLET)))
    for quote, paragraph in zip(shown, around, strict=True):
        blocks.extend(_with_paragraph(quote, paragraph, tr))
    if answer.compared:
        blocks.extend(Block(escape(line), line) for line in difference_lines(answer, tr))
        blocks.extend(Block(escape(line), line) for line in speaker_lines(answer.quotes, tr))
    if answer.also_reported:
        blocks.append(_also_block(answer.also_reported, tr))
    return pack(blocks)


def _abstention_html(answer: Answer, tr: Translator) -> list[str]:
    """The articles do not answer: with "This may be related:" and a lead, or a pointer to
    the nearest articles' buttons."""
    if answer.related is not None:
        said = f"{tr.say(NO_ANSWER)} {tr.say(RELATED)}"
        return pack([Block(escape(said), said),
                     *quote_blocks(answer.related.text, attribution_html(answer.related, tr),
                                   tr=tr)])
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
    folded = Block(f"<blockquote expandable>{escape(tr.isolate(paragraph.text), False)}"
                   "</blockquote>", tr.isolate(paragraph.text))
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
        meta, shown = _meta_html([(quote.published, True)], tr)
        html.append(f"• <b>{escape(source)}</b>: {escape(text, False)} — "
                    f"{title_html(title, quote.url, tr)}" + (f" · {meta}" if meta else ""))
        visible.append(f"• {source}: {text} — {tr.isolate(title)}"
                       + (f" · {shown}" if shown else ""))
    block = Block("\n".join(html), "\n".join(visible))
    return block if utf16_len(block.visible) <= TELEGRAM_LIMIT else Block(html[0], visible[0])


def article_line(article: ArticleRef, tr: Translator) -> Block:
    """Title (linked) · source · date."""
    title = shorten(article.title)
    head = title_html(title, article.url, tr)
    meta, rest = _meta_html([(article.source, False), (article.published, True)], tr)
    return Block(head + (f" · {meta}" if meta else ""),
                 tr.isolate(title) + (f" · {rest}" if rest else ""))


def latest_html(items: Sequence[tuple[ArticleRef, Quote | None]],
                tr: Translator = ENGLISH, period: Period | None = None) -> list[str]:
    """The newest articles: title, source, date, link and first sentence (as `engine.newest`
    gives them); with `period`, under a line saying it."""
    when = period_label(period, tr) if period is not None else None
    if not items:
        return [escape(tr.say(NONE_WHEN, when=when) if when
                       else tr.say(N_("The index holds no articles yet.")))]
    blocks = [] if when is None else [Block(escape(tr.say(PUBLISHED_WHEN, when=when)),
                                            tr.say(PUBLISHED_WHEN, when=when))]
    for article, quote in items:
        line = article_line(article, tr)
        text = quote.text if quote else None
        if text is None:
            blocks.append(line)
            continue
        first = _blockquote(text, tr)
        whole = Block(f"{line.html}\n{first.html}", f"{line.visible}\n{first.visible}")
        if utf16_len(whole.visible) <= TELEGRAM_LIMIT:
            blocks.append(whole)
        else:  # a first sentence longer than a message: whole, over several
            blocks.append(line)
            budget = TELEGRAM_LIMIT - (utf16_len(tr.isolate("x")) - 1)
            blocks.extend(_blockquote(piece, tr) for piece in _cut(text, budget))
    return pack(blocks)
