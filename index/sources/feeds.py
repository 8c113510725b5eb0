"""News ingestion: RSS/Atom feeds listed in `feeds.toml`, their article pages extracted into
corpus files (`corpus/<source>/<date>-<slug>.md` with YAML front matter), then an incremental
index build. Seen items are recorded in the state database; one fetch runs at a time.

A page's canonical URL counts only on the host of the page or of its feed, and a feed rewrites
only its own files: no page can overwrite another feed's article by claiming its URL."""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import io
import logging
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from index.database import fit_key, worker_id
from index.errors import VerbatimError
from index.settings import FetchSettings, SourceSettings
from index.sources.files import new_article_path, slugify, write_article
from index.sources.html import Extracted, NoArticle, extract_html
from index.sources.http import (
    AddressRefused,
    Fetched,
    FetchError,
    PoliteClient,
    client_for,
    page_text,
    text_encoding,
)
from index.sources.ledger import LIMITS, Ledger, too_long

log = logging.getLogger(__name__)
LOCK = "fetch"
LOCK_SECONDS = 1800.0  # renewed every third of it while the fetch runs


@dataclass
class Feed:
    url: str
    name: str
    language: str | None = None
    topics: list[str] = field(default_factory=list)


@dataclass
class FetchSummary:
    feeds: int = 0
    new: int = 0
    updated: int = 0
    seen: int = 0
    failed: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)
    written: list[str] = field(default_factory=list)
    skipped: str | None = None  # another fetch holds the lock

    def lines(self) -> list[str]:
        if self.skipped:
            return [self.skipped]
        head = (f"Fetched {self.feeds} feeds in {self.seconds:.1f} s: {self.new} new, "
                f"{self.updated} updated, {self.seen} seen, {self.failed} failed")
        return [head, *(f"warning: {w}" for w in self.warnings)]


class FeedsFileError(VerbatimError):
    """The feeds file is missing or malformed (the message says which and where)."""


def load_feeds(path: Path) -> list[Feed]:
    """The feeds of a `feeds.toml`: `[[feeds]]` tables with url, name, language, topics."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FeedsFileError(f"no feeds file at {path} (setting FEEDS_FILE; see "
                             "feeds.example.toml)") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise FeedsFileError(f"{path} is not valid TOML: {err}") from None
    feeds = []
    for number, entry in enumerate(data.get("feeds", []), start=1):
        if not isinstance(entry, dict) or not entry.get("url") or not entry.get("name"):
            raise FeedsFileError(f"{path}: feed {number} needs a url and a name")
        topics = entry.get("topics") or []
        feeds.append(Feed(str(entry["url"]), str(entry["name"]), entry.get("language"),
                          [str(t) for t in topics]))
    return feeds


def entry_date(entry: Any) -> str | None:
    """The item's publication date (RSS pubDate, Atom published); Atom's `updated` is when the
    entry last changed, not when the article appeared, so it is not used as a date."""
    parsed = entry.get("published_parsed")
    return dt.date(*parsed[:3]).isoformat() if parsed else None


def parse_feed(raw: Fetched) -> Any:
    """feedparser over the body as a stream, never read as a path or a URL; a declared charset
    (HTTP or XML) that is not a real text encoding is a FetchError. No response headers go
    with it, as before: feedparser would then call a feed served as text/html malformed and
    read text/xml without a charset as ASCII."""
    import feedparser

    for name in (raw.charset, xml_encoding(raw.body)):
        if name:
            text_encoding(name)
    return feedparser.parse(io.BytesIO(raw.body))


def xml_encoding(body: bytes) -> str | None:
    """The encoding feedparser will take from the document itself, found as it finds it (its
    byte-order marks and `<?xm` markers, then the last `encoding=` of any processing
    instruction on the first line), so that no declaration slips past the check."""
    from feedparser import encodings as fe

    marks = [(codecs.BOM_UTF32_BE, "utf-32be", 4), (codecs.BOM_UTF32_LE, "utf-32le", 4),
             (codecs.BOM_UTF16_BE, "utf-16be", 2), (codecs.BOM_UTF16_LE, "utf-16le", 2),
             (codecs.BOM_UTF8, "utf-8", 3), (fe.EBCDIC_MARKER, "cp037", 0),
             (fe.UTF16BE_MARKER, "utf-16be", 0), (fe.UTF16LE_MARKER, "utf-16le", 0),
             (fe.UTF32BE_MARKER, "utf-32be", 0), (fe.UTF32LE_MARKER, "utf-32le", 0)]
    data = body
    for mark, name, skip in marks:
        if data.startswith(mark) and not (skip == 2 and data[2:4] == fe.ZERO_BYTES):
            try:
                data = data[skip:].decode(name).encode("utf-8")
            except UnicodeDecodeError:
                return None
            break
    found = fe.RE_XML_PI_ENCODING.match(data)
    return found.group(1).decode("utf-8", "replace") if found else None


def fetch_feeds(settings: FetchSettings, ledger: Ledger, corpus_dir: Path,
                still_held: Callable[[], bool] | None = None) -> FetchSummary:
    """Read every feed and write new or changed articles into the corpus (no index build).
    An error in one feed or item is a warning: it never stops the others. `still_held` says
    whether the fetch lock is still ours (checked between items)."""
    started = time.monotonic()
    summary = FetchSummary()
    feeds = load_feeds(settings.feeds_file)
    client = client_for(settings)
    try:
        for feed in feeds:
            if still_held is not None and not still_held():
                summary.warnings.append("another fetch took the lock over; this one stopped")
                break
            try:
                _take_feed(feed, client, ledger, corpus_dir, summary, still_held)
            except Exception as err:  # a bug or a database error: the other feeds go on
                log.exception("feed %s failed", feed.url)
                summary.failed += 1
                summary.warnings.append(f"feed {feed.name} ({feed.url[:200]}): "
                                        f"{type(err).__name__}: {str(err)[:300]}")
    finally:
        client.close()
    summary.seconds = time.monotonic() - started
    return summary


def _take_feed(feed: Feed, client: PoliteClient, ledger: Ledger, corpus_dir: Path,
               summary: FetchSummary, still_held: Callable[[], bool] | None) -> None:
    import feedparser

    if too_long(feed=feed.url):
        summary.failed += 1
        summary.warnings.append(f"feed {feed.name} ({feed.url[:200]}...): URL longer than "
                                f"{LIMITS['feed']:,} characters (the state database's limit)")
        return
    try:
        raw = client.get(feed.url)
        parsed = parse_feed(raw)
    except FetchError as err:
        summary.failed += 1
        summary.warnings.append(f"feed {feed.name} ({feed.url}): {err}")
        return
    entries = [e for e in parsed.entries if isinstance(e.get("link"), str) and e.get("link")]
    # feedparser marks a feed whose declared charset it overrode as malformed ("bozo"); that
    # one is read correctly, so only other bozo errors are worth a warning.
    broken = parsed.bozo and not isinstance(parsed.get("bozo_exception"),
                                            feedparser.CharacterEncodingOverride)
    if broken:
        summary.warnings.append(f"feed {feed.name} ({feed.url}): malformed feed: "
                                f"{str(parsed.get('bozo_exception'))[:300]}"
                                + (" (read loosely)" if entries else ""))
    if not entries:
        summary.failed += 1
        if not broken:
            summary.warnings.append(f"feed {feed.name} ({feed.url}): not a feed, or "
                                    "a feed with no items")
        return
    summary.feeds += 1
    refused: list[str] = []  # why each item link the address policy refused was skipped
    try:
        _take_entries(feed, entries, client, ledger, corpus_dir, summary, still_held, refused)
    finally:
        if refused:  # once per feed, not a line per item: one setting lets them all in
            summary.failed += 1
            summary.warnings.append(f"feed {feed.name} ({feed.url}): {len(refused)} item "
                                    f"link(s) skipped: {refused[0]}")


def _take_entries(feed: Feed, entries: list[Any], client: PoliteClient, ledger: Ledger,
                  corpus_dir: Path, summary: FetchSummary,
                  still_held: Callable[[], bool] | None, refused: list[str]) -> None:
    for entry in entries:
        if still_held is not None and not still_held():
            return
        try:
            _take_entry(feed, entry, client, ledger, corpus_dir, summary)
        except AddressRefused as err:
            refused.append(str(err))
        except Exception as err:  # one item never stops the feed, nor the fetch
            log.exception("item %s of %s failed", entry.get("link"), feed.url)
            summary.failed += 1
            summary.warnings.append(f"page {_shown(entry.get('link'))}: "
                                    f"{type(err).__name__}: {str(err)[:300]}")


def _shown(link: Any, limit: int = 200) -> str:
    text = str(link)
    return text if len(text) <= limit else text[:limit] + "..."


def item_key(feed_url: str, entry_id: str) -> str:
    """The ledger key of a feed item; one too long for its column (or holding a NUL) is its
    start and a hash of the whole key, so two items never share a key."""
    return fit_key(f"{feed_url}#{entry_id}", LIMITS["item_key"])


def entry_stamp(entry: Any) -> str:
    """The entry's updated (or published) date as the feed wrote it, to see it change; its
    start and a hash when it is too long for its column."""
    return fit_key(str(entry.get("updated") or entry.get("published") or ""),
                   LIMITS["entry_stamp"])


def _site(url: str) -> str:
    try:
        host = (urlparse(url).hostname or "").lower()
    except ValueError:
        return ""
    return host.removeprefix("www.")


def trusted_url(claimed: str | None, fetched_url: str, feed_url: str) -> str:
    """The page's canonical URL if it is on the page's host or the feed's (www. or not), and
    fits the database; the URL the page was fetched from otherwise."""
    if (claimed and claimed.startswith(("http://", "https://")) and not too_long(url=claimed)
            and not _has_userinfo(claimed)
            and _site(claimed) and _site(claimed) in (_site(fetched_url), _site(feed_url))):
        return claimed
    return fetched_url


def _has_userinfo(url: str) -> bool:
    """`http://trusted.example@elsewhere/` names elsewhere, and reads as trusted.example."""
    try:
        return "@" in urlparse(url).netloc
    except ValueError:
        return True


def _owns(feed: Feed, path: str, ledger: Ledger) -> bool:
    """Whether the file was written for this feed: in its folder, with an item of it."""
    return path.split("/", 1)[0] == slugify(feed.name) and ledger.written_for(path, feed.url)


@dataclass
class _Item:
    """A feed entry being taken: its ledger key, link and stamp, and its ledger row if any."""

    feed: Feed
    entry: Any
    key: str
    link: str
    stamp: str
    known: dict[str, Any] | None

    def record(self, ledger: Ledger, **values: Any) -> None:
        """Record this item in the ledger, pointing at a corpus file."""
        ledger.record(self.key, link=self.link, entry_stamp=self.stamp, feed=self.feed.url,
                      **values)


def _take_entry(feed: Feed, entry: Any, client: PoliteClient, ledger: Ledger,
                corpus_dir: Path, summary: FetchSummary) -> None:
    link = entry.get("link")
    if not link:
        return
    if too_long(link=link) or "\x00" in link:
        summary.failed += 1
        summary.warnings.append(f"page {_shown(link)}: link longer than {LIMITS['link']:,} "
                                "characters (the state database's limit) or not text; skipped")
        return
    key = item_key(feed.url, str(entry.get("id") or link))
    item = _Item(feed, entry, key, link, entry_stamp(entry), ledger.item(key))
    if _seen_before(item, ledger):
        summary.seen += 1
        return
    fetched = _fetch_page(link, client, summary)
    if fetched is None:
        return  # not recorded: a rerun tries it again
    page, article = fetched
    canonical = trusted_url(article.url, page.url, feed.url)
    digest = hashlib.sha256(article.text.encode("utf-8", "surrogatepass")).hexdigest()
    # Identical text is stored once: first under this URL (text unchanged), else wherever
    # it is (another feed, another URL of the same story).
    same_url = ledger.by_url(canonical)
    previous = (same_url if same_url and same_url["content_hash"] == digest
                else ledger.by_hash(digest))
    if previous is not None:  # the same text is in the corpus already
        item.record(ledger, url=previous["url"], content_hash=digest, path=previous["path"])
        summary.seen += 1
        return
    target, canonical = _target(item, ledger, canonical, page.url, same_url is not None)
    _write_entry(item, article, canonical, digest, target, ledger, corpus_dir, summary)


def _seen_before(item: _Item, ledger: Ledger) -> bool:
    """Whether the item needs no fetch: seen unchanged, or (new to this feed) a page another
    feed carries already, then recorded as pointing at that page's file."""
    known = item.known
    if known and known["path"] and known["entry_stamp"] == item.stamp:
        return True
    other = None if known else ledger.by_link(item.link)
    if other is None:
        return False
    item.record(ledger, url=other["url"], content_hash=other["content_hash"], path=other["path"])
    return True


def _fetch_page(link: str, client: PoliteClient,
                summary: FetchSummary) -> tuple[Fetched, Extracted] | None:
    """The page and its article, or None (counted as failed, with a warning)."""
    try:
        page = client.get(link)
        article = extract_html(page_text(page), url=page.url)
    except AddressRefused:
        raise  # said once for the feed (_take_feed)
    except (FetchError, NoArticle) as err:
        summary.failed += 1
        summary.warnings.append(f"page {link}: {err}")
        return None
    if too_long(url=page.url):
        summary.failed += 1
        summary.warnings.append(f"page {link}: redirected to a URL longer than "
                                f"{LIMITS['url']:,} characters (the state database's limit)")
        return None
    return page, article


def _target(item: _Item, ledger: Ledger, canonical: str, page_url: str,
            url_known: bool) -> tuple[str | None, str]:
    """The file to rewrite with changed text (None: a new file) and the URL to give it.
    This item's own file, or its feed's file of the same page, is rewritten; never a file of
    another feed (a new file instead, under the page's own URL)."""
    known = item.known
    target = known["path"] if known and known["path"] and _owns(item.feed, known["path"],
                                                                 ledger) else None
    if target is None and url_known:
        # The feed's own file of that URL, when this page is that page: the same link, or
        # fetched at the canonical URL itself; a neighbour claiming its URL gets a file of its own.
        mine = ledger.by_url(canonical, feed=item.feed.url)
        same_page = mine is not None and (mine["link"] == item.link or canonical == page_url)
        target = mine["path"] if mine is not None and same_page \
            and _owns(item.feed, mine["path"], ledger) else None
        if target is None:
            canonical = page_url
    return target, canonical


def _write_entry(item: _Item, article: Extracted, canonical: str, digest: str,
                 target: str | None, ledger: Ledger, corpus_dir: Path,
                 summary: FetchSummary) -> None:
    """Write the article into its corpus file (`target`, or a new one) and record it."""
    feed, entry = item.feed, item.entry
    title = article.title or entry.get("title") or item.link
    published = article.published or entry_date(entry)  # the page's date wins
    path = target or new_article_path(corpus_dir, slugify(feed.name), title, published)
    fields = {"title": title, "source": feed.name, "url": canonical, "published": published,
              "author": article.author, "language": article.language or feed.language,
              "topics": feed.topics or None,
              "fetched_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()}
    written = write_article(corpus_dir, path, fields, article.text)
    try:
        item.record(ledger, url=canonical, content_hash=digest, path=path)
    except Exception:
        if target is None:  # no unrecorded file, or the rerun writes a -2.md beside it
            written.unlink(missing_ok=True)
        raise
    if target:
        ledger.repoint(path, digest)
        summary.updated += 1
    else:
        summary.new += 1
    summary.written.append(path)


def fetch_locked(settings: SourceSettings, ledger: Ledger,
                 holder: str | None = None) -> FetchSummary:
    """fetch_feeds, unless another fetch holds the lock: in any replica, or in this process
    (the scheduled fetch and /fetch); each run is its own holder. The lease is renewed while
    the fetch runs."""
    holder = holder or worker_id(run=True)
    with ledger.lease(LOCK, holder, LOCK_SECONDS) as lease:
        if not lease.held:
            return FetchSummary(skipped="Another fetch is running; this one was skipped.")
        return fetch_feeds(settings, ledger, settings.corpus_dir,
                           still_held=lambda: not lease.lost)
