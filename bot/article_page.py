"""The article page: `GET /a/<article_id>?quote=<link>` shows an article's stored text with the
quote the bot gave highlighted and scrolled into view, so that anyone can check a quote in its
context, also when the article has no link of its own.

The page marks only what the bot quoted: `<link>` is the quote's stored link id (the one
`t.me/<bot>?start=q_<link>` names, kept in the state database by `State.link_quote`), and the
quoted text is found again in the article as it stands now (`Engine.still_there`, as the deep
link does). A URL cannot name offsets of its own: a link made by hand, or one for another
article, marks nothing; a quote no longer in the article is said so, and marks nothing; a link
pruned after RETENTION_DAYS is said to have expired. A stored link rather than a signed span:
the inline cards and answers store one already, the replicas share the database (no secret to
agree on), and the stored text is what lets a quote that moved be found at its new place.

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
from bot.state import State
from index import paragraphs
from index.sources import is_web_url

__all__ = ["ARTICLE_PATH", "CONTENT_SECURITY_POLICY", "EXPIRED", "MINI_APP_CONTENT_SECURITY_POLICY",
           "MOVED_OUT", "TELEGRAM_WEB_ORIGINS", "ArticleHandler", "ArticleServer",
           "article_page_url", "article_path", "article_routes", "clipped", "log_request",
           "parse_link", "quoted_span", "render_article", "render_gone"]

log = logging.getLogger(__name__)
access_log = logging.getLogger("tornado.access")
ARTICLE_PATH = "/a/"
CACHE_SECONDS = 60  # the index may change under a page: a short cache only
_LINK = re.compile(r"[A-Za-z0-9_-]{1,16}")  # a quote link id, as /start q_<id> takes it
LOGGED_URL_CHARS = 200  # a URL is logged clipped: anyone can send a 64 KiB one

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
.notice{border-left:4px solid #c5221f;padding:.25rem .75rem;margin:0 0 1.5rem}
@media (prefers-color-scheme:dark){body{background:#141414;color:#e6e6e6}
.meta,footer{color:#aaa}a{color:#8ab4f8}mark{background:#6b5600;color:#fff}}
"""
# Run at parse time, after the quote: it stands in the middle of the screen when the page opens
# (Telegram opens the page without a #fragment, so `#quote` alone would not scroll).
SCRIPT = 'var q=document.getElementById("quote");if(q)q.scrollIntoView({block:"center"});'


def _hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def _policy(frame_ancestors: str) -> str:
    return (f"default-src 'none'; style-src {_hash(STYLE)}; script-src {_hash(SCRIPT)}; "
            f"img-src 'none'; frame-ancestors {frame_ancestors}; base-uri 'none'; "
            "form-action 'none'")


# Telegram's web clients (Web K at web.telegram.org/k/, Web A at web.telegram.org/a/) open a
# Mini App in an iframe of their own page: the page must let exactly them frame it.
TELEGRAM_WEB_ORIGINS = ("https://web.telegram.org", "https://*.web.telegram.org")
CONTENT_SECURITY_POLICY = _policy("'none'")
MINI_APP_CONTENT_SECURITY_POLICY = _policy(" ".join(TELEGRAM_WEB_ORIGINS))
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": f"public, max-age={CACHE_SECONDS}",
}
MINI_APP = "app"  # the query argument that says the page is opened as a Mini App


def article_path(article_id: str, link: str | None = None, mini_app: bool = False) -> str:
    """The page's path: the id percent-encoded whole (slashes too), the quote link as `quote`,
    `app=1` when it opens as a Mini App."""
    path = ARTICLE_PATH + url_quote(article_id, safe="")
    query = ([f"quote={url_quote(link, safe='')}"] if link else []) + (
        [f"{MINI_APP}=1"] if mini_app else [])
    return f"{path}?{'&'.join(query)}" if query else path


def article_page_url(public_url: str | None, quote: Quote, link: str,
                     mini_app: bool = False) -> str | None:
    """Where a quote can be read in its article (`PUBLIC_URL/a/<id>?quote=<link>`, `link` the
    id `State.link_quote` stored it under); None when `PUBLIC_URL` is unset (no pages are
    served then)."""
    if not public_url:
        return None
    return public_url.rstrip("/") + article_path(quote.article_id, link, mini_app)


def parse_link(value: str | None) -> str | None:
    """A quote link id as the page's `quote` argument carries it; None when malformed."""
    return value if value is not None and _LINK.fullmatch(value) else None


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


def render_article(found: ArticleText, span: tuple[int, int] | None,
                   notice: str | None = None) -> str:
    """The page of an article: title, source, date, link, a notice (why nothing is marked),
    its whole text, `span` marked."""
    body, marked = _body(found.text, span)
    title = found.article.title
    lang = f' lang="{escape(found.language)}"' if found.language else ""
    said = f'<p class="notice" role="status">{escape(notice)}</p>\n' if notice else ""
    inner = (f'<header>\n<h1 dir="auto"{lang}>{escape(title)}</h1>\n{_meta(found, marked)}\n'
             f"{said}</header>\n<article{lang}>\n{body}\n</article>")
    return _document(title, inner, script=marked)


def render_gone(message: str) -> str:
    """The page for an article that is not (or no longer) there, or an index not loaded."""
    return _document("Verbatim", f"<h1>{escape(message)}</h1>", script=False)


GONE = "This article is no longer in the index."
UNAVAILABLE = "The index is not loaded yet. Please try again in a minute."
MOVED_OUT = "The quoted passage is no longer in this article: it changed since it was quoted."
EXPIRED = "This quote link has expired: the article is shown without the quote."


@dataclass(frozen=True)
class Marked:
    """What the page marks (`span`), or why it marks nothing (`notice`, or neither)."""

    span: tuple[int, int] | None = None
    notice: str | None = None


def quoted_span(engine: Engine, state: State, found: ArticleText, link: str | None) -> Marked:
    """In a worker thread: where the quote behind `link` stands in the article now. Nothing
    is marked for no link or a link to another article's quote; EXPIRED for a link the state
    database does not hold (pruned, or never given); MOVED_OUT when its text is gone."""
    stored = state.quote_link(link) if link is not None else None
    if link is not None and stored is None:
        return Marked(notice=EXPIRED)
    if stored is None or stored["article_id"] != found.article.article_id:
        return Marked()
    now = engine.still_there(Quote(
        text=stored["text"], article_id=stored["article_id"], title="", source=None, url=None,
        published=None, paragraph=0, start=stored["start"], end=stored["end"], score=1.0))
    # The page's text and the re-found quote may come from two index versions: mark only a
    # span that holds the quoted text in the text shown.
    if now is None or found.text[now.start:now.end] != stored["text"]:
        return Marked(notice=MOVED_OUT)
    return Marked(span=(now.start, now.end))


def clipped(text: str, limit: int = LOGGED_URL_CHARS) -> str:
    """`text` as logged: at most `limit` characters, and how many more there were."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more)"


def log_request(handler: tornado.web.RequestHandler) -> None:
    """Tornado's access log line (`log_function`), the URL clipped."""
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING if status < 500 else logging.ERROR
    request = handler.request
    access_log.log(level, "%d %s %s (%s) %.2fms", status, request.method,
                   clipped(request.uri or ""), request.remote_ip, 1000.0 * request.request_time())


class _Page(tornado.web.RequestHandler):
    """The security headers on every answer, error pages included."""

    def set_default_headers(self) -> None:
        for name, value in HEADERS.items():
            self.set_header(name, value)
        self.set_header("Content-Type", "text/html; charset=utf-8")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish(render_gone(f"{status_code} {self._reason}"))

    def _request_summary(self) -> str:
        """As tornado logs a request that failed, the URL clipped."""
        return f"{self.request.method} {clipped(self.request.uri or '')} ({self.request.remote_ip})"


class ArticleHandler(_Page):
    """`GET /a/<article_id>?quote=<link>[&app=1]`; the id arrives percent-decoded by tornado."""

    def initialize(self, engine: Engine, state: State) -> None:
        self.engine = engine
        self.state = state

    async def get(self, article_id: str) -> None:
        if self.get_query_argument(MINI_APP, None) == "1":  # Telegram's web clients frame it
            self.set_header("Content-Security-Policy", MINI_APP_CONTENT_SECURITY_POLICY)
            self.clear_header("X-Frame-Options")
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
        link = parse_link(self.get_query_argument("quote", None))
        marked = await asyncio.to_thread(quoted_span, self.engine, self.state, found, link)
        self.finish(await asyncio.to_thread(render_article, found, marked.span, marked.notice))

    async def head(self, article_id: str) -> None:
        await self.get(article_id)


class _NotFound(_Page):
    def prepare(self) -> None:
        raise tornado.web.HTTPError(404)


def article_routes(engine: Engine, state: State) -> list[
        tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]]:
    """The page's route, for a tornado Application (the webhook's or ArticleServer's)."""
    return [(ARTICLE_PATH + "(.+)", ArticleHandler, {"engine": engine, "state": state})]


class ArticleServer:
    """The article pages alone, for polling mode (no webhook server to share)."""

    def __init__(self, engine: Engine, state: State, settings: Settings) -> None:
        self.engine = engine
        self.state = state
        self.settings = settings
        self.server: tornado.httpserver.HTTPServer | None = None

    def start(self) -> None:
        """Listen on TELEGRAM_WEBHOOK_LISTEN:TELEGRAM_WEBHOOK_PORT (raises if it cannot)."""
        web = tornado.web.Application(article_routes(self.engine, self.state),
                                      default_handler_class=_NotFound, log_function=log_request)
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
