"""A polite HTTP client for feeds and article pages: timeouts per read and a total deadline per
request, a size limit, a user agent, a delay between requests to the same host, redirects
followed within a limit, and no connection to a loopback, private, link-local, multicast or
reserved address unless the operator allows it. The address is checked where the connection is
made, for the first URL and every redirect, on the address actually connected to (a DNS answer
that changes between a check and the connection cannot slip past)."""

from __future__ import annotations

import codecs
import ipaddress
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import httpcore
import httpx

from index.errors import VerbatimError
from index.settings import FetchSettings

log = logging.getLogger(__name__)
HTML_TYPES = ("text/html", "application/xhtml+xml")
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", re.I)
# Python codec names (codecs.lookup().name) of real text encodings; not punycode, idna, utf-7,
# unicode-escape and the like, which cost seconds of CPU or are not what a page is written in.
_TEXT_ENCODINGS = re.compile(
    r"utf-8(-sig)?|utf-(16|32)(-[bl]e)?|ascii|iso8859-\d+|cp\d+|koi8-[rtu]|mac-[a-z]+|"
    r"gb2312|gbk|gb18030|big5(hkscs)?|shift_jis(_2004|x0213)?|euc_[a-z0-9_]+|"
    r"iso2022_[a-z0-9_]+|hz|johab|tis-620|kz1048|ptcp154|hp-roman8")


class FetchError(VerbatimError):
    """A feed or page that could not be fetched; the message is the reason."""


@dataclass
class Fetched:
    body: bytes
    url: str  # after redirects
    content_type: str
    charset: str | None


def text_encoding(name: str) -> str:
    """The codec name of a declared charset that is a real text encoding; FetchError if not."""
    try:
        codec = codecs.lookup(name.strip().strip("\"'")).name
    except (LookupError, ValueError, TypeError):
        raise FetchError(f"unknown charset {name[:40]!r}") from None
    if not _TEXT_ENCODINGS.fullmatch(codec):
        raise FetchError(f"charset {codec!r} is not a text encoding this fetcher reads")
    return codec


class AddressRefused(FetchError):
    """An address the policy does not allow; the message names why and the setting that
    allows it (for the maintainer's fetch summary, never for a feed)."""


class AddressPolicy:
    """Which addresses the fetcher may connect to: public ones, the allowed networks, and any
    address at all when private addresses are allowed."""

    def __init__(self, allow_private: bool = False, networks: Iterable[str] = ()) -> None:
        self.allow_private = allow_private
        self.networks = [ipaddress.ip_network(n, strict=False) for n in networks]

    def permits(self, address: str) -> bool:
        return self.refusal(address) is None

    def refusal(self, address: str) -> str | None:
        """Why the fetcher may not connect to `address`: "127.0.0.1 is a loopback address;
        fetching it needs FETCH_ALLOWED_NETWORKS ..."; None when it may."""
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return f"{address[:60]!r} is not an IP address"
        if self.allow_private or any(ip in network for network in self.networks):
            return None
        embedded = ([ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
                    if isinstance(ip, ipaddress.IPv6Address) else [])
        # an IPv4 address inside an IPv6 one says more of where it leads than its wrapping
        for inner in [*embedded, ip]:
            kind = _kind(inner) if inner is not None else None
            if kind is not None:
                return (f"{ip} is {kind} address; fetching it needs FETCH_ALLOWED_NETWORKS "
                        "(or FETCH_ALLOW_PRIVATE=true)")
        return None


# Most telling first: 127.0.0.1 is also "private" to Python, 169.254.0.0/16 too.
_KINDS = (("is_loopback", "a loopback"), ("is_link_local", "a link-local"),
          ("is_multicast", "a multicast"), ("is_unspecified", "an unspecified"),
          ("is_reserved", "a reserved"), ("is_private", "a private"))


def _kind(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """What makes an address not public ("a loopback"...); None for a public one."""
    for test, kind in _KINDS:
        if getattr(ip, test):
            return kind
    return None if ip.is_global else "a non-public"


class _Refused(httpcore.ConnectError):
    """No address of the host is one the policy allows (the message says why)."""


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose reads and writes end by the current request's deadline."""

    def __init__(self, stream: httpcore.NetworkStream, backend: _GuardedBackend) -> None:
        self.stream = stream
        self.backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.stream.read(max_bytes, self.backend.remaining(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.stream.write(buffer, self.backend.remaining(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self.stream.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        timeout = self.backend.remaining(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self.stream.start_tls(ssl_context, server_hostname, timeout),
                               self.backend)

    def get_extra_info(self, info: str) -> Any:
        return self.stream.get_extra_info(info)


class _GuardedBackend(httpcore.SyncBackend):
    """Connects only to addresses the policy permits; every read ends by the deadline of the
    request running on this thread."""

    def __init__(self, policy: AddressPolicy) -> None:
        self.policy = policy
        self.local = threading.local()

    def remaining(self, timeout: float | None, error: type[Exception]) -> float | None:
        # The per-read timeout alone lets a server that trickles one byte per read hold a
        # request forever; the deadline bounds the whole request, redirects included.
        deadline = getattr(self.local, "deadline", None)
        if deadline is None:
            return timeout
        left = deadline - time.monotonic()
        if left <= 0:
            raise error("deadline")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        self.local.host = host
        timeout = self.remaining(timeout, httpcore.ConnectTimeout)
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            found = []
        # Every address DNS gave is checked and only allowed ones are tried, each connected
        # to by its number, so the address checked is the address used.
        refusals = [self.policy.refusal(str(address[0])) for *_, address in found]
        for (*_, address), refusal in zip(found, refusals, strict=True):
            if refusal is not None:
                continue
            try:  # to this very address: no second DNS lookup
                stream = super().connect_tcp(str(address[0]), port, timeout, local_address,
                                             socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout):
                continue
            return _DeadlineStream(stream, self)
        if refusals and None not in refusals:  # refused, not down: say why
            raise _Refused(refusals[0])
        raise httpcore.ConnectError(f"cannot connect to {host}")


class PoliteClient:
    def __init__(self, user_agent: str, timeout: float, max_bytes: int, host_delay: float,
                 max_redirects: int, deadline: float | None = None,
                 policy: AddressPolicy | None = None, verify: ssl.SSLContext | bool = True
                 ) -> None:
        self.backend = _GuardedBackend(policy or AddressPolicy())
        transport = httpx.HTTPTransport(verify=verify)
        pool = transport._pool
        if not hasattr(pool, "_network_backend"):  # pragma: no cover - an httpcore change
            raise RuntimeError("httpcore has no _network_backend: the address check is off")
        # The check lives in the network backend, below redirects and connection reuse, so no
        # connection of this client is made without it.
        pool._network_backend = self.backend
        # The transport given here means no HTTP(S)_PROXY from the environment either: a proxy
        # would connect wherever a feed points, past the address check.
        self.client = httpx.Client(timeout=timeout, follow_redirects=True,
                                   max_redirects=max_redirects, transport=transport,
                                   headers={"User-Agent": user_agent})
        self.timeout = timeout
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.host_delay = host_delay
        self.last_request: dict[str, float] = {}
        self.lock = threading.Lock()

    def _wait_for_host(self, url: str) -> None:
        host = urlparse(url).netloc.lower()
        with self.lock:
            # Requests to one host are spaced (the client may be shared between threads,
            # hence the lock): a feed listing many articles of one site is no burst there.
            wait = self.last_request.get(host, -1e9) + self.host_delay - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self.last_request[host] = time.monotonic()

    def get(self, url: str) -> Fetched:
        try:
            parts = urlparse(url)
            host = parts.hostname
        except ValueError:
            raise FetchError(f"not a valid URL: {url[:200]}") from None
        if parts.scheme not in ("http", "https") or not host:
            raise FetchError(f"not an http(s) URL: {url[:200]}")
        self._wait_for_host(url)
        local = self.backend.local
        local.host = host
        local.deadline = time.monotonic() + self.deadline if self.deadline else None
        try:
            return self._get(url)
        except httpx.TooManyRedirects:
            raise FetchError("too many redirects (setting FETCH_MAX_REDIRECTS)") from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as err:
            refused = _cause(err, _Refused)
            if refused is not None:  # said whole: the summary is the maintainer's, not a feed's
                raise AddressRefused(str(refused)) from None
            if self._past_deadline():
                raise self._timed_out() from None
            tls = _tls_error(err)  # only ever after connecting to an allowed address
            if tls is not None:
                raise FetchError(f"cannot connect to {local.host}: TLS failed ({tls})") from None
            # one text for refused and unreachable: no port scanner
            log.debug("cannot connect to %s: %s", local.host, err)
            raise FetchError(f"cannot connect to {local.host}") from None
        except httpx.TimeoutException:
            raise self._timed_out() from None
        except httpx.HTTPError as err:
            raise FetchError(f"{type(err).__name__}: {err}") from None
        except httpx.InvalidURL as err:
            raise FetchError(f"not a valid URL: {err}") from None
        finally:
            local.deadline = None

    def _past_deadline(self) -> bool:
        deadline = self.backend.local.deadline
        return deadline is not None and time.monotonic() >= deadline

    def _timed_out(self) -> FetchError:
        if self._past_deadline():
            return FetchError(f"timed out: over {self.deadline:g} s in all "
                              "(setting FETCH_DEADLINE_SECONDS)")
        return FetchError(f"timed out after {self.timeout:g} s (setting FETCH_TIMEOUT_SECONDS)")

    def _get(self, url: str) -> Fetched:
        with self.client.stream("GET", url) as response:
            if response.status_code >= 400:
                raise FetchError(f"HTTP {response.status_code} from {response.url}")
            # A declared length over the limit is refused before reading; the body is counted
            # as it streams too, since the header may be missing or lie.
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

    def close(self) -> None:
        self.client.close()


def _cause(err: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The exception of type `kind` behind `err` (httpx wraps httpcore's), if any."""
    seen: BaseException | None = err
    while seen is not None and not isinstance(seen, kind):
        seen = seen.__cause__ or seen.__context__
    return seen


def _tls_error(err: BaseException) -> str | None:
    """The reason of a TLS handshake or certificate failure behind a connect error."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return getattr(seen, "verify_message", None) or seen.reason or str(seen)
        seen = seen.__cause__ or seen.__context__
    return None


def client_for(settings: FetchSettings) -> PoliteClient:
    """The client the fetch settings describe."""
    return PoliteClient(settings.fetch_user_agent, settings.fetch_timeout_seconds,
                        settings.fetch_max_bytes, settings.fetch_host_delay_seconds,
                        settings.fetch_max_redirects, settings.fetch_deadline_seconds,
                        AddressPolicy(settings.fetch_allow_private,
                                      settings.fetch_allowed_networks))


def page_text(fetched: Fetched) -> str:
    """The page as text, in the charset it declares (a real text encoding only); a page whose
    bytes do not match it is refused rather than quoted with replacement characters."""
    if not any(fetched.content_type.startswith(t) for t in HTML_TYPES):
        raise FetchError(f"not HTML (content type {fetched.content_type or 'missing'!r})")
    # The HTTP header's charset wins; else a <meta charset> near the top (browsers look in
    # the first kilobytes too); else UTF-8.
    meta = _META_CHARSET.search(fetched.body[:4096])
    charset = text_encoding(fetched.charset or (meta.group(1).decode("ascii") if meta
                                                else "utf-8"))
    try:
        return fetched.body.decode(charset)
    except UnicodeDecodeError as err:
        raise FetchError(f"wrong encoding: the bytes are not {charset} (at byte "
                         f"{err.start})") from None
