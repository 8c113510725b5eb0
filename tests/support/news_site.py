"""A small news site on 127.0.0.1 for the fetch tests: RSS and Atom feeds, realistic article
pages (navigation, cookie banner, related links, comments, scripts, <meta> and JSON-LD dates)
and pages that fail in every way a fetch must survive."""

from __future__ import annotations

import html
import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BOILERPLATE = ["cookies", "Sport", "Related", "Storm hits coast", "First!", "All rights reserved",
               "tracking", "console.log"]


def article_page(title: str, paragraphs: list[str], published: str | None, canonical: str,
                 author: str = "Jane Reporter", site: str = "Example News") -> str:
    """An article page as news sites make them, with the article somewhere in the middle."""
    dated = (f'<meta property="article:published_time" content="{published}T09:00:00Z">'
             if published else "")
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": title,
          "author": {"@type": "Person", "name": author},
          "publisher": {"@type": "Organization", "name": site}}
    if published:
        ld["datePublished"] = f"{published}T09:00:00Z"
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} | {site}</title>
<link rel="canonical" href="{canonical}">
<meta property="og:title" content="{html.escape(title)}">
<meta property="og:site_name" content="{site}"><meta name="author" content="{author}">
{dated}<script type="application/ld+json">{json.dumps(ld)}</script>
<script>var tracking = "pixel";</script></head><body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
</header><div class="cookie-banner">We use cookies to improve your experience.</div>
<main><article><h1>{html.escape(title)}</h1>
{body}
</article><aside><h3>Related</h3><ul><li><a href="/a">Storm hits coast</a></li></ul></aside>
<section class="comments"><h3>Comments</h3><p>First! What a story.</p></section></main>
<footer>© {site}. All rights reserved.</footer><script>console.log("x");</script>
</body></html>"""


def rss(items: list[dict]) -> str:
    entries = "".join(
        f"<item><title>{html.escape(i['title'])}</title><link>{i['link']}</link>"
        f"<guid>{i['link']}</guid>"
        + (f"<pubDate>{i['date']}</pubDate>" if i.get("date") else "") + "</item>"
        for i in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Example News</title><link>http://example/</link>"
            f"<description>News</description>{entries}</channel></rss>")


def atom(items: list[dict]) -> str:
    entries = "".join(
        f"<entry><title>{html.escape(i['title'])}</title><link href=\"{i['link']}\"/>"
        f"<id>{i['link']}</id><updated>{i.get('updated', '2024-05-01T00:00:00Z')}</updated>"
        f"</entry>" for i in items)
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
            f"<title>Wire</title><id>urn:wire</id><updated>2024-05-01T00:00:00Z</updated>"
            f"{entries}</feed>")


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class NewsSite:
    """path -> (status, content type, body bytes, delay seconds); change `pages` any time.
    `headers` adds response headers to a path (a redirect's Location); `drips` sends a path's
    body `size` bytes at a time, `interval` seconds apart (a slow-drip server). `host` is the
    loopback address it listens on (127.0.0.1, 127.0.0.2, ::1); `tls` (certificate and key
    files) serves HTTPS."""

    def __init__(self, host: str = "127.0.0.1", tls: tuple[str, str] | None = None) -> None:
        self.pages: dict[str, tuple[int, str, bytes, float]] = {}
        self.headers: dict[str, dict[str, str]] = {}
        self.drips: dict[str, tuple[int, float]] = {}
        self.requests: list[str] = []
        self.host = host
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                site.requests.append(self.path)
                status, kind, body, delay = site.pages.get(
                    self.path, (404, "text/html", b"<h1>Not found</h1>", 0.0))
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in site.headers.get(self.path, {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    size, interval = site.drips.get(self.path, (len(body) or 1, 0.0))
                    for start in range(0, len(body), size):
                        self.wfile.write(body[start:start + size])
                        if interval:
                            self.wfile.flush()
                            time.sleep(interval)
                except OSError:
                    pass

        server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
        self.server = server_class((host, 0), Handler)
        self.scheme = "https" if tls else "http"
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.server.server_address[1]}"

    def put(self, path: str, body: str | bytes, kind: str = "text/html; charset=utf-8",
            status: int = 200, delay: float = 0.0) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.pages[path] = (status, kind, data, delay)
        return self.url + path

    def redirect(self, path: str, target: str, status: int = 302) -> str:
        """`path` answers with a redirect to `target` (any URL)."""
        self.put(path, b"", status=status)
        self.headers[path] = {"Location": target}
        return self.url + path

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
