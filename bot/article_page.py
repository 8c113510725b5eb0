"""The article page: `GET /a/<article_id>?q=<start>-<end>` shows an article's stored text with
the quoted span `text[start:end]` highlighted and scrolled into view, so that anyone can check a
quote in its context, also when the article has no link of its own.

Served by the bot's own web server when `PUBLIC_URL` is set: in webhook mode the webhook's
(beside `/healthz`), in polling mode a small one of its own (`ArticleServer`), both on
`TELEGRAM_WEBHOOK_LISTEN`:`TELEGRAM_WEBHOOK_PORT`. Everything from the corpus is HTML-escaped;
the page's only script and style are its own, allowed by their hashes in a strict
Content-Security-Policy.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import quote as url_quote
from urllib.parse import urlsplit

import tornado.httpserver
import tornado.web

from bot.engine import ArticleText, Engine, Quote
from bot.settings import Settings
from index import paragraphs
from index.sources import is_web_url

__all__ = ["ARTICLE_PATH", "CONTENT_SECURITY_POLICY", "ArticleHandler", "ArticleServer",
           "article_page_url", "article_path", "article_routes", "parse_span", "render_article",
           "render_gone"]

log = logging.getLogger(__name__)
ARTICLE_PATH = "/a/"
CACHE_SECONDS = 60  # the index may change under a page: a short cache only
MAX_OFFSET_DIGITS = 12
_SPAN = re.compile(rf"(\d{{1,{MAX_OFFSET_DIGITS}}})-(\d{{1,{MAX_OFFSET_DIGITS}}})")

STYLE = """\
:root{color-scheme:light dark}
body{margin:0;background:#fff;color:#1b1b1b;
font:1.125rem/1.6 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;
-webkit-text-size-adjust:100%;text-size-adjust:100%}
main{max-width:40rem;margin:0 auto;padding:1rem 1.25rem 3rem}
h1{font-size:1.5rem;line-height:1.3;margin:.5rem 0}
.meta{color:#555;font-size:.95rem;margin:0 0 1.5rem}
a{color:#0b57d0}
article p{margin:0 0 1em;overflow-wrap:break-word}
mark{background:#ffe066;color:inherit;padding:.1em 0;border-radius:2px}
footer{margin-top:2rem;color:#666;font-size:.85rem}
@media (prefers-color-scheme:dark){body{background:#141414;color:#e6e6e6}
.meta,footer{color:#aaa}a{color:#8ab4f8}mark{background:#6b5600;color:#fff}}
"""
# Run at parse time, after the quote: it stands in the middle of the screen when the page opens
# (Telegram opens the page without a #fragment, so `#quote` alone would not scroll).
SCRIPT = 'var q=document.getElementById("quote");if(q)q.scrollIntoView({block:"center"});'


def _hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src {_hash(STYLE)}; script-src {_hash(SCRIPT)}; "
    "img-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": f"public, max-age={CACHE_SECONDS}",
}


def article_path(article_id: str, start: int | None = None, end: int | None = None) -> str:
    """The page's path: the id percent-encoded whole (slashes too), the span as `q`."""
    path = ARTICLE_PATH + url_quote(article_id, safe="")
    return path if start is None or end is None else f"{path}?q={start}-{end}"


def article_page_url(public_url: str | None, quote: Quote) -> str | None:
    """Where a quote can be read in its article (`PUBLIC_URL/a/<id>?q=<start>-<end>`); None
    when `PUBLIC_URL` is unset (no pages are served then)."""
    if not public_url:
        return None
    return public_url.rstrip("/") + article_path(quote.article_id, quote.start, quote.end)


def parse_span(value: str | None, length: int) -> tuple[int, int] | None:
    """`start-end` as offsets into a text of `length` characters; None when malformed, empty
    or out of range (the page then shows the article without a highlight)."""
    match = _SPAN.fullmatch(value or "")
    if match is None:
        return None
    start, end = int(match.group(1)), int(match.group(2))
    return (start, end) if 0 <= start < end <= length else None


@dataclass(frozen=True)
class _Piece:
    """A paragraph's slice `text[start:end]`, highlighted or not."""

    start: int
    end: int
    marked: bool


def _pieces(para_start: int, para_end: int, span: tuple[int, int] | None) -> list[_Piece]:
    if span is None or span[1] <= para_start or span[0] >= para_end:
        return [_Piece(para_start, para_end, False)]
    lo, hi = max(span[0], para_start), min(span[1], para_end)
    found = [_Piece(para_start, lo, False), _Piece(lo, hi, True), _Piece(hi, para_end, False)]
    return [p for p in found if p.end > p.start]


def _body(text: str, span: tuple[int, int] | None) -> tuple[str, bool]:
    """The article's paragraphs as <p>, the span's pieces in <mark> (the first with
    id="quote"); whether anything was marked."""
    out: list[str] = []
    first = True
    for para in paragraphs(text):
        html = []
        for piece in _pieces(para.start, para.end, span):
            shown = escape(text[piece.start:piece.end], quote=False)
            if piece.marked:
                opening = '<mark id="quote">' if first else "<mark>"
                html.append(f"{opening}{shown}</mark>")
                first = False
            else:
                html.append(shown)
        out.append(f'<p dir="auto">{"".join(html)}</p>')
    return "\n".join(out), not first


def _document(title: str, inner: str, script: bool) -> str:
    tail = f"<script>{SCRIPT}</script>\n" if script else ""
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{inner}\n"
        "<footer>Quoted by Verbatim: every quote is this text, character for character."
        "</footer>\n</main>\n"
        f"{tail}</body>\n</html>\n")


def _meta(found: ArticleText, marked: bool) -> str:
    """Source · date · the original's link (only an http(s) one) · a link down to the quote."""
    ref = found.article
    items = []
    if ref.source:
        items.append(f'<span dir="auto">{escape(ref.source)}</span>')
    if ref.published:
        items.append(f'<time datetime="{escape(ref.published)}">{escape(ref.published)}</time>')
    link = ref.url if ref.url and ref.url == ref.url.strip() and is_web_url(ref.url) else None
    if link:
        host = urlsplit(link).hostname or link
        items.append(f'<a href="{escape(link)}" rel="noopener noreferrer nofollow">'
                     f"Original article</a> ({escape(host)})")
    if marked:
        items.append('<a href="#quote">Go to the quote</a>')
    return f'<p class="meta">{" · ".join(items)}</p>' if items else ""


def render_article(found: ArticleText, span: tuple[int, int] | None) -> str:
    """The page of an article: title, source, date, link, its whole text, `span` marked."""
    body, marked = _body(found.text, span)
    title = found.article.title
    lang = f' lang="{escape(found.language)}"' if found.language else ""
    inner = (f'<header>\n<h1 dir="auto"{lang}>{escape(title)}</h1>\n{_meta(found, marked)}\n'
             f"</header>\n<article{lang}>\n{body}\n</article>")
    return _document(title, inner, script=marked)


def render_gone(message: str) -> str:
    """The page for an article that is not (or no longer) there, or an index not loaded."""
    return _document("Verbatim", f"<h1>{escape(message)}</h1>", script=False)


GONE = "This article is no longer in the index."
UNAVAILABLE = "The index is not loaded yet. Please try again in a minute."


class _Page(tornado.web.RequestHandler):
    """The security headers on every answer, error pages included."""

    def set_default_headers(self) -> None:
        for name, value in HEADERS.items():
            self.set_header(name, value)
        self.set_header("Content-Type", "text/html; charset=utf-8")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish(render_gone(f"{status_code} {self._reason}"))


class ArticleHandler(_Page):
    """`GET /a/<article_id>?q=<start>-<end>`; the id arrives percent-decoded by tornado."""

    def initialize(self, engine: Engine) -> None:
        self.engine = engine

    async def get(self, article_id: str) -> None:
        if not self.engine.ready:
            self.set_status(503)
            self.set_header("Retry-After", "30")
            self.finish(render_gone(UNAVAILABLE))
            return
        found = await asyncio.to_thread(self.engine.article_text, article_id)
        if found is None:
            self.set_status(404)
            self.finish(render_gone(GONE))
            return
        span = parse_span(self.get_query_argument("q", None), len(found.text))
        self.finish(await asyncio.to_thread(render_article, found, span))

    async def head(self, article_id: str) -> None:
        await self.get(article_id)


class _NotFound(_Page):
    def prepare(self) -> None:
        raise tornado.web.HTTPError(404)


def article_routes(engine: Engine) -> list[tuple[str, type[tornado.web.RequestHandler],
                                                  dict[str, Any]]]:
    """The page's route, for a tornado Application (the webhook's or ArticleServer's)."""
    return [(ARTICLE_PATH + "(.+)", ArticleHandler, {"engine": engine})]


class ArticleServer:
    """The article pages alone, for polling mode (no webhook server to share)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self.server: tornado.httpserver.HTTPServer | None = None

    def start(self) -> None:
        """Listen on TELEGRAM_WEBHOOK_LISTEN:TELEGRAM_WEBHOOK_PORT (raises if it cannot)."""
        web = tornado.web.Application(article_routes(self.engine),
                                      default_handler_class=_NotFound)
        self.server = tornado.httpserver.HTTPServer(web)
        self.server.listen(self.settings.telegram_webhook_port,
                           address=self.settings.telegram_webhook_listen)
        log.info("article pages at %s%s… (listening on %s:%d)", self.settings.public_url,
                 ARTICLE_PATH, self.settings.telegram_webhook_listen,
                 self.settings.telegram_webhook_port)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
