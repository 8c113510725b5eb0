"""Hardening of the Telegram side, unit level: titles, links, huge paragraphs, redaction,
the deploy file (issue 18, items 7, 8, 17, 18, 20)."""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path
from urllib.parse import quote as percent

import yaml

from bot import render
from bot.engine import Answer, ArticleRef, PushPayload, Quote
from bot.render import packing
from bot.render import pushes as render_pushes
from tests.support.fake_bot_api import plain_text
from tests.support.workspace import ROOT

TOKEN = "123456:TEST-TOKEN"
SECRET = "webhook-secret-0123456789"
HUGE_TITLE = "The ledger of the lighthouse keepers of Misrata " * 120  # 5,760 characters
TEXT = "The lighthouse of Misrata was repainted white and red in the spring by three keepers."


def quote(**fields) -> Quote:
    values = {"text": TEXT, "article_id": "misrata.md", "title": "Misrata", "source": "Wire",
              "published": "2020-06-01", "url": "https://example.org/misrata", "paragraph": 1,
              "start": 0, "end": len(TEXT), "score": 1.0, **fields}
    return Quote(**values)


def answer_of(*quotes: Quote) -> Answer:
    return Answer(question="Who repainted the lighthouse?", abstained=False, quotes=list(quotes))


def visible(page: str) -> str:
    return plain_text(page, "HTML")  # what Telegram shows; it refuses markup that is wrong


def test_huge_title_is_shortened_visibly_and_the_quote_is_whole():
    pages = render.answer_html(answer_of(quote(title=HUGE_TITLE)))
    assert len(pages) == 1
    shown = visible(pages[0])
    assert TEXT in shown and shown.count("<blockquote>") == 0
    assert pages[0].count("<blockquote>") == 1
    assert "The ledger of the lighthouse keepers" in shown and "…" in shown
    assert render.utf16_len(shown) < 1000
    article = ArticleRef("misrata.md", HUGE_TITLE, "Wire", "https://example.org/misrata", None)
    for page in (render.latest_html([(article, quote())])
                 + render_pushes.push_html(PushPayload("new", None, article,
                                                       quote(title=HUGE_TITLE)))
                 + render_pushes.digest_html([PushPayload("new", None, article, None)] * 3)):
        assert "…" in visible(page) and render.utf16_len(visible(page)) <= 4096
    console = render.as_text(answer_of(quote(title=HUGE_TITLE)))
    assert TEXT in console and "…" in console and len(console) < 1000


def test_only_http_links_are_rendered_as_links():
    for url in ("javascript:alert(1)", "tg://resolve?domain=evil", "data:text/html,hi",
                "JAVASCRIPT:alert(1)", " javascript:alert(1)"):
        page = render.answer_html(answer_of(quote(url=url)))[0]
        assert "href" not in page, url
        line = render.latest_html([(ArticleRef("t.md", "T", None, url, None), None)])[0]
        assert "href" not in line, url
    page = render.answer_html(answer_of(quote(url="https://example.org/a?b=1&c=2")))[0]
    assert 'href="https://example.org/a?b=1&amp;c=2"' in page


def test_huge_paragraph_cut_and_packed_in_bounded_time_without_loss():
    paragraph = " ".join(f"In year {1000 + i} the harbour of Zuwara loaded {i} tonnes of olive "
                         f"oil onto ship number {i}." for i in range(12000))  # ~1 MB
    started = time.monotonic()
    blocks = render.quote_blocks(paragraph, render.attribution_html(quote(paragraph=2)))
    pages = render.pack(blocks)
    took = time.monotonic() - started
    assert took < 10, f"{took:.1f} s"  # quadratic cutting took minutes at this size
    texts = [visible(p) for p in pages]
    assert all(render.utf16_len(t) <= 4096 for t in texts)
    assert " ".join(texts).replace("\n— Misrata · Wire · 2020-06-01 · paragraph 2", "").split() \
        == paragraph.split()


def _reference_cut(text: str, budget: int) -> list[str]:
    """The cutting as it was before it was made linear (quadratic, same pieces)."""
    from index.chunk import sentences

    pieces: list[str] = []
    start = 0
    bounds = [s.end for s in sentences(text)]
    while start < len(text):
        end = start
        for bound in bounds:
            if bound > start and render.utf16_len(text[start:bound]) <= budget:
                end = bound
        if end == start:
            end = start + 1
            while end < len(text) and render.utf16_len(text[start:end + 1]) <= budget:
                end += 1
            space = text.rfind(" ", start, end)
            end = space if space > start and end < len(text) else end
        pieces.append(text[start:end].strip())
        start = end
        while start < len(text) and text[start].isspace():
            start += 1
    return [p for p in pieces if p]


def test_cutting_gives_the_same_pieces_as_before():
    texts = [
        " ".join(f"Sentence {i} of a long paragraph about the port, its cranes and ships."
                 for i in range(400)) + " " + "x" * 5000 + " tail words here.",
        "🙂 " * 3000,
        "Короткое предложение. " * 500 + "𝒜" * 3000 + ". End.",
        "word " * 2000,
    ]
    for text in texts:
        for budget in (1000, 4000):
            assert packing._cut(text, budget) == _reference_cut(text, budget)
    blocks = [render.Block(f"<b>{i}</b>", "🙂" * (i * 37 % 900)) for i in range(300)]
    groups: list[list[render.Block]] = []  # packing as it was: join and measure each time
    for block in blocks:
        joined = "\n\n".join(b.visible for b in [*groups[-1], block]) if groups else ""
        if groups and render.utf16_len(joined) <= 4096:
            groups[-1].append(block)
        else:
            groups.append([block])
    assert render.pack(blocks) == ["\n\n".join(b.html for b in g) for g in groups]


def test_full_paragraph_pages_are_capped_with_a_note_in_the_bots_words():
    paragraph = " ".join(f"In year {1000 + i} the harbour of Zuwara loaded {i} tonnes." for i
                         in range(3000))
    pages = render.paragraph_pages(quote(text=paragraph, paragraph=2), max_pages=3)
    assert len(pages) == 4
    quoted = [visible(p) for p in pages[:3]]
    assert all(p.startswith("<blockquote>") for p in pages[:3])
    joined = " ".join(quoted).split()
    assert joined == paragraph.split()[:len(joined)]  # a prefix of whole sentences, in order
    assert joined[-1].endswith(".")
    note = visible(pages[3])
    assert "continues" in note and "paragraph 2" in note and "Misrata" in note
    assert "more messages" in note and "<blockquote>" not in pages[3]
    short = render.paragraph_pages(quote(), max_pages=3)
    assert len(short) == 1 and TEXT in visible(short[0]) and "continues" not in short[0]


def _record(exc: BaseException) -> logging.LogRecord:
    try:
        raise exc
    except BaseException as err:
        import sys

        return logging.LogRecord("t", logging.ERROR, __file__, 1, "failed: %s", (err,),
                                 sys.exc_info())


def test_redaction_covers_chained_exceptions_encoded_tokens_and_the_secret():
    from bot.chat import RedactToken

    try:
        try:
            raise ConnectionError(f"GET https://api.telegram.org/bot{TOKEN}/getMe")
        except ConnectionError as inner:
            raise RuntimeError(f"url /bot{percent(TOKEN, safe='').lower()}/x") from inner
    except RuntimeError as outer:
        record = _record(outer)
    formatter = logging.Formatter("%(message)s")
    redact = RedactToken(TOKEN, [SECRET])
    assert redact.filter(record)
    text = formatter.format(record)
    debug = logging.LogRecord("telegram.Bot", logging.DEBUG, __file__, 1,
                              "Calling Bot API endpoint `%s` with parameters `%s`",
                              ("setWebhook", {"url": f"https://x/{percent(TOKEN)}",
                                              "secret_token": SECRET}), None)
    redact.filter(debug)
    text += formatter.format(debug)
    assert "ConnectionError" in text and "RuntimeError" in text  # the traceback is kept
    for secret in (TOKEN, percent(TOKEN, safe=""), SECRET, "TEST-TOKEN"):
        assert secret.lower() not in text.lower(), secret
    assert "<token>" in text and "<secret>" in text


def test_compose_requires_a_database_password():
    compose = Path(ROOT / "deploy" / "docker-compose.yml").read_text()
    data = yaml.safe_load(compose)
    password = data["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    url = data["x-bot"]["environment"]["DATABASE_URL"]
    assert password == "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
    assert "${POSTGRES_PASSWORD:?" in url
    assert "POSTGRES_PASSWORD:-" not in compose


def test_transient_errors_are_told_from_refusals_and_bugs():
    from sqlalchemy.exc import OperationalError
    from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

    from bot.chat import is_transient

    locked = OperationalError("INSERT ...", {}, Exception("database is locked"))
    for error in (locked, NetworkError("Internal Server Error (500)"), TimedOut(),
                  RetryAfter(dt.timedelta(seconds=3))):
        assert is_transient(error), error
    for error in (BadRequest("Message is too long"), Forbidden("bot was blocked"),
                  ValueError("a bug"), KeyError("quotes")):
        assert not is_transient(error), error


def test_latest_with_a_first_sentence_longer_than_a_message_shows_it_whole():
    sentence = "The harbour of Zuwara loaded olive oil " + "and wheat " * 1200 + "in 1850."
    pages = render.latest_html([
        (ArticleRef("zuwara.md", "Zuwara", "Port", None, None), quote(text=sentence)),
        (ArticleRef("misrata.md", "Misrata", None, None, None), quote())])
    shown = [visible(p) for p in pages]
    assert all(render.utf16_len(t) <= 4096 for t in shown)
    assert " ".join(shown).split() == ["Zuwara", "·", "Port", *sentence.split(), "Misrata",
                                       *TEXT.split()]
