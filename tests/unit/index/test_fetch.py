"""News ingestion: feeds and pages from a local site into corpus files, then the index."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.engine import Engine
from index.sources import read_corpus
from tests.support.news_site import BOILERPLATE, NewsSite, article_page, atom, rss
from tests.support.services import free_port as closed_port
from tests.support.texts import FLOOD, MUSEUM, PORT
from tests.support.workspace import ROOT, make_settings


@pytest.fixture
def site():
    made = NewsSite()
    yield made
    made.stop()


def publish(site: NewsSite, flood_date: str = "2024-05-03", flood=FLOOD) -> None:
    base = site.url
    site.put("/news/flood", article_page("Rescuers reach flooded valley", flood, flood_date,
                                         f"{base}/news/flood"))
    site.put("/news/port", article_page("Kessel port sets container record", PORT, "2024-04-30",
                                        f"{base}/news/port"))
    site.put("/news/museum", article_page("Museum reopens its west wing", MUSEUM, None,
                                          f"{base}/news/museum"))
    site.put("/news/index", "<html><body><nav><a href='/a'>A</a> <a href='/b'>B</a></nav>"
                            "</body></html>")
    site.put("/news/pdf", b"%PDF-1.4 not a page", kind="application/pdf")
    site.put("/news/broken", b"", status=500)
    site.put("/news/huge", article_page("Huge", ["word " * 60_000], "2024-05-01", f"{base}/h"))
    site.put("/news/slow", article_page("Slow", MUSEUM, "2024-05-01", f"{base}/s"), delay=3)
    site.put("/news/latin", article_page("Caf\u00e9 news", ["Un caf\u00e9 " * 60], "2024-05-01",
                                         f"{base}/l").encode("latin-1"))
    site.put("/rss.xml", rss([
        {"title": "Rescuers reach flooded valley", "link": f"{base}/news/flood",
         "date": "Mon, 06 May 2024 08:00:00 GMT"},  # the page says 3 May: the page wins
        {"title": "Kessel port sets container record", "link": f"{base}/news/port"},
        {"title": "Gone", "link": f"{base}/news/gone"},
        {"title": "Broken", "link": f"{base}/news/broken"},
        {"title": "A PDF", "link": f"{base}/news/pdf"},
        {"title": "Huge", "link": f"{base}/news/huge"},
        {"title": "Slow", "link": f"{base}/news/slow"},
        {"title": "Latin", "link": f"{base}/news/latin"},
        {"title": "Index", "link": f"{base}/news/index"},
    ]), kind="application/rss+xml")
    site.put("/atom.xml", atom([
        {"title": "Museum reopens its west wing", "link": f"{base}/news/museum"},
        # the same article as the RSS feed's, through a tracking link
        {"title": "Flooded valley", "link": f"{base}/news/flood?utm=atom"},
    ]), kind="application/atom+xml")
    site.put("/news/flood?utm=atom", site.pages["/news/flood"][2])
    site.put("/bad.xml", "<?xml version='1.0'?><rss><channel><item><title>x</ti", "text/xml")
    site.put("/page.xml", "<html><body><p>Just a page</p></body></html>")


def write_feeds(path: Path, site: NewsSite) -> None:
    path.write_text(f"""
[[feeds]]
url = "{site.url}/rss.xml"
name = "Example News"
topics = ["weather"]

[[feeds]]
url = "{site.url}/atom.xml"
name = "Wire Service"
language = "en"

[[feeds]]
url = "http://127.0.0.1:{closed_port()}/feed"
name = "Refused"

[[feeds]]
url = "{site.url}/bad.xml"
name = "Malformed"

[[feeds]]
url = "{site.url}/page.xml"
name = "Not a feed"
""", encoding="utf-8")


def run_fetch(settings, feeds: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "FEEDS_FILE": str(feeds), "CORPUS_DIR": str(settings.corpus_dir),
           "DATA_DIR": str(settings.data_dir), "INDEX_DIR": str(settings.resolved_index_dir),
           "FETCH_TIMEOUT_SECONDS": "1", "FETCH_MAX_BYTES": "200000",
           "FETCH_HOST_DELAY_SECONDS": "0", "FETCH_ALLOW_PRIVATE": "true"}  # a site on 127.0.0.1
    env.pop("DATABASE_URL", None)
    return subprocess.run([sys.executable, "build_index.py", "--fetch", "--quiet"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)


def front_matter(path: Path) -> tuple[dict, str]:
    _, head, body = path.read_text(encoding="utf-8").split("---\n", 2)
    return yaml.safe_load(head), body


def test_fetch_writes_articles_indexes_them_and_survives_bad_feeds(site, tmp_path, encoder):
    settings = make_settings(tmp_path)
    settings.corpus_dir.mkdir()
    publish(site)
    feeds = tmp_path / "feeds.toml"
    write_feeds(feeds, site)
    first = run_fetch(settings, feeds)
    assert first.returncode == 0, first.stderr
    assert "Fetched 2 feeds" in first.stdout and "3 new, 0 updated, 1 seen" in first.stdout
    warnings = first.stderr
    for reason in ("Refused", "cannot connect", "Malformed", "malformed feed", "Not a feed",
                   "not a feed", "/news/gone: HTTP 404", "/news/broken: HTTP 500",
                   "not HTML (content type 'application/pdf')", "/news/huge: too large",
                   "/news/slow: timed out", "/news/latin: wrong encoding",
                   "/news/index: only 3 characters"):
        assert reason in warnings, reason
    files = sorted(p.relative_to(settings.corpus_dir).as_posix()
                   for p in settings.corpus_dir.rglob("*.md"))
    assert files == ["example-news/2024-04-30-kessel-port-sets-container-record.md",
                     "example-news/2024-05-03-rescuers-reach-flooded-valley.md",
                     "wire-service/undated-museum-reopens-its-west-wing.md"]
    flood = settings.corpus_dir / files[1]
    meta, body = front_matter(flood)
    assert meta["title"] == "Rescuers reach flooded valley"
    assert meta["source"] == "Example News" and meta["author"] == "Jane Reporter"
    assert meta["url"] == f"{site.url}/news/flood" and str(meta["published"]) == "2024-05-03"
    assert meta["topics"] == ["weather"] and meta["fetched_at"]
    assert body == "\n\n".join(FLOOD) + "\n"
    for path in files:
        text = (settings.corpus_dir / path).read_text(encoding="utf-8")
        assert not [junk for junk in BOILERPLATE if junk in text], path

    # The fetched articles are indexed; quotes are exact at their offsets.
    engine = Engine(settings, encoder=encoder)
    engine.load()
    articles = {a.article_id: a for a in read_corpus([settings.corpus_dir]).articles}
    for question, expected in (("How many people were moved to schools?", "4,000 people"),
                               ("How many containers did the port of Kessel handle?", "2.4"),
                               ("When is the museum's new gallery free?", "first month")):
        answer = engine.answer(question)
        assert not answer.abstained and expected in answer.quotes[0].text
        for quote in answer.quotes:
            assert articles[quote.article_id].text[quote.start:quote.end] == quote.text

    # A second fetch adds nothing and fetches no page again; failures are retried.
    stamp = flood.stat().st_mtime_ns
    site.requests.clear()
    second = run_fetch(settings, feeds)
    assert "0 new, 0 updated, 4 seen" in second.stdout, second.stdout
    assert flood.stat().st_mtime_ns == stamp
    assert "/news/flood" not in site.requests and "/news/gone" in site.requests

    # A changed page (its feed entry dated anew) updates its article in place.
    changed = [*FLOOD[:2], "The bridge reopened on Sunday, two days earlier than expected."]
    publish(site, flood=changed)
    site.put("/rss.xml", site.pages["/rss.xml"][2].replace(
        b"Mon, 06 May 2024 08:00:00 GMT", b"Tue, 07 May 2024 08:00:00 GMT"),
        kind="application/rss+xml")
    third = run_fetch(settings, feeds)
    assert "0 new, 1 updated" in third.stdout, third.stdout
    assert front_matter(flood)[1] == "\n\n".join(changed) + "\n"
    assert len(list(settings.corpus_dir.rglob("*.md"))) == 3


def test_only_one_fetch_holds_the_lock_at_a_time(tmp_path):
    from bot.state import State
    from index.sources import Ledger

    state = State(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    state.migrate()
    ledger = Ledger(state.engine)
    assert ledger.acquire("fetch", "replica-a", 60)
    assert not ledger.acquire("fetch", "replica-b", 60)  # A holds it
    ledger.release("fetch", "replica-a")
    assert ledger.acquire("fetch", "replica-b", -1)  # a lease that has already run out...
    assert ledger.acquire("fetch", "replica-a", 60)  # ...is taken over by the next fetch
    state.close()
