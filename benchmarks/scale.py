"""Scale-out: questions per second and reply latency with 1 and 2 replicas behind nginx,
on SQLite and on PostgreSQL, side by side, against the fake Bot API by webhook (127.0.0.1).

    .venv/bin/python -m benchmarks.scale [--index-dir DIR] [--questions 300] [--squad F]

--index-dir defaults to the SQuAD + BBC index that `benchmarks.answer_quality` caches (BBC
size); without it, an index of the seed and 3 SQuAD articles is built. PostgreSQL and nginx
are started here in temporary folders (tests/support/services.py) and stopped by pid.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.common import ROOT, SHARED, parse_with_cpu_line, percentile, table
from benchmarks.load import (
    QUESTIONS,
    Load,
    peak_rss_mb,
    small_corpus,
    squad_questions,
    stamped_api,
    wait_answered,
)
from tests.support.fake_bot_api import FakeTelegram
from tests.support.services import Nginx, Postgres, free_port

CACHED = ROOT / "benchmarks" / "out" / "answer_quality" / "squad5+bbc" / "index"
HOOK = "/telegram/webhook"
CHATS = 50


def build_small_index(work: Path, squad: Path) -> Path:
    corpus = small_corpus(work, squad)
    env = {**os.environ, "CORPUS_DIR": str(corpus), "INDEX_DIR": str(work / "index")}
    subprocess.run([sys.executable, "build_index.py", "--quiet"], cwd=ROOT, env=env, check=True)
    return work / "index"


def run(index_dir: Path, backend: str, replicas: int, questions: list[str], count: int,
        work: Path) -> list[object]:
    """One configuration: `replicas` bots on `backend` behind nginx, a burst of `count`."""
    api = stamped_api()
    pg = Postgres().start() if backend == "postgresql" else None
    url = pg.url if pg else f"sqlite:///{work / f'{backend}-{replicas}.sqlite3'}"
    ports = [free_port() for _ in range(replicas)]
    nginx = Nginx(ports, HOOK).start()
    procs: list[subprocess.Popen] = []
    try:
        for i, port in enumerate(ports):
            env = {**os.environ, "TELEGRAM_BOT_TOKEN": api.token,
                   "TELEGRAM_BASE_URL": api.base_url, "INDEX_DIR": str(index_dir),
                   "DATA_DIR": str(work / f"data-{backend}-{replicas}-{i}"),
                   "DATABASE_URL": url, "TELEGRAM_WEBHOOK_URL": nginx.url + HOOK,
                   "TELEGRAM_WEBHOOK_PORT": str(port), "TELEGRAM_WEBHOOK_SECRET": "bench",
                   "USER_QUESTIONS_PER_MINUTE": "10000", "CHAT_QUESTIONS_PER_MINUTE": "10000",
                   "LOG_LEVEL": "WARNING"}
            with open(work / f"bot-{backend}-{replicas}-{i}.log", "w") as log:
                procs.append(subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=env,
                                              stdout=subprocess.DEVNULL, stderr=log))
        wait_healthy(ports)
        total, done, per_second, p50, p95 = burst(api, questions, count)
        rss = [peak_rss_mb(p.pid) for p in procs]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
        nginx.stop()
        api.stop()
        if pg:
            pg.stop()
    return [backend, replicas, total, done, per_second, p50, p95, max(rss)]


def wait_healthy(ports: list[int], timeout: float = 300) -> None:
    """Until every replica's /healthz answers 200 (each within `timeout` seconds)."""
    for port in ports:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "a replica did not become healthy"
            time.sleep(0.5)


def burst(api: FakeTelegram, questions: list[str],
          count: int) -> tuple[int, int, float, float, float]:
    """`count` questions over CHATS chats at once: sent, answered, answers/s, p50, p95 ms."""
    load = Load(api)
    rng = random.Random(0)
    chats = list(range(1, CHATS + 1))
    start = time.monotonic()
    for i in range(count):
        load.ask(chats[i % len(chats)], rng.choice(questions))
    wait_answered(load, count, timeout=900)
    seconds = time.monotonic() - start
    latencies, total, done = load.latencies()
    return total, done, done / seconds, percentile(latencies, 50), percentile(latencies, 95)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index-dir", type=Path, default=CACHED)
    parser.add_argument("--questions", type=int, default=300, help="questions in the burst")
    parser.add_argument("--squad", type=Path, default=SHARED / "squad2_dev_subset.json")
    parser.add_argument("--configs", default="sqlite:1,sqlite:2,postgresql:1,postgresql:2")
    args = parse_with_cpu_line(parser, argv)
    work = Path(tempfile.mkdtemp(prefix="verbatim-scale-"))
    index_dir = args.index_dir
    if not (index_dir / "CURRENT").exists():
        print(f"{index_dir} has no index; building a small one (seed + 3 SQuAD articles)")
        index_dir = build_small_index(work, args.squad)
    print(f"index: {index_dir}")
    questions = QUESTIONS + squad_questions(args.squad)
    rows = []
    for config in args.configs.split(","):
        backend, replicas = config.split(":")
        rows.append(run(index_dir, backend, int(replicas), questions, args.questions, work))
        print(table(["state", "replicas", "sent", "answered", "answers/s", "p50 ms", "p95 ms",
                     "peak RSS MB per replica"], rows[-1:]), flush=True)
    print()
    print(table(["state", "replicas", "sent", "answered", "answers/s", "p50 ms", "p95 ms",
                 "peak RSS MB per replica"], rows))


if __name__ == "__main__":
    main()
