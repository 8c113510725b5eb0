"""A polite HTTP client for feeds and article pages: timeouts, a size limit, a user agent,
a delay between requests to the same host, redirects followed within a limit."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlparse

import httpx

HTML_TYPES = ("text/html", "application/xhtml+xml")
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)


class FetchError(Exception):
    """A feed or page that could not be fetched; the message is the reason."""


@dataclass
class Fetched:
    body: bytes
    url: str  # after redirects
    content_type: str
    charset: str | None


class PoliteClient:
    def __init__(self, user_agent: str, timeout: float, max_bytes: int, host_delay: float,
                 max_redirects: int) -> None:
        self.client = httpx.Client(timeout=timeout, follow_redirects=True,
                                   max_redirects=max_redirects,
                                   headers={"User-Agent": user_agent})
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.host_delay = host_delay
        self.last_request: dict[str, float] = {}
        self.lock = threading.Lock()

    def _wait_for_host(self, url: str) -> None:
        host = urlparse(url).netloc.lower()
        with self.lock:
            wait = self.last_request.get(host, -1e9) + self.host_delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self.last_request[host] = time.monotonic()

    def get(self, url: str) -> Fetched:
        if urlparse(url).scheme not in ("http", "https"):
            raise FetchError(f"not an http(s) URL: {url}")
        self._wait_for_host(url)
        try:
            with self.client.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise FetchError(f"HTTP {response.status_code} from {response.url}")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise FetchError(f"too large: {int(declared):,} bytes (limit "
                                     f"{self.max_bytes:,}, setting FETCH_MAX_BYTES)")
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise FetchError(f"too large: over {self.max_bytes:,} bytes "
                                         "(setting FETCH_MAX_BYTES)")
                    chunks.append(chunk)
                content_type = response.headers.get("content-type", "").split(";")[0].strip()
                return Fetched(b"".join(chunks), str(response.url), content_type.lower(),
                               response.charset_encoding)
        except httpx.TooManyRedirects:
            raise FetchError("too many redirects (setting FETCH_MAX_REDIRECTS)") from None
        except httpx.TimeoutException:
            raise FetchError(f"timed out after {self.timeout:g} s "
                             "(setting FETCH_TIMEOUT_SECONDS)") from None
        except httpx.ConnectError as err:
            raise FetchError(f"cannot connect: {err}") from None
        except httpx.HTTPError as err:
            raise FetchError(f"{type(err).__name__}: {err}") from None

    def close(self) -> None:
        self.client.close()


def page_text(fetched: Fetched) -> str:
    """The page as text, in the charset it declares; a page whose bytes do not match it is
    refused rather than quoted with replacement characters."""
    if not any(fetched.content_type.startswith(t) for t in HTML_TYPES):
        raise FetchError(f"not HTML (content type {fetched.content_type or 'missing'!r})")
    meta = _META_CHARSET.search(fetched.body[:4096])
    charset = fetched.charset or (meta.group(1).decode("ascii") if meta else "utf-8")
    try:
        return fetched.body.decode(charset)
    except LookupError:
        raise FetchError(f"unknown charset {charset!r}") from None
    except UnicodeDecodeError as err:
        raise FetchError(f"wrong encoding: the bytes are not {charset} (at byte "
                         f"{err.start})") from None
