"""The article page marks only what the bot quoted (issue 35, items 1, 2, 7): the real page
server (`ArticleServer`, tornado) over a real index and a real SQLite state database, opened at
the URL of the real "Open in article" button (`reach_of`). After the article is updated in
place, rebuilt and reloaded, the old button marks nothing and says why; a quote that moved is
marked at its new place; a span made by hand marks nothing; a pruned link says it expired; the
page opened as a Mini App lets exactly Telegram's web clients frame it."""

from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace
from urllib.parse import quote as url_quote
from urllib.parse import urlsplit

import httpx
import lxml.html
import pytest
import sqlalchemy as sa

from bot.chat import ArticleServer
from bot.chat.questions import reach_of
from bot.engine import Engine
from bot.i18n import ENGLISH
from bot.render import EXPIRED, MOVED_OUT
from bot.state import State
from tests.support.services import free_port
from tests.support.workspace import build, make_settings

ARTICLE = "harbour.md"
HEAD = "---\ntitle: Harbour news\nsource: Example Wire\n---\n"
QUAY = ("The harbour authority said on Monday that repairs to the northern quay would take "
        "about six weeks and cost two million euros.")
CLAIM = ("A spokesman said that it is false that the minister took bribes from the dredging "
         "company, and called the report a smear.")
FERRIES = "Ferries will use the southern quay until the work is done, the authority added."
QUESTION = "How long will the repairs to the northern quay take?"


def write(settings, *paragraphs: str) -> None:
    settings.corpus_dir.mkdir(parents=True, exist_ok=True)
    (settings.corpus_dir / ARTICLE).write_text(HEAD + "\n\n".join(paragraphs) + "\n",
                                               encoding="utf-8")


@pytest.fixture
def site(tmp_path, encoder):
    """The article indexed, the engine loaded, a state database, and the page server."""
    settings = make_settings(tmp_path, public_url="https://bot.example.org",
                             article_web_app=True, telegram_webhook_port=free_port(),
                             telegram_webhook_listen="127.0.0.1")
    write(settings, QUAY, CLAIM, FERRIES)
    build(settings, encoder)
    engine = Engine(settings, encoder=encoder)
    assert engine.load()
    state = State(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    state.migrate()
    yield SimpleNamespace(settings=settings, engine=engine, state=state, encoder=encoder)
    state.close()


def button(site, private: bool = False) -> str:
    """The path and query of the answer's "Open in article" button, as the bot makes it."""
    answer = site.engine.answer(QUESTION)
    assert not answer.abstained and "northern quay" in answer.quotes[0].text
    reach = reach_of(answer, site, "verbatim_bot", ENGLISH, private=private)
    assert reach is not None and reach.page is not None
    assert reach.page.startswith("https://bot.example.org/a/")
    parts = urlsplit(reach.page)
    return f"{parts.path}?{parts.query}"


def update_in_place(site, *paragraphs: str) -> None:
    """The feed changed the article: same id, new text, rebuilt and reloaded."""
    write(site.settings, *paragraphs)
    build(site.settings, site.encoder)
    assert site.engine.load()


def get(site, path: str) -> httpx.Response:
    async def run() -> httpx.Response:
        server = ArticleServer(site.engine, site.state, site.settings)
        server.start()
        try:
            base = f"http://127.0.0.1:{site.settings.telegram_webhook_port}"
            async with httpx.AsyncClient() as client:
                return await client.get(base + path)
        finally:
            server.stop()

    return asyncio.run(run())


def page(site, path: str) -> tuple[list[str], str]:
    """The marked texts and the notice (empty when none) of the page at `path`."""
    answer = get(site, path)
    assert answer.status_code == 200
    dom = lxml.html.fromstring(answer.text)
    return ([m.text_content() for m in dom.xpath("//mark")],
            " ".join(n.text_content() for n in dom.xpath('//p[@class="notice"]')))


def test_the_button_marks_the_quote_it_was_given_for(site) -> None:
    marks, notice = page(site, button(site))
    assert marks and "".join(marks) == site.engine.answer(QUESTION).quotes[0].text
    assert notice == ""


def test_after_an_in_place_update_an_old_button_marks_nothing_and_says_so(site) -> None:
    old = button(site)
    changed = ("The harbour authority said on Tuesday that the northern quay had reopened to "
               "all traffic after the storm, earlier than anyone had expected.")
    update_in_place(site, changed, CLAIM, FERRIES)
    marks, notice = page(site, old)
    assert marks == [], "text the bot never quoted is marked as its quote"
    assert notice == MOVED_OUT


def test_a_quote_moved_by_a_paragraph_is_marked_at_its_new_place(site) -> None:
    old = button(site)
    quoted = site.engine.answer(QUESTION).quotes[0].text
    update_in_place(site, "Updated at noon with the minister's statement.", QUAY, CLAIM, FERRIES)
    marks, notice = page(site, old)
    assert "".join(marks) == quoted and notice == ""


def test_a_span_made_by_hand_or_a_forged_link_marks_nothing(site) -> None:
    text = site.engine.article_text(ARTICLE).text
    start = text.index("the minister took bribes")
    path = f"/a/{url_quote(ARTICLE, safe='')}"
    for query in (f"q={start}-{start + len('the minister took bribes')}",
                  "quote=AAAAAAAAAAAA", "quote=%00", "quote=" + "x" * 400):
        marks, _ = page(site, f"{path}?{query}")
        assert marks == [], query


def test_a_link_for_another_article_marks_nothing_here(site) -> None:
    site.state.link_quote("elsewhere", "other.md", 0, 12, QUAY[:12], None)
    marks, notice = page(site, f"/a/{url_quote(ARTICLE, safe='')}?quote=elsewhere")
    assert marks == [] and notice == ""


def test_a_pruned_link_says_it_expired_and_shows_the_article(site) -> None:
    old = button(site)
    with site.state.engine.begin() as conn:
        conn.execute(sa.text("UPDATE quote_links SET created_at = :old"),
                     {"old": dt.datetime(2000, 1, 1, tzinfo=dt.UTC)})
        conn.execute(sa.text("UPDATE answers SET created_at = :old"),
                     {"old": dt.datetime(2000, 1, 1, tzinfo=dt.UTC)})
    site.state.prune(site.settings.retention_days)
    marks, notice = page(site, old)
    assert marks == [] and notice == EXPIRED


def test_only_the_mini_app_lets_telegrams_web_clients_frame_the_page(site) -> None:
    in_app = button(site, private=True)
    framed = get(site, in_app)
    policy = framed.headers["Content-Security-Policy"]
    assert ("frame-ancestors https://web.telegram.org https://*.web.telegram.org;"
            in policy)
    assert "X-Frame-Options" not in framed.headers
    assert lxml.html.fromstring(framed.text).xpath("//mark")
    for path in (button(site, private=False), f"/a/{url_quote(ARTICLE, safe='')}"):
        plain = get(site, path)
        assert "frame-ancestors 'none';" in plain.headers["Content-Security-Policy"]
        assert plain.headers["X-Frame-Options"] == "DENY"
