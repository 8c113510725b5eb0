"""The fetcher against hostile feeds and pages (issue 18): forged canonical URLs, bodies that
name local files, internal addresses, pathological charsets, slow drips, two fetches at once,
fields longer than the database's columns, and random bytes. Real local sites, real databases.
"""

from __future__ import annotations

import codecs
import os
import resource
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from bot.state import State
from index.sources.feeds import FetchSummary, fetch_feeds, fetch_locked
from index.sources.http import AddressPolicy, FetchError, PoliteClient, client_for
from index.sources.ledger import Ledger
from tests.support.news_site import NewsSite, article_page, atom, rss
from tests.support.services import free_port as closed_port
from tests.support.texts import FLOOD, MUSEUM, PORT
from tests.support.workspace import ROOT, make_settings

FORGED = ["The regional governor resigned on Friday after admitting that the flood warnings "
          "had been ignored for a week, according to a statement nobody else has seen.",
          "Engineers now say the main bridge over the river will stay closed for a year, "
          "and that the twelve villages will be evacuated for good."]


@pytest.fixture
def site():
    made = NewsSite()
    yield made
    made.stop()


def feeds_toml(path: Path, *feeds: tuple[str, str]) -> Path:
    path.write_text("".join(f'[[feeds]]\nurl = "{url}"\nname = "{name}"\n\n'
                            for url, name in feeds), encoding="utf-8")
    return path


def settings_for(tmp_path: Path, feeds: Path, **overrides):
    values = {"feeds_file": feeds, "fetch_timeout_seconds": 5, "fetch_host_delay_seconds": 0,
              "fetch_max_bytes": 1_000_000, "fetch_allow_private": True, **overrides}
    settings = make_settings(tmp_path, **values)
    settings.corpus_dir.mkdir(exist_ok=True)
    settings.data_dir.mkdir(exist_ok=True)
    return settings


def sqlite_ledger(settings) -> Ledger:
    state = State(f"sqlite:///{settings.data_dir / 'state.sqlite3'}")
    state.migrate()
    return Ledger(state.engine)


def corpus_files(settings) -> dict[str, tuple[dict, str]]:
    found = {}
    for path in sorted(settings.corpus_dir.rglob("*.md")):
        _, head, body = path.read_text(encoding="utf-8").split("---\n", 2)
        found[path.relative_to(settings.corpus_dir).as_posix()] = (yaml.safe_load(head), body)
    return found


def warnings_of(summary: FetchSummary) -> str:
    return "\n".join(summary.warnings)


def fetch_all(settings, ledger: Ledger | None = None) -> FetchSummary:
    """fetch_feeds into the settings' corpus. (No wall-clock bound: a refusal before connecting
    is shown by the servers' empty request logs and the summary's reasons, not by timing.)"""
    return fetch_feeds(settings, ledger or sqlite_ledger(settings), settings.corpus_dir)


# ---- 1. canonical URLs ------------------------------------------------------------------
def test_a_page_claiming_another_feeds_canonical_url_never_rewrites_its_article(site, tmp_path):
    elsewhere = NewsSite("127.0.0.2")
    try:
        base, other = site.url, elsewhere.url
        genuine = f"{base}/news/flood"
        site.put("/news/flood", article_page("Rescuers reach flooded valley", FLOOD,
                                             "2024-05-03", genuine))
        site.put("/rss.xml", rss([{"title": "Rescuers reach flooded valley", "link": genuine}]),
                 kind="application/rss+xml")
        # Feed 2, on the same host, and feed 3, on another, link pages that claim the genuine
        # article's canonical URL with other text.
        site.put("/forged", article_page("Rescuers reach flooded valley", FORGED,
                                         "2024-05-03", genuine))
        site.put("/forger.xml", atom([{"title": "Flood", "link": f"{base}/forged"}]),
                 kind="application/atom+xml")
        elsewhere.put("/forged", article_page("Flood: the real story", FORGED[::-1],
                                              "2024-05-03", genuine))
        elsewhere.put("/feed.xml", rss([{"title": "Flood", "link": f"{other}/forged"}]),
                      kind="application/rss+xml")
        feeds = feeds_toml(tmp_path / "feeds.toml", (f"{base}/rss.xml", "Example News"),
                           (f"{base}/forger.xml", "Forger"), (f"{other}/feed.xml", "Far Away"))
        settings = settings_for(tmp_path, feeds)
        ledger = sqlite_ledger(settings)

        first = fetch_feeds(settings, ledger, settings.corpus_dir)
        files = corpus_files(settings)
        flood = files["example-news/2024-05-03-rescuers-reach-flooded-valley.md"]
        assert flood[1] == "\n\n".join(FLOOD) + "\n"
        assert flood[0]["url"] == genuine and flood[0]["source"] == "Example News"
        # Both forgeries are kept apart, each under its own URL, not the genuine one.
        forged = {meta["source"]: (meta["url"], body) for meta, body in files.values()}
        assert forged["Forger"] == (f"{base}/forged", "\n\n".join(FORGED) + "\n")
        assert forged["Far Away"] == (f"{other}/forged", "\n\n".join(FORGED[::-1]) + "\n")
        assert (first.new, first.updated, len(files)) == (3, 0, 3), first.lines()

        # A rerun (the forgers' entries dated anew) changes nothing in the genuine article.
        site.put("/forger.xml", atom([{"title": "Flood", "link": f"{base}/forged",
                                       "updated": "2024-06-01T00:00:00Z"}]),
                 kind="application/atom+xml")
        fetch_feeds(settings, ledger, settings.corpus_dir)
        again = corpus_files(settings)
        assert again["example-news/2024-05-03-rescuers-reach-flooded-valley.md"] == flood
        assert len(again) == 3
    finally:
        elsewhere.stop()


def test_a_page_of_the_same_feed_claiming_its_neighbours_url_gets_its_own_file(site, tmp_path):
    """A page can only rewrite the file of its own item, or of the page it really is (fetched
    at the canonical URL): not a neighbour's on the same host, nor through `user@host`."""
    base = site.url
    genuine = f"{base}/news/flood"
    site.put("/news/flood", article_page("Rescuers reach flooded valley", FLOOD, "2024-05-03",
                                         genuine))
    site.put("/news/port", article_page("Kessel port sets container record", PORT,
                                        "2024-04-30", f"{base}/news/port"))
    items = [{"title": "Flood", "link": genuine}, {"title": "Port", "link": f"{base}/news/port"}]
    site.put("/rss.xml", rss(items), kind="application/rss+xml")
    feeds = feeds_toml(tmp_path / "feeds.toml", (f"{base}/rss.xml", "Example News"))
    settings = settings_for(tmp_path, feeds)
    ledger = sqlite_ledger(settings)
    fetch_feeds(settings, ledger, settings.corpus_dir)
    before = corpus_files(settings)
    flood = before["example-news/2024-05-03-rescuers-reach-flooded-valley.md"]

    # A new item of the same feed whose page claims the flood article's URL, and one that
    # claims a URL on the feed's host through userinfo (its host is elsewhere).
    site.put("/news/forged", article_page("Rescuers reach flooded valley", FORGED, "2024-05-03",
                                          genuine))
    host = base.removeprefix("http://")
    site.put("/news/userinfo", article_page("Museum reopens", MUSEUM, None,
                                            f"http://{host}@evil.example/news/museum"))
    items += [{"title": "Forged", "link": f"{base}/news/forged"},
              {"title": "Userinfo", "link": f"{base}/news/userinfo"}]
    site.put("/rss.xml", rss(items), kind="application/rss+xml")
    summary = fetch_feeds(settings, ledger, settings.corpus_dir)
    after = corpus_files(settings)
    assert after["example-news/2024-05-03-rescuers-reach-flooded-valley.md"] == flood
    urls = {meta["url"]: body for meta, body in after.values()}
    assert urls[f"{base}/news/forged"] == "\n\n".join(FORGED) + "\n"
    assert f"{base}/news/userinfo" in urls
    assert not [u for u in urls if "@" in u]
    assert (summary.new, summary.updated, len(after)) == (2, 0, 4), summary.lines()


# ---- 2. a body is never a path ----------------------------------------------------------
RUN_FETCH = """
import sys
from index.sources.feeds import fetch_locked
from index.sources.ledger import Ledger
from bot.settings import Settings
from bot.state import State
settings = Settings()
state = State(settings.resolved_database_url)
state.migrate()
for line in fetch_locked(settings, Ledger(state.engine)).lines():
    print(line)
"""


def limited_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (3 << 29, 3 << 29))


def test_a_feed_body_naming_a_local_file_is_not_read_as_a_path(site, tmp_path):
    local = tmp_path / "local-feed.xml"  # a feed on this machine the fetcher must never read
    local.write_text(rss([{"title": "Kessel port sets container record",
                           "link": f"{site.url}/news/port"}]), encoding="utf-8")
    site.put("/news/port", article_page("Kessel port sets container record", PORT,
                                        "2024-04-30", f"{site.url}/news/port"))
    site.put("/path.xml", str(local), kind="application/rss+xml")
    site.put("/zero.xml", "/dev/zero", kind="application/rss+xml")
    feeds = feeds_toml(tmp_path / "feeds.toml", (f"{site.url}/path.xml", "Path"),
                       (f"{site.url}/zero.xml", "Zero"))
    settings = settings_for(tmp_path, feeds)
    env = {**os.environ, "FEEDS_FILE": str(feeds), "CORPUS_DIR": str(settings.corpus_dir),
           "DATA_DIR": str(settings.data_dir), "FETCH_HOST_DELAY_SECONDS": "0",
           "FETCH_ALLOW_PRIVATE": "true"}
    env.pop("DATABASE_URL", None)
    run = subprocess.run([sys.executable, "-c", RUN_FETCH], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120,
                         preexec_fn=limited_memory)  # /dev/zero read whole: MemoryError
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Fetched 0 feeds" in run.stdout and "2 failed" in run.stdout, run.stdout
    for name in ("Path", "Zero"):  # a body that is not XML: malformed, as any such feed
        warning = next(line for line in run.stdout.splitlines() if f"feed {name} " in line)
        assert "malformed feed" in warning or "not a feed" in warning, warning
    assert "/news/port" not in site.requests and not list(settings.corpus_dir.rglob("*.md"))


# ---- 3. internal addresses --------------------------------------------------------------
def test_the_default_refuses_loopback_and_private_addresses(site, tmp_path, monkeypatch):
    monkeypatch.delenv("FETCH_ALLOW_PRIVATE", raising=False)
    monkeypatch.delenv("FETCH_ALLOWED_NETWORKS", raising=False)
    ipv6 = NewsSite("::1")
    try:
        for served in (site, ipv6):
            served.put("/news/port", article_page("Kessel port", PORT, "2024-04-30",
                                                  f"{served.url}/news/port"))
            served.put("/rss.xml", rss([{"title": "Port", "link": f"{served.url}/news/port"}]),
                       kind="application/rss+xml")
        port = site.server.server_address[1]
        feeds = feeds_toml(tmp_path / "feeds.toml", (f"{site.url}/rss.xml", "Loopback"),
                           (f"http://localhost:{port}/rss.xml", "Named"),
                           (f"{ipv6.url}/rss.xml", "IPv6"),
                           ("http://169.254.169.254/latest/meta-data/", "Metadata"),
                           ("http://10.255.255.1/feed", "Private"))
        settings = make_settings(tmp_path, feeds_file=feeds, fetch_timeout_seconds=5,
                                 fetch_host_delay_seconds=0)
        settings.corpus_dir.mkdir()
        settings.data_dir.mkdir()
        summary = fetch_all(settings)  # refused before connecting (no request reached a server)
        assert site.requests == [] and ipv6.requests == []
        assert (summary.feeds, summary.failed) == (0, 5)
        # Issue 35: the maintainer's summary names the reason and the setting, not the words
        # of a server that is down (a feed never sees the summary).
        said = {w.split(" ", 2)[1]: w.split("): ", 1)[1] for w in summary.warnings}
        needs = "; fetching it needs FETCH_ALLOWED_NETWORKS (or FETCH_ALLOW_PRIVATE=true)"
        assert said["Loopback"] == f"127.0.0.1 is a loopback address{needs}", said
        assert said["Named"].endswith(f"is a loopback address{needs}"), said
        assert said["IPv6"] == f"::1 is a loopback address{needs}", said
        assert said["Metadata"] == f"169.254.169.254 is a link-local address{needs}", said
        assert said["Private"] == f"10.255.255.1 is a private address{needs}", said
        # A server that is down still reads as one.
        closed = make_settings(tmp_path / "closed", fetch_allow_private=True)
        client = client_for(closed)
        with pytest.raises(FetchError) as err:
            client.get(f"http://127.0.0.1:{closed_port()}/feed")
        client.close()
        assert str(err.value) == "cannot connect to 127.0.0.1"
    finally:
        ipv6.stop()


def test_a_redirect_to_a_private_address_is_refused_at_every_hop(site, tmp_path, monkeypatch):
    monkeypatch.delenv("FETCH_ALLOW_PRIVATE", raising=False)
    monkeypatch.setenv("FETCH_ALLOWED_NETWORKS", "127.0.0.1/32")  # this site only
    inner, inner6 = NewsSite("127.0.0.2"), NewsSite("::1")
    try:
        for internal in (inner, inner6):
            internal.put("/secret", article_page("Internal memo", MUSEUM, "2024-05-01",
                                                 f"{internal.url}/secret"))
            internal.put("/rss.xml", rss([{"title": "Memo", "link": f"{internal.url}/secret"}]),
                         kind="application/rss+xml")
        base = site.url
        site.put("/news/port", article_page("Kessel port sets container record", PORT,
                                            "2024-04-30", f"{base}/news/port"))
        site.redirect("/hop", f"{inner.url}/secret")
        site.redirect("/hop6", f"{inner6.url}/secret")
        site.redirect("/twice", f"{base}/hop")
        site.put("/rss.xml", rss([{"title": "Port", "link": f"{base}/news/port"},
                                  {"title": "Hop", "link": f"{base}/hop"},
                                  {"title": "Hop6", "link": f"{base}/hop6"},
                                  {"title": "Twice", "link": f"{base}/twice"}]),
                 kind="application/rss+xml")
        site.redirect("/feed-hop", f"{inner.url}/rss.xml")
        feeds = feeds_toml(tmp_path / "feeds.toml", (f"{base}/rss.xml", "Allowed"),
                           (f"{base}/feed-hop", "Hop"), (f"{inner.url}/rss.xml", "Inner"))
        settings = make_settings(tmp_path, feeds_file=feeds, fetch_timeout_seconds=5,
                                 fetch_host_delay_seconds=0)
        settings.corpus_dir.mkdir()
        settings.data_dir.mkdir()
        summary = fetch_feeds(settings, sqlite_ledger(settings), settings.corpus_dir)
        assert inner.requests == [] and inner6.requests == []
        assert (summary.feeds, summary.new) == (1, 1), summary.lines()
        assert list(corpus_files(settings)) == [
            "allowed/2024-04-30-kessel-port-sets-container-record.md"]
        # The three item links that lead to internal addresses: one line for the feed, with
        # the reason and the setting (issue 35), not a line per item.
        needs = "; fetching it needs FETCH_ALLOWED_NETWORKS (or FETCH_ALLOW_PRIVATE=true)"
        assert summary.warnings == [
            f"feed Allowed ({base}/rss.xml): 3 item link(s) skipped: "
            f"127.0.0.2 is a loopback address{needs}",
            f"feed Hop ({base}/feed-hop): 127.0.0.2 is a loopback address{needs}",
            f"feed Inner ({inner.url}/rss.xml): 127.0.0.2 is a loopback address{needs}"]
        assert summary.failed == 3  # the Allowed feed's skipped links count once
    finally:
        inner.stop()
        inner6.stop()


def test_https_still_checks_certificates_against_the_host_name(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost"], check=True, capture_output=True)
    secure = NewsSite(tls=(str(cert), str(key)))
    try:
        secure.put("/page", "<html><body>over TLS</body></html>")
        port = secure.server.server_address[1]
        trusting = PoliteClient("test", 5, 100_000, 0, 5, 10, AddressPolicy(True),
                                ssl.create_default_context(cafile=str(cert)))
        assert trusting.get(f"https://localhost:{port}/page").body == secure.pages["/page"][2]
        with pytest.raises(FetchError, match=r"cannot connect to 127\.0\.0\.1: TLS failed"):
            trusting.get(f"https://127.0.0.1:{port}/page")  # not the certificate's name
        default = PoliteClient("test", 5, 100_000, 0, 5, 10, AddressPolicy(True))
        with pytest.raises(FetchError, match=r"TLS failed .*self-signed"):
            default.get(f"https://localhost:{port}/page")
        trusting.close()
        default.close()
    finally:
        secure.stop()


# ---- 5. charsets ------------------------------------------------------------------------
def test_pathological_charsets_are_refused_quickly_and_real_ones_still_read(site, tmp_path):
    base = site.url
    letters = b"a" * 990_000  # about FETCH_MAX_BYTES here: seconds of punycode decoding
    site.put("/punycode", letters, kind="text/html; charset=punycode")
    site.put("/meta-punycode", b'<html><head><meta charset="punycode"></head>' + letters,
             kind="text/html")
    site.put("/utf7", article_page("Seven", MUSEUM, None, f"{base}/utf7").encode(),
             kind="text/html; charset=utf-7")
    site.put("/escape", article_page("Escape", MUSEUM, None, f"{base}/escape").encode(),
             kind="text/html; charset=unicode_escape")
    site.put("/cyrillic", article_page("Новости", ["Новости дня. " * 30], "2024-05-01",
                                       f"{base}/cyrillic").replace('charset="utf-8"', "")
             .encode("cp1251", "xmlcharrefreplace"), kind="text/html; charset=windows-1251")
    site.put("/japanese", article_page("ニュース", ["今日のニュースです。" * 40], "2024-05-01",
                                       f"{base}/japanese").encode("shift_jis", "xmlcharrefreplace"),
             kind="text/html; charset=Shift_JIS")
    site.put("/rss.xml", rss([{"title": t, "link": f"{base}/{t}"} for t in
                              ("punycode", "meta-punycode", "utf7", "escape", "cyrillic",
                               "japanese")]), kind="application/rss+xml")
    site.put("/puny.xml", rss([{"title": "x", "link": f"{base}/cyrillic"}]).replace(
        'encoding="utf-8"', 'encoding="punycode"') + "a" * 500_000, kind="application/rss+xml")
    site.put("/puny-header.xml", rss([{"title": "x", "link": f"{base}/cyrillic"}]),
             kind="application/rss+xml; charset=punycode")
    feeds = feeds_toml(tmp_path / "feeds.toml", (f"{base}/rss.xml", "Charsets"),
                       (f"{base}/puny.xml", "Puny"), (f"{base}/puny-header.xml", "Header"))
    settings = settings_for(tmp_path, feeds)
    summary = fetch_all(settings)
    text = warnings_of(summary)
    for page, name in (("punycode", "punycode"), ("meta-punycode", "punycode"),
                       ("utf7", "utf-7"), ("escape", "unicode-escape")):
        assert f"page {base}/{page}: charset {name!r} is not a text encoding this " \
               "fetcher reads" in text, text
    assert "feed Puny" in text and "feed Header" in text and "punycode" in text
    bodies = {meta["title"]: body for meta, body in corpus_files(settings).values()}
    assert bodies["Новости"].startswith("Новости дня.") and "ニュース" in bodies
    assert (summary.feeds, summary.new) == (1, 2), summary.lines()


def test_a_feed_cannot_smuggle_a_pathological_charset_past_the_check(site, tmp_path):
    """feedparser takes the last `encoding=` of any processing instruction on the first line,
    and reads declarations written in UTF-16: the check finds the same one."""
    base = site.url
    body = rss([{"title": "x", "link": f"{base}/nowhere"}])
    tail = "-" + "A" * 400_000  # seconds of punycode decoding
    site.put("/second-pi.xml", body.replace("?>", '?><?x encoding="punycode"?>', 1) + tail,
             kind="application/rss+xml")
    site.put("/other-pi.xml", '<?x encoding="punycode"?>' + body.split("?>", 1)[1] + tail,
             kind="application/rss+xml")
    site.put("/utf16.xml", codecs.BOM_UTF16_LE + body.replace(
        'encoding="utf-8"', 'encoding="punycode"').encode("utf-16-le") + tail.encode(
        "utf-16-le"), kind="application/rss+xml")
    feeds = feeds_toml(tmp_path / "feeds.toml", (f"{base}/second-pi.xml", "Second"),
                       (f"{base}/other-pi.xml", "Other"), (f"{base}/utf16.xml", "Wide"))
    settings = settings_for(tmp_path, feeds)
    summary = fetch_all(settings)
    text = warnings_of(summary)
    for name in ("Second", "Other", "Wide"):
        assert f"feed {name} " in text, text
    assert text.count("'punycode' is not a text encoding") == 3, text
    assert summary.failed == 3


# ---- 6. a total deadline, a renewed lease -----------------------------------------------
def test_a_slow_drip_download_ends_at_the_total_deadline(site, tmp_path):
    page = article_page("Slow drip", MUSEUM * 3, "2024-05-01", f"{site.url}/drip").encode()
    site.put("/drip", page)
    site.drips["/drip"] = (50, 0.5)  # each read well within the read timeout: 20+ s in all
    site.put("/rss.xml", rss([{"title": "Drip", "link": f"{site.url}/drip"}]),
             kind="application/rss+xml")
    feeds = feeds_toml(tmp_path / "feeds.toml", (f"{site.url}/rss.xml", "Drip"))
    settings = settings_for(tmp_path, feeds, fetch_timeout_seconds=2, fetch_deadline_seconds=3)
    summary = fetch_all(settings)
    assert f"page {site.url}/drip: timed out: over 3 s in all (setting " \
           "FETCH_DEADLINE_SECONDS)" in warnings_of(summary), summary.lines()


def test_one_fetch_at_a_time_in_one_process_and_the_lease_outlives_its_term(
        site, tmp_path, monkeypatch):
    import index.sources.feeds

    monkeypatch.setattr(index.sources.feeds, "LOCK_SECONDS", 1.5)  # a short lease, to outlive it
    site.put("/news/port", article_page("Kessel port sets container record", PORT,
                                        "2024-04-30", f"{site.url}/news/port"), delay=4)
    site.put("/rss.xml", rss([{"title": "Port", "link": f"{site.url}/news/port"}]),
             kind="application/rss+xml")
    feeds = feeds_toml(tmp_path / "feeds.toml", (f"{site.url}/rss.xml", "Example News"))
    settings = settings_for(tmp_path, feeds, fetch_timeout_seconds=10)
    ledger = sqlite_ledger(settings)
    results: dict[str, FetchSummary] = {}

    def run(name: str) -> None:
        results[name] = fetch_locked(settings, ledger)

    first = threading.Thread(target=run, args=("scheduled",))
    first.start()
    time.sleep(0.7)
    second = threading.Thread(target=run, args=("command",))  # /fetch while the job runs
    second.start()
    second.join(10)
    assert results["command"].skipped == "Another fetch is running; this one was skipped."
    time.sleep(2.0)  # past the 1.5 s term: the running fetch has renewed its lease
    assert not ledger.acquire("fetch", "another-replica", 60)
    first.join(30)
    assert results["scheduled"].new == 1 and not results["scheduled"].skipped
    assert ledger.acquire("fetch", "another-replica", 60)  # released when it ended


# ---- 9. the database's column limits ----------------------------------------------------
@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def backend(request):
    if request.param == "sqlite":
        yield None
        return
    from tests.support.services import Postgres

    server = Postgres().start()
    yield server
    server.stop()


def test_overlong_fields_skip_one_item_never_the_fetch(backend, site, tmp_path):
    if backend is None:
        url = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    else:
        name = f"db{abs(hash(str(tmp_path))) % 10**8}"
        backend.sql("postgres", f"CREATE DATABASE {name}")
        url = backend.url.rsplit("/", 1)[0] + f"/{name}"
    state = State(url)
    state.migrate()
    ledger = Ledger(state.engine)
    base = site.url
    long_path = "/news/" + "l" * 2100
    site.put("/news/port", article_page("Kessel port sets container record", PORT,
                                        "2024-04-30", f"{base}/news/port"))
    site.put("/news/port-2", article_page("Kessel port doubles its cranes", PORT[::-1],
                                          "2024-04-30", f"{base}/news/port-2"))
    site.put("/news/museum", article_page("Museum reopens its west wing", MUSEUM, None,
                                          f"{base}/news/museum"))
    site.put("/news/flood", article_page("Rescuers reach flooded valley", FLOOD, "2024-05-03",
                                         f"{base}/news/flood?" + "x" * 2100))
    site.put(long_path, article_page("Long link", MUSEUM[::-1], None, f"{base}/long"))
    guid = "urn:" + "g" * 1500  # two items whose ids differ only after 1,000 characters
    items = (f"<item><title>Port</title><link>{base}/news/port</link><guid>{guid}1</guid>"
             f"</item><item><title>Port 2</title><link>{base}/news/port-2</link>"
             f"<guid>{guid}2</guid></item>"
             f"<item><title>Museum</title><link>{base}/news/museum</link>"
             f"<pubDate>{'Mon ' * 80}</pubDate></item>"
             f"<item><title>Flood</title><link>{base}/news/flood</link></item>"
             f"<item><title>Long</title><link>{base}{long_path}</link></item>")
    site.put("/rss.xml", f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
                         f"<title>N</title>{items}</channel></rss>", kind="application/rss+xml")
    site.put("/news/later", article_page("Later feed", FLOOD[::-1], None, f"{base}/news/later"))
    site.put("/later.xml", rss([{"title": "Later", "link": f"{base}/news/later"}]),
             kind="application/rss+xml")
    feeds = feeds_toml(tmp_path / "feeds.toml", (f"{base}/rss.xml", "Example News"),
                       (f"{base}/later.xml", "Later"))
    settings = settings_for(tmp_path, feeds)
    try:
        first = fetch_feeds(settings, ledger, settings.corpus_dir)
        files = corpus_files(settings)
        assert (first.new, first.failed) == (5, 1), first.lines()
        assert f"page {base}/news/{'l' * 40}" in warnings_of(first)
        assert "longer than 2,000 characters" in warnings_of(first)
        urls = sorted(meta["url"] for meta, _ in files.values())
        assert urls == sorted(f"{base}/news/{p}" for p in
                              ("port", "port-2", "museum", "flood", "later"))
        second = fetch_feeds(settings, ledger, settings.corpus_dir)
        assert (second.new, second.updated, second.seen) == (0, 0, 5), second.lines()
        assert corpus_files(settings) == files  # no -2.md duplicates, nothing rewritten
    finally:
        state.engine.dispose()


# ---- fuzz: random feeds and pages -------------------------------------------------------
CHARSETS = ["utf-8", "latin-1", "windows-1251", "shift_jis", "utf-16", "punycode", "utf-7",
            "idna", "unicode_escape", "rot13", "base64", "zlib", "bogus", ""]
text_or_bytes = st.one_of(st.text(max_size=300), st.binary(max_size=300))
charsets = st.one_of(st.just(""), st.sampled_from(CHARSETS))


@st.composite
def hostile_site(draw) -> dict:
    titles = draw(st.lists(st.text(max_size=80), min_size=1, max_size=3))
    pages = []
    for title in titles:
        kind = draw(st.sampled_from(["page", "bytes", "html"]))
        if kind == "page":
            paragraphs = draw(st.lists(st.text(min_size=1, max_size=200), min_size=1,
                                       max_size=4)) + MUSEUM
            body: str | bytes = article_page(title, paragraphs, None, draw(st.sampled_from(
                ["", "/etc/passwd", "../../x", "javascript:alert(1)", "http://x/" + title])))
        elif kind == "bytes":
            body = draw(st.binary(max_size=2000))
        else:
            body = f"<html><{draw(st.text(max_size=20))}>{draw(st.text(max_size=500))}"
        pages.append((title, body, draw(charsets)))
    feed_kind = draw(st.sampled_from(["rss", "atom", "bytes", "xml", "path"]))
    return {"pages": pages, "feed_kind": feed_kind, "feed_charset": draw(charsets),
            "noise": draw(text_or_bytes), "xml_encoding": draw(charsets)}


@pytest.fixture(scope="module")
def fuzz_world():
    root = Path(tempfile.mkdtemp(prefix="verbatim-fuzz-"))
    served = NewsSite()
    settings = settings_for(root, feeds_toml(root / "feeds.toml", (f"{served.url}/f", "Fuzz")),
                            fetch_timeout_seconds=3, fetch_max_bytes=100_000)
    yield served, settings, sqlite_ledger(settings), root
    served.stop()
    shutil.rmtree(root, ignore_errors=True)


@hypothesis_settings(max_examples=150, deadline=10_000, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture,
                                            HealthCheck.too_slow])
@given(world=hostile_site())
def test_fuzz_random_feeds_and_pages_never_crash_the_fetch(fuzz_world, world):
    served, settings, ledger, root = fuzz_world
    served.pages.clear()
    served.requests.clear()
    base = served.url
    items = []
    for number, (title, body, charset) in enumerate(world["pages"]):
        path = f"/p{time.monotonic_ns()}-{number}"
        kind = f"text/html; charset={charset}" if charset else "text/html"
        served.put(path, body, kind=kind)
        items.append({"title": title.replace("\x00", ""), "link": f"{base}{path}"})
    kind = world["feed_kind"]
    if kind == "path":  # the path of a feed on this machine: never opened
        local = root / "local.xml"
        local.write_text(rss([{"title": "Leak", "link": f"{base}/leak"}]), encoding="utf-8")
        feed: str | bytes = str(local)
    elif kind == "bytes":
        feed = world["noise"]
    elif kind == "xml":
        feed = (f'<?xml version="1.0" encoding="{world["xml_encoding"]}"?><rss><channel>'
                f"<item><title>{world['noise']!s}</title><link>{items[0]['link']}</link>")
    else:
        feed = (rss if kind == "rss" else atom)(items)
    charset = world["feed_charset"]
    served.put("/f", feed, kind=f"application/rss+xml; charset={charset}" if charset else
               "application/rss+xml")
    before = {p for p in root.rglob("*") if p.is_file()}
    summary = fetch_all(settings, ledger)
    assert isinstance(summary, FetchSummary) and summary.feeds in (0, 1)
    assert "/leak" not in served.requests
    for path in {p for p in root.rglob("*") if p.is_file()} - before:
        inside = path.resolve().is_relative_to(settings.corpus_dir.resolve())
        assert inside or path.parent == settings.data_dir, path
