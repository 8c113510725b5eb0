"""The article page in a real browser: the real bot (long polling, `PUBLIC_URL` set) serves
`/a/<article>?quote=<link>`; headless Chromium (Debian's `chromium`, installed by
`tests/install_services.sh`; the test skips without it) shows the quote highlighted and
scrolled into view on a phone-sized screen, a hostile article's markup as text, and the
strict headers; the webhook's server serves the same pages beside /healthz."""

from __future__ import annotations

import io
import shutil
import time
from urllib.parse import quote as url_quote

import httpx
import lxml.html
import pytest
from PIL import Image

from bot.chat.pages import article_page_url
from bot.engine import Engine, Quote
from bot.render import CONTENT_SECURITY_POLICY, SCRIPT
from bot.state import State
from tests.support.botproc import BotProcess, start_bot
from tests.support.browser import PHONE, Browser
from tests.support.fake_bot_api import FakeTelegram
from tests.support.services import free_port
from tests.support.texts import QUESTION
from tests.support.workspace import SEED, build, make_settings

HOSTILE_ID = "hostile/evil.md"
HOSTILE = """---
title: <img src=x onerror="window.pwned=2"> Harbour news
source: <i>Example</i> Wire
url: https://example.org/harbour?a=1&b=<2>
published: 2020-06-04
---
The harbour authority said on Monday that <script>window.pwned=1</script> repairs to the
northern quay would take about six weeks and cost 2 million euros.

A spokesman called the damage <b>bold</b> but manageable, and said ferries would use the
southern quay until the work was done.
"""
HOSTILE_QUOTE = "The harbour authority said on Monday that"  # found again: offsets need not fit
MARK_RGB = (255, 224, 102)  # the page's highlight (#ffe066, light scheme)
# Where the quote stands on screen, and whether the page fits a phone.
LAYOUT = """(() => {
  const mark = document.getElementById("quote"), box = mark.getBoundingClientRect();
  return {top: box.top, bottom: box.bottom, scrolled: scrollY, height: innerHeight,
          width: innerWidth, content_width: document.documentElement.scrollWidth,
          font_px: parseFloat(getComputedStyle(document.querySelector("article p")).fontSize)};
})()"""

INJECT = """(() => {
  const script = document.createElement("script");
  script.textContent = "window.injected = 1";
  document.body.append(script);
  return {pwned: window.pwned ?? null, injected: window.injected ?? null};
})()"""


def linked(settings, quote: Quote, link: str = "e2e") -> str:
    """The quote's link kept in the bot's state database, as the bot keeps it: its id."""
    state = State(settings.resolved_database_url)
    state.migrate()
    state.link_quote(link, quote.article_id, quote.start, quote.end, quote.text, None)
    state.close()
    return link


def highlighted_pixels(png: bytes) -> int:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == PHONE
    return sum(n for n, rgb in image.getcolors(maxcolors=1 << 24) or [] if rgb == MARK_RGB)


@pytest.fixture(scope="module")
def browser():
    chromium = Browser()  # skips when chromium is not installed
    yield chromium
    chromium.stop()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, encoder):
    """The seed article and a hostile one (its id has a slash), indexed; a quote of the seed."""
    settings = make_settings(tmp_path_factory.mktemp("article-page"))
    (settings.corpus_dir / "hostile").mkdir(parents=True)
    shutil.copy(SEED, settings.corpus_dir / SEED.name)
    (settings.corpus_dir / HOSTILE_ID).write_text(HOSTILE, encoding="utf-8")
    build(settings, encoder)
    engine = Engine(settings, encoder=encoder)
    engine.load()
    answer = engine.answer(QUESTION)
    assert answer.quotes and "26 km" in answer.quotes[0].text
    return settings, answer.quotes[0]


@pytest.fixture(scope="module")
def webhook(corpus, tmp_path_factory):
    """A second real bot, in webhook mode with PUBLIC_URL, on its own fake Bot API server (a
    webhook set on the module's would stop the poller): its server's base URL. Started before
    the poller, so that the two load at once; not waited for here."""
    settings, _ = corpus
    api = FakeTelegram()
    api.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = tmp_path_factory.mktemp("webhook-data")
    bot = BotProcess(api, settings.model_copy(update={"data_dir": data}),
                     {"TELEGRAM_WEBHOOK_URL": f"{base}/hook", "TELEGRAM_WEBHOOK_PORT": str(port),
                      "PUBLIC_URL": "https://bot.example.org/", "ARTICLE_WEB_APP": "true"})
    try:
        yield bot, base, api
    finally:
        bot.stop()
        api.stop()


def wait_for(url: str, bot: BotProcess, status: int | None = None, timeout: float = 120) -> None:
    """Until the bot's web server answers `url` (with `status`, when given)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = httpx.get(url, timeout=2)
            if status is None or answer.status_code == status:
                return
        except httpx.TransportError:
            pass
        assert bot.process.poll() is None, bot.log.read_text()
        assert time.monotonic() < deadline, f"{url} did not come up"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def site(api, corpus, webhook):
    """The real bot in polling mode with PUBLIC_URL: its article pages' base URL."""
    settings, _ = corpus
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    bot = start_bot(api, settings, {"PUBLIC_URL": public, "TELEGRAM_WEBHOOK_PORT": str(port)})
    try:
        wait_for(public + "/a/none", bot, timeout=30)
        yield public
    finally:
        bot.stop()


def test_the_quote_is_highlighted_and_in_view_on_a_phone(browser, site, corpus, tmp_path):
    settings, quote = corpus
    url = article_page_url(site, quote, linked(settings, quote)) or ""
    assert url == f"{site}/a/{quote.article_id}?quote=e2e"
    seen = browser.visit(url, LAYOUT)
    dom = lxml.html.fromstring(seen.html)
    marks = dom.xpath('//mark[@id="quote"]')
    assert len(marks) == 1 and len(dom.xpath("//mark")) == 1  # one paragraph: one piece
    assert marks[0].text_content() == quote.text
    assert [s.text_content() for s in dom.xpath("//script")] == [SCRIPT]
    assert dom.xpath("//h1")[0].text_content() == quote.title
    layout = seen.value
    # Paragraph 11 is screens below the top: the page scrolled it into the middle of the view.
    assert layout["scrolled"] > layout["height"]
    assert 0 <= layout["top"] < layout["bottom"] <= layout["height"], layout
    assert layout["width"] == PHONE[0] and layout["content_width"] <= layout["width"], layout
    assert layout["font_px"] >= 16
    shot = tmp_path / "phone.png"
    shot.write_bytes(seen.screenshot)
    assert shot.stat().st_size > 1000 and shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert highlighted_pixels(seen.screenshot) > 2000


def test_an_answer_opens_its_quote_in_the_article_page(api, browser, site, corpus):
    """The "Open in article" button under an answer leads to the page, its quote marked."""
    _, quote = corpus
    before = len(api.messages_to(4600))
    api.user_message(4600, "How far is Qasr Bin Ghashir from Tripoli?", user_id=4600)
    reply = api.wait_for(lambda m: m["chat"]["id"] == 4600
                         and len(api.messages_to(4600)) > before, timeout=60)[before]
    (url,) = [b["url"] for row in reply["reply_markup"]["inline_keyboard"] for b in row
              if b["text"] == "Open in article"]
    assert url.startswith(site + "/a/")
    dom = lxml.html.fromstring(browser.visit(url, LAYOUT).html)
    marked = dom.xpath('//mark[@id="quote"]')[0].text_content()
    assert marked == quote.text and marked in reply["text"]


def test_without_its_script_the_page_opens_at_the_top(browser, site, corpus):
    """The check above means something: with scripts off the same page stays at the top and
    the quote is below the first screen, its highlight out of view."""
    settings, quote = corpus
    seen = browser.visit(article_page_url(site, quote, linked(settings, quote)) or "", LAYOUT,
                         javascript=False)
    assert seen.value["scrolled"] == 0 and seen.value["top"] > seen.value["height"]
    assert highlighted_pixels(seen.screenshot) == 0


def test_a_hostile_article_shows_its_markup_as_text(browser, site, corpus):
    settings, _ = corpus
    hostile = Quote(text=HOSTILE_QUOTE, article_id=HOSTILE_ID, title="", source=None, url=None,
                    published=None, paragraph=1, start=0, end=len(HOSTILE_QUOTE), score=1.0)
    url = f"{site}/a/{url_quote(HOSTILE_ID, safe='')}?quote={linked(settings, hostile, 'evil')}"
    seen = browser.visit(url, INJECT)
    # Neither the article's script nor its onerror ran, and the policy the header sent stops
    # an inline script that was not the page's own.
    assert seen.value == {"pwned": None, "injected": None}
    dom = lxml.html.fromstring(seen.html)
    article = dom.xpath("//article")[0].text_content()
    assert "<script>window.pwned=1</script>" in article
    assert "<b>bold</b>" in article
    assert [s.text_content() for s in dom.xpath("//script")] == [SCRIPT]  # only the page's own
    assert not dom.xpath("//b") and not dom.xpath("//img") and not dom.xpath("//i")
    assert dom.xpath("//h1")[0].text_content().startswith('<img src=x onerror="window.pwned=2">')
    assert "<i>Example</i> Wire" in dom.xpath('//p[@class="meta"]')[0].text_content()
    assert not dom.xpath("//*[@onerror]")
    link = dom.xpath('//a[text()="Original article"]')[0]
    assert link.get("href") == "https://example.org/harbour?a=1&b=<2>"
    assert link.get("rel") == "noopener noreferrer nofollow"


def test_the_headers_are_strict_and_errors_are_pages(site, corpus):
    settings, quote = corpus
    page = httpx.get(article_page_url(site, quote, linked(settings, quote)) or "", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert policy == CONTENT_SECURITY_POLICY
    for rule in ("default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'",
                 "form-action 'none'"):
        assert rule in policy
    assert "'unsafe-inline'" not in policy and "'sha256-" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "public, max-age=60"
    slashed = httpx.get(f"{site}/a/{HOSTILE_ID}", timeout=10)  # the id's slash unencoded
    assert slashed.status_code == 200 and "Harbour news" in slashed.text
    gone = httpx.get(f"{site}/a/{url_quote('corpus/gone.md', safe='')}?q=1-5", timeout=10)
    assert gone.status_code == 404
    assert "This article is no longer in the index." in gone.text
    assert gone.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    other = httpx.get(f"{site}/elsewhere", timeout=10)
    assert other.status_code == 404 and other.headers["x-content-type-options"] == "nosniff"
    for bad in ("abc", "5-2", "7-7", f"0-{10**9}", "-1-4", "1-4-9", ""):
        plain = httpx.get(f"{site}/a/{url_quote(quote.article_id, safe='')}",
                          params={"q": bad}, timeout=10)
        assert plain.status_code == 200 and "<mark" not in plain.text, bad


def test_the_webhook_server_serves_the_pages_beside_healthz(webhook, corpus):
    bot, base, _ = webhook
    _, quote = corpus
    wait_for(f"{base}/healthz", bot, status=200)
    mine = corpus[0].model_copy(update={"data_dir": bot.log.parent})  # the webhook bot's data
    url = article_page_url("https://bot.example.org", quote, linked(mine, quote)) or ""
    page = httpx.get(base + url.removeprefix("https://bot.example.org"), timeout=10)
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    mark = lxml.html.fromstring(page.text).xpath('//mark[@id="quote"]')[0]
    assert mark.text_content() == quote.text


def test_open_in_article_is_a_mini_app_in_private_chats_and_a_link_in_groups(webhook):
    """ARTICLE_WEB_APP with an https PUBLIC_URL: a web_app button where Telegram allows one
    (private chats; the fake server refuses it in groups, as Telegram does), a link elsewhere."""
    bot, base, api = webhook
    wait_for(f"{base}/healthz", bot, status=200)
    api.add_chat(-4701, "supergroup", "Desk")
    found = {}
    for chat, text in ((4700, QUESTION), (-4701, f"/ask {QUESTION}")):
        before = len(api.messages_to(chat))
        api.user_message(chat, text, user_id=4700)
        reply = api.wait_for(lambda m, c=chat, b=before: m["chat"]["id"] == c
                             and len(api.messages_to(c)) > b, timeout=60)[before]
        (found[chat],) = [b for row in reply["reply_markup"]["inline_keyboard"] for b in row
                          if b["text"] == "Open in article"]
    assert found[4700]["web_app"]["url"].startswith("https://bot.example.org/a/")
    assert "url" not in found[4700]
    in_app = httpx.get(base + found[4700]["web_app"]["url"].removeprefix(
        "https://bot.example.org"), timeout=10)
    assert "frame-ancestors https://web.telegram.org https://*.web.telegram.org;" in (
        in_app.headers["content-security-policy"])
    assert found[-4701]["url"].startswith("https://bot.example.org/a/")
