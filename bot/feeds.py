"""News ingestion: RSS/Atom feeds listed in `feeds.toml`, their article pages extracted into
corpus files (`corpus/<source>/<date>-<slug>.md` with YAML front matter), then an incremental
index build. Seen items are recorded in the state database; one fetch runs at a time."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import socket
import time
import tomllib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.fetch_http import FetchError, PoliteClient, page_text
from bot.ledger import Ledger
from bot.settings import Settings
from index.html import NoArticle, extract_html

log = logging.getLogger(__name__)
LOCK = "fetch"
LOCK_SECONDS = 1800.0


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


class FeedsFileError(Exception):
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


def slugify(text: str, limit: int = 60) -> str:
    """Lowercase ASCII words joined by hyphens, at most `limit` characters, whole words."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = ""
    for word in re.findall(r"[a-z0-9]+", ascii_text.lower()):
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > limit:
            break
        slug = candidate
    return slug or "article"


def entry_date(entry: Any) -> str | None:
    """The item's publication date (RSS pubDate, Atom published); Atom's `updated` is when the
    entry last changed, not when the article appeared, so it is not used as a date."""
    parsed = entry.get("published_parsed")
    return dt.date(*parsed[:3]).isoformat() if parsed else None


def fetch_feeds(settings: Settings, ledger: Ledger, corpus_dir: Path) -> FetchSummary:
    """Read every feed and write new or changed articles into the corpus (no index build)."""
    import feedparser

    started = time.monotonic()
    summary = FetchSummary()
    feeds = load_feeds(settings.feeds_file)
    client = PoliteClient(settings.fetch_user_agent, settings.fetch_timeout_seconds,
                          settings.fetch_max_bytes, settings.fetch_host_delay_seconds,
                          settings.fetch_max_redirects)
    try:
        for feed in feeds:
            try:
                raw = client.get(feed.url)
            except FetchError as err:
                summary.failed += 1
                summary.warnings.append(f"feed {feed.name} ({feed.url}): {err}")
                continue
            parsed = feedparser.parse(raw.body)
            entries = [e for e in parsed.entries if e.get("link")]
            broken = parsed.bozo and not isinstance(parsed.get("bozo_exception"),
                                                    feedparser.CharacterEncodingOverride)
            if broken:
                summary.warnings.append(f"feed {feed.name} ({feed.url}): malformed feed: "
                                        f"{parsed.get('bozo_exception')}"
                                        + (" (read loosely)" if entries else ""))
            if not entries:
                summary.failed += 1
                if not broken:
                    summary.warnings.append(f"feed {feed.name} ({feed.url}): not a feed, or "
                                            "a feed with no items")
                continue
            summary.feeds += 1
            for entry in entries:
                _take_entry(feed, entry, client, ledger, corpus_dir, summary)
    finally:
        client.close()
    summary.seconds = time.monotonic() - started
    return summary


def _take_entry(feed: Feed, entry: Any, client: PoliteClient, ledger: Ledger,
                corpus_dir: Path, summary: FetchSummary) -> None:
    link = entry.get("link")
    if not link:
        return
    key = f"{feed.url}#{entry.get('id') or link}"
    stamp = str(entry.get("updated") or entry.get("published") or "")
    known = ledger.item(key)
    if known and known["path"] and known["entry_stamp"] == stamp:
        summary.seen += 1
        return
    other = None if known else ledger.by_link(link)
    if other is not None:  # another feed carries the same page
        ledger.record(key, link=link, url=other["url"], content_hash=other["content_hash"],
                      entry_stamp=stamp, path=other["path"], feed=feed.url)
        summary.seen += 1
        return
    try:
        page = client.get(link)
        article = extract_html(page_text(page), url=page.url)
    except (FetchError, NoArticle) as err:
        summary.failed += 1
        summary.warnings.append(f"page {link}: {err}")
        return  # not recorded: a rerun tries it again
    canonical = article.url or page.url
    digest = hashlib.sha256(article.text.encode("utf-8")).hexdigest()
    same_url = ledger.by_url(canonical)
    same_text = None if same_url else ledger.by_hash(digest)
    if same_text is not None or (same_url and same_url["content_hash"] == digest):
        previous = same_text or same_url
        ledger.record(key, link=link, url=previous["url"], content_hash=digest,
                      entry_stamp=stamp, path=previous["path"], feed=feed.url)
        summary.seen += 1
        return
    published = article.published or entry_date(entry)  # the page's date wins
    path = same_url["path"] if same_url else _new_path(corpus_dir, feed, article.title or
                                                       entry.get("title") or link, published)
    front = {"title": article.title or entry.get("title") or link, "source": feed.name,
             "url": canonical, "published": published, "author": article.author,
             "language": article.language or feed.language, "topics": feed.topics or None,
             "fetched_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()}
    front = {k: v for k, v in front.items() if v is not None}
    target = corpus_dir / path
    target.parent.mkdir(parents=True, exist_ok=True)
    content = ("---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=1000)
               + "---\n" + article.text + "\n")
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(content, encoding="utf-8")
    os.replace(temporary, target)
    ledger.record(key, link=link, url=canonical, content_hash=digest, entry_stamp=stamp,
                  path=path, feed=feed.url)
    if same_url:
        ledger.repoint(canonical, path, digest)
        summary.updated += 1
    else:
        summary.new += 1
    summary.written.append(path)


def _new_path(corpus_dir: Path, feed: Feed, title: str, published: str | None) -> str:
    folder = slugify(feed.name)
    stem = f"{published[:10] if published else 'undated'}-{slugify(title)}"
    candidate, number = f"{folder}/{stem}.md", 2
    while (corpus_dir / candidate).exists():
        candidate, number = f"{folder}/{stem}-{number}.md", number + 1
    return candidate


def fetch_locked(settings: Settings, ledger: Ledger, holder: str | None = None) -> FetchSummary:
    """fetch_feeds, unless another fetch (in any process or replica) holds the lock."""
    holder = holder or f"{socket.gethostname()}:{os.getpid()}"
    if not ledger.acquire(LOCK, holder, LOCK_SECONDS):
        return FetchSummary(skipped="Another fetch is running; this one was skipped.")
    try:
        return fetch_feeds(settings, ledger, settings.corpus_dir)
    finally:
        ledger.release(LOCK, holder)


def fetch_and_build(settings: Settings, ledger: Ledger, encoder: Any = None) -> FetchSummary:
    """Fetch, then build the index incrementally when anything was written (the bot's job)."""
    from index.build import build_index
    from index.ingest import read_corpus

    summary = fetch_locked(settings, ledger)
    if summary.written:
        corpus = read_corpus([settings.corpus_dir])
        build_index(corpus, settings.resolved_index_dir, settings, encoder=encoder)
    return summary
