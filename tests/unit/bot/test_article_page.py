"""The article page without a browser: its URL, the span, the marks across paragraphs, the
escaping of everything from the corpus, the policy's hashes, the PUBLIC_URL setting."""

from __future__ import annotations

import base64
import hashlib
import re

import lxml.html
import pytest
from pydantic import ValidationError

from bot.chat.pages import article_page_url, clipped, parse_link
from bot.engine import ArticleRef, ArticleText, Quote
from bot.render import CONTENT_SECURITY_POLICY, SCRIPT, STYLE, render_article, render_gone
from bot.settings import Settings

TEXT = "First paragraph here.\n\nSecond one, with a <script>alert(1)</script> in it.\n\nThird."


def article(text: str = TEXT, **fields: str | None) -> ArticleText:
    ref = {"article_id": "corpus/src/a b.md", "title": "A title", "source": None, "url": None,
           "published": None, **fields}
    return ArticleText(ArticleRef(**ref), text, "en")


def quote(start: int, end: int, article_id: str = "corpus/src/a b.md") -> Quote:
    return Quote(text=TEXT[start:end], article_id=article_id, title="A title", source=None,
                 url=None, published=None, paragraph=1, start=start, end=end, score=1.0)


def test_the_url_encodes_the_whole_id_and_carries_the_quote_link() -> None:
    assert article_page_url(None, quote(0, 5), "abc") is None
    assert article_page_url("", quote(0, 5), "abc") is None
    assert (article_page_url("https://bot.example.org/", quote(6, 15), "Ab-_9")
            == "https://bot.example.org/a/corpus%2Fsrc%2Fa%20b.md?quote=Ab-_9")
    assert (article_page_url("https://x.org", quote(0, 5, "q?#&%.md"), "l", mini_app=True)
            == "https://x.org/a/q%3F%23%26%25.md?quote=l&app=1")


@pytest.mark.parametrize(("value", "expected"), [
    ("Ab-_9", "Ab-_9"), ("x" * 16, "x" * 16), ("x" * 17, None), ("", None), (None, None),
    ("6-15", "6-15"), ("a b", None), ("a%00", None), ("\x00", None), ("é", None),
])
def test_a_quote_link_is_a_short_url_safe_id(value: str | None, expected) -> None:
    assert parse_link(value) == expected


def test_a_notice_says_why_nothing_is_marked() -> None:
    dom = lxml.html.fromstring(render_article(article(), None, "<b>Gone</b>"))
    assert [n.text_content() for n in dom.xpath('//p[@class="notice"]')] == ["<b>Gone</b>"]
    assert not dom.xpath("//mark") and not dom.xpath("//header//b")


def test_a_long_url_is_logged_clipped() -> None:
    assert clipped("/a/x") == "/a/x"
    assert clipped("/a/" + "x" * 5000) == "/a/" + "x" * 197 + "… (4803 more)"


def test_a_span_across_paragraphs_is_marked_in_each_the_first_with_the_id() -> None:
    start, end = TEXT.index("here."), TEXT.index("Second one,") + len("Second one,")
    dom = lxml.html.fromstring(render_article(article(), (start, end)))
    marks = dom.xpath("//mark")
    assert [m.text_content() for m in marks] == ["here.", "Second one,"]
    assert [m.get("id") for m in marks] == ["quote", None]
    assert [p.text_content() for p in dom.xpath("//article/p")] == [
        "First paragraph here.", "Second one, with a <script>alert(1)</script> in it.", "Third."]
    assert [s.text_content() for s in dom.xpath("//script")] == [SCRIPT]


def test_without_a_span_nothing_is_marked_and_no_script_is_sent() -> None:
    html = render_article(article(), None)
    assert "<mark" not in html and "<script" not in html.replace("&lt;script", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_everything_from_the_corpus_is_escaped_and_only_web_links_link() -> None:
    hostile = article(title='<img src=x onerror="alert(1)">', source="<i>S</i>",
                      published='2020-01-01"><b>', url="javascript:alert(1)")
    dom = lxml.html.fromstring(render_article(hostile, (0, 5)))
    assert not dom.xpath("//img | //i | //b | //*[@onerror]")
    assert dom.xpath("//h1")[0].text_content() == '<img src=x onerror="alert(1)">'
    assert dom.xpath("//title")[0].text_content() == '<img src=x onerror="alert(1)">'
    assert not dom.xpath('//a[text()="Original article"]')
    linked = article(url='https://example.org/a?x=1&y="2"')
    link = lxml.html.fromstring(render_article(linked, None)).xpath("//header//a")[0]
    assert link.get("href") == 'https://example.org/a?x=1&y="2"'
    for url in ("tg://resolve?domain=x", " https://example.org/", "data:text/html,x"):
        assert "Original article" not in render_article(article(url=url), None)


def test_the_policy_allows_exactly_the_pages_own_style_and_script() -> None:
    def digest(source: str) -> str:
        return base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()

    html = render_article(article(), (0, 5))
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    script = re.search(r"<script>(.*?)</script>", html, re.S)
    assert style and script
    assert f"style-src 'sha256-{digest(style.group(1))}';" in CONTENT_SECURITY_POLICY
    assert f"script-src 'sha256-{digest(script.group(1))}';" in CONTENT_SECURITY_POLICY
    assert style.group(1) == STYLE
    for rule in ("default-src 'none'", "frame-ancestors 'none'", "base-uri 'none'",
                 "form-action 'none'"):
        assert rule in CONTENT_SECURITY_POLICY
    assert 'name="viewport"' in html and 'name="viewport"' in render_gone("Gone.")


@pytest.mark.parametrize(("value", "expected"), [
    ("", None), ("https://bot.example.org/", "https://bot.example.org"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("https://example.org/verbatim/", "https://example.org/verbatim"),
])
def test_public_url_is_a_base_url(value: str, expected: str | None) -> None:
    assert Settings(_env_file=None, public_url=value).public_url == expected


@pytest.mark.parametrize("value", ["ftp://x.org", "javascript:alert(1)", "https://", "x.org",
                                   "https://x.org/?a=1", "https://x.org/#top"])
def test_public_url_refuses_what_is_not_one(value: str) -> None:
    with pytest.raises(ValidationError, match="public_url"):
        Settings(_env_file=None, public_url=value)
