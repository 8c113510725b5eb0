"""News ingestion speed: article pages extracted per second (trafilatura, the test site's
realistic pages), and fetch-to-push latency: a new feed item to the following group's message,
with FETCH_INTERVAL_MINUTES at its minimum (0.05, 3 s), the real bot against the fake Bot API.

    .venv/bin/python -m benchmarks.fetch [--pages 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import ROOT, percentile, table
from benchmarks.runner import prologue
from index.sources import extract_html
from tests.support.fake_bot_api import FakeTelegram
from tests.support.news_site import NewsSite, article_page, rss
from tests.support.texts import FLOOD, MUSEUM, PORT

GROUP, ADMIN = -900, 7


def extraction_rate(pages: int) -> tuple[float, float]:
    texts = [article_page(f"Story {i}", (FLOOD, PORT, MUSEUM)[i % 3] * (1 + i % 4),
                          "2024-05-03", f"https://example.org/{i}") for i in range(pages)]
    started = time.perf_counter()
    for text in texts:
        extract_html(text)
    seconds = time.perf_counter() - started
    return pages / seconds, sum(len(t) for t in texts) / pages / 1024


def fetch_to_push(rounds: int) -> list[float]:
    work = Path(tempfile.mkdtemp(prefix="verbatim-fetch-"))
    corpus = work / "corpus"
    corpus.mkdir()
    shutil.copy(ROOT / "corpus" / "tripoli-airport.txt", corpus)
    env = {**os.environ, "CORPUS_DIR": str(corpus), "DATA_DIR": str(work / "data"),
           "INDEX_DIR": str(work / "data" / "index"), "LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    subprocess.run([sys.executable, "build_index.py", "--quiet"], cwd=ROOT, env=env, check=True)
    site = NewsSite()
    items: list[dict] = []
    site.put("/rss.xml", rss(items), kind="application/rss+xml")
    (work / "feeds.toml").write_text(f'[[feeds]]\nurl = "{site.url}/rss.xml"\nname = "Bench"\n')
    api = FakeTelegram()
    api.start()
    api.add_chat(GROUP, "supergroup", "Desk", admins=(ADMIN,))
    bot_env = {**env, "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_BASE_URL": api.base_url,
               "FEEDS_FILE": str(work / "feeds.toml"), "FETCH_INTERVAL_MINUTES": "0.05",
               "FETCH_HOST_DELAY_SECONDS": "0", "FETCH_ALLOW_PRIVATE": "true",  # 127.0.0.1
               "PUSH_INTERVAL_SECONDS": "0.5",
               "RELOAD_INTERVAL_SECONDS": "1", "LOG_LEVEL": "INFO"}
    with open(work / "bot.log", "w") as log:
        bot = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=bot_env,
                               stdout=subprocess.DEVNULL, stderr=log)
    latencies = []
    try:
        while not api.commands:
            time.sleep(0.2)
        api.user_message(GROUP, "/subscribe", user_id=ADMIN)
        api.wait_for(lambda m: m["chat"]["id"] == GROUP)
        rng = random.Random(0)
        for i in range(rounds):
            time.sleep(rng.uniform(0, 3.0))  # items arrive at any phase of the fetch interval
            title = f"Bulletin number {i} on the flooded valley"
            text = [*FLOOD, f"This is bulletin number {i}, issued by the regional office."]
            site.put(f"/news/{i}", article_page(title, text, "2024-05-03",
                                                f"{site.url}/news/{i}"))
            items.append({"title": title, "link": f"{site.url}/news/{i}"})
            started = time.monotonic()
            site.put("/rss.xml", rss(items), kind="application/rss+xml")
            api.wait_for(lambda m, t=title: m["chat"]["id"] == GROUP and t in m["text"],
                         timeout=180)
            latencies.append(time.monotonic() - started)
    finally:
        bot.terminate()
        bot.wait(30)
        api.stop()
        site.stop()
    return latencies


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=8)
    args = prologue(parser, argv)
    rate, size_kb = extraction_rate(args.pages)
    print(table(["pages", "mean page KB", "pages extracted/s"], [[args.pages, size_kb, rate]]))
    latencies = fetch_to_push(args.rounds)
    print(table(["rounds", "fetch-to-push p50 s", "p95 s", "max s", "fetch interval s"],
                [[len(latencies), percentile(latencies, 50), percentile(latencies, 95),
                  max(latencies), 3.0]]))


if __name__ == "__main__":
    main()
