"""The article page's web side: `GET /a/<article_id>?quote=<link>` shows an article's stored
text with the quote the bot gave highlighted and scrolled into view (the document itself is
composed by `bot.render`: `render_article`, `render_gone`).

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
`TELEGRAM_WEBHOOK_LISTEN`:`TELEGRAM_WEBHOOK_PORT`.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote as url_quote

import tornado.httpserver
import tornado.web

from bot.engine import ArticleText, Engine, Quote
from bot.render import (
    CONTENT_SECURITY_POLICY,
    EXPIRED,
    MINI_APP_CONTENT_SECURITY_POLICY,
    MOVED_OUT,
    PAGE_GONE,
    PAGE_UNAVAILABLE,
    render_article,
    render_gone,
)
from bot.settings import Settings
from bot.state import State

__all__ = ["ARTICLE_PATH", "ArticleHandler", "ArticleServer", "article_page_url", "article_path",
           "article_routes", "clipped", "log_request", "parse_link", "quoted_span"]

log = logging.getLogger(__name__)
access_log = logging.getLogger("tornado.access")
ARTICLE_PATH = "/a/"
CACHE_SECONDS = 60  # the index may change under a page: a short cache only
_LINK = re.compile(r"[A-Za-z0-9_-]{1,16}")  # a quote link id, as /start q_<id> takes it
LOGGED_URL_CHARS = 200  # a URL is logged clipped: anyone can send a 64 KiB one

# On every answer, error pages included: the page's own policy, and no sniffing, referrer or
# framing (a Mini App's page lifts the last for Telegram's web clients only).
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
    query = []
    if link:
        query.append(f"quote={url_quote(link, safe='')}")
    if mini_app:
        query.append(f"{MINI_APP}=1")
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
class Marked:
    """What the page marks (`span`), or why it marks nothing (`notice`, or neither)."""

    span: tuple[int, int] | None = None
    notice: str | None = None


def quoted_span(engine: Engine, state: State, found: ArticleText, link: str | None) -> Marked:
    """In a worker thread: where the quote behind `link` stands in the article now. Nothing
    is marked for no link or a link to another article's quote; EXPIRED for a link the state
    database does not hold (pruned, or never given); MOVED_OUT when its text is gone."""
    if link is None:
        return Marked()
    stored = state.quote_link(link)
    if stored is None:
        return Marked(notice=EXPIRED)
    if stored["article_id"] != found.article.article_id:
        return Marked()
    linked = Quote(text=stored["text"], article_id=stored["article_id"], title="", source=None,
                   url=None, published=None, paragraph=0, start=stored["start"],
                   end=stored["end"], score=1.0)
    now = engine.still_there(linked)
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
    request = handler.request
    access_log.log(_level(status), "%d %s %s (%s) %.2fms", status, request.method,
                   clipped(request.uri or ""), request.remote_ip, 1000.0 * request.request_time())


def _level(status: int) -> int:
    """A success logged at INFO, a client's error at WARNING, the server's at ERROR."""
    if status < 400:
        return logging.INFO
    return logging.WARNING if status < 500 else logging.ERROR


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
            self.finish(render_gone(PAGE_UNAVAILABLE))
            return
        found = await asyncio.to_thread(self.engine.article_text, article_id)
        if found is None:
            self.set_status(404)
            self.finish(render_gone(PAGE_GONE))
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
