"""Scale-out: questions per second and reply latency with 1 and 2 replicas behind nginx,
on the FAISS index and on the PostgreSQL (pgvector) index, side by side, against the fake Bot
API by webhook (127.0.0.1); then each index backend's size, time to add 10 articles and the
answer-quality figures of the same questions.

    .venv/bin/python -m benchmarks.scale [--index-dir DIR] [--questions 300] [--squad F]
        [--configs faiss:1,faiss:2,postgresql:1,postgresql:2] [--state postgresql|sqlite]
        [--synthetic-passages 1000000 [--synthetic-dir DIR]]

A config is INDEX_BACKEND:replicas; --state is the state database of every config.
--index-dir defaults to the SQuAD + BBC index that `benchmarks.answer_quality` caches (BBC
size); the PostgreSQL index is built from the same corpus reusing that index's vectors
(benchmarks/pg_index.py), so nothing is embedded again. Without it, an index of the seed and 3
SQuAD articles is built (FAISS only). PostgreSQL (pgserver's, with pgvector) and nginx are
started here in temporary folders (tests/support/services.py) and stopped by pid. With
--synthetic-passages, the PostgreSQL index is also measured grown to that many passages
(benchmarks/pg_synthetic.py: grown once, about an hour, and kept in --synthetic-dir): 1 and 2
replicas, its size, adding 10 articles to it.
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
from collections.abc import Sequence
from pathlib import Path

import httpx
import numpy as np

from benchmarks.answer_quality import abstention, engine_answers, recall_row
from benchmarks.common import (
    ROOT,
    SHARED,
    answerable,
    load_squad,
    percentile,
    table,
)
from benchmarks.load import (
    QUESTIONS,
    Load,
    peak_rss_mb,
    small_corpus,
    squad_questions,
    stamped_api,
    wait_answered,
)
from benchmarks.pg_index import AQ, CACHED, CORPUS, build_pg, database_sizes, ten_new_articles
from benchmarks.pg_synthetic import grown_index, publish
from benchmarks.runner import prologue
from bot.engine import Engine
from bot.engine.abstention import calibration
from bot.settings import Settings
from tests.support.fake_bot_api import FakeTelegram
from tests.support.services import Nginx, Postgres, free_port

HOOK = "/telegram/webhook"
CHATS = 50
HEADERS = ["index", "replicas", "sent", "answered", "answers/s", "p50 ms", "p95 ms",
           "peak RSS MB per replica"]


def build_small_index(work: Path, squad: Path) -> Path:
    corpus = small_corpus(work, squad)
    env = {**os.environ, "CORPUS_DIR": str(corpus), "INDEX_DIR": str(work / "index")}
    subprocess.run([sys.executable, "build_index.py", "--quiet"], cwd=ROOT, env=env, check=True)
    return work / "index"


def index_env(backend: str, index_dir: Path, index_url: str | None, work: Path) -> dict:
    """The environment that points a bot or build_index.py at the index of `backend`."""
    if backend == "postgresql":
        assert index_url is not None
        empty = work / "no-index"
        empty.mkdir(exist_ok=True)
        return {"INDEX_BACKEND": "postgresql", "INDEX_DATABASE_URL": index_url,
                "INDEX_DIR": str(empty)}
    return {"INDEX_BACKEND": "faiss", "INDEX_DIR": str(index_dir)}


def run(index: dict, state_url: str, replicas: int, questions: list[str], count: int,
        work: Path, tag: str) -> list[object]:
    """One configuration: `replicas` bots on the index `index` behind nginx, a burst."""
    api = stamped_api()
    ports = [free_port() for _ in range(replicas)]
    nginx = Nginx(ports, HOOK).start()
    procs: list[subprocess.Popen] = []
    try:
        for i, port in enumerate(ports):
            env = {**os.environ, **index, "TELEGRAM_BOT_TOKEN": api.token,
                   "TELEGRAM_BASE_URL": api.base_url,
                   "DATA_DIR": str(work / f"data-{tag}-{i}"),
                   "DATABASE_URL": state_url, "TELEGRAM_WEBHOOK_URL": nginx.url + HOOK,
                   "TELEGRAM_WEBHOOK_PORT": str(port), "TELEGRAM_WEBHOOK_SECRET": "bench",
                   "USER_QUESTIONS_PER_MINUTE": "10000", "CHAT_QUESTIONS_PER_MINUTE": "10000",
                   "LOG_LEVEL": "WARNING"}
            with open(work / f"bot-{tag}-{i}.log", "w") as log:
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
    return [index["INDEX_BACKEND"], replicas, total, done, per_second, p50, p95, max(rss)]


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


def add_ten(backend: str, index_dir: Path, index_url: str | None, work: Path,
            bbc: Path, corpus: Sequence[Path] = CORPUS, prefix: str = "new") -> float:
    """Seconds of `build_index.py` adding 10 new article files (the process, model load
    included) to `corpus`, on a copy of the FAISS index or on the PostgreSQL index itself."""
    new = ten_new_articles(bbc, work / f"{prefix}-{backend}", prefix=prefix)
    if backend == "faiss":
        copy = work / "faiss-copy"
        shutil.copytree(index_dir, copy, symlinks=True)
        index_dir = copy
    env = {**os.environ, **index_env(backend, index_dir, index_url, work)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "build_index.py", "--quiet", "--corpus", *map(str, corpus),
                    str(new)], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def quality(backend: str, index_dir: Path, index_url: str | None,
            squad: Path) -> dict[str, float]:
    """answer_quality's engine figures on the full index of `backend` (abstention off)."""
    settings = Settings(_env_file=None, index_backend=backend, index_dir=index_dir,
                        index_database_url=index_url, abstain_threshold=-1e9)
    engine = Engine(settings)
    engine.load()
    answers = engine_answers(engine, answerable(load_squad(squad)))
    _, r1, r5, mrr = recall_row(backend, [a["rank"] for a in answers])
    return {"Recall@1": float(r1), "Recall@5": float(r5), "MRR@10": float(mrr),  # type: ignore[arg-type]
            "quote hit": sum(a["hit"] for a in answers) / len(answers),
            "mean quote words": float(np.mean([a["words"] for a in answers])),
            "mean support": float(np.mean([a["confidence"] for a in answers]))}


def abstention_rows(index_dir: Path, pg: Postgres, work: Path, squad: Path,
                    bbc: Path) -> list[list[object]]:
    """answer_quality's abstention at the fitted threshold on its indexes of 3 SQuAD articles
    (the 2 left-out ones not indexed; alone and with the BBC articles), FAISS (as
    answer_quality cached them) and PostgreSQL (built from the same corpora) in this run:
    [index, backend, abstained on left-out, false abstention]."""
    corpora = {"3 SQuAD articles": [AQ / "corpora" / "squad3"],
               "3 SQuAD articles+bbc": [AQ / "corpora" / "squad3", bbc]}
    faiss_dirs = {"3 SQuAD articles": AQ / "squad3" / "index",
                  "3 SQuAD articles+bbc": AQ / "squad3+bbc" / "index"}
    if not all((d / "CURRENT").exists() for d in faiss_dirs.values()):
        print("no cached 3-article indexes (run benchmarks.answer_quality first): "
              "no abstention figures")
        return []
    questions = answerable(load_squad(squad))
    rows: list[list[object]] = []
    encoder = None
    for i, (name, corpus) in enumerate(corpora.items()):
        url = pg.create_database(f"abstention{i}")
        build_pg(index_dir, url, work, corpus)
        both = {"faiss": Settings(_env_file=None, index_dir=faiss_dirs[name],
                                  data_dir=work / f"abst-faiss{i}", abstain_threshold=-1e9),
                "postgresql": Settings(_env_file=None, index_backend="postgresql",
                                       index_database_url=url, index_dir=work / "no-index",
                                       data_dir=work / f"abst-pg{i}", abstain_threshold=-1e9)}
        for backend, settings in both.items():
            if encoder is None:
                encoder = Engine(settings).encoder
            current = calibration(encoder.name).threshold
            _, at, _ = abstention({name: settings}, encoder, questions, current)
            rows.append([name, backend, current, at[0][2], at[0][3]])
    return rows


def synthetic(args: argparse.Namespace, work: Path, index_dir: Path, pg: Postgres,
              rows: list[list[object]]) -> list[object]:
    """The PostgreSQL index at `--synthetic-passages`: 1 and 2 replicas (into `rows`), then
    its size and the time to add 10 articles; the size row."""
    server, url, corpus = grown_index(args.synthetic_passages, args.synthetic_dir, args.bbc,
                                      index_dir)
    try:
        publish(url, corpus, work, index_dir)
        questions = QUESTIONS + squad_questions(args.squad)
        label = f"postgresql {args.synthetic_passages // 1000}k"
        for replicas in (1, 2):
            state = pg.create_database(f"state_synthetic{replicas}")
            row = run(index_env("postgresql", index_dir, url, work), state, replicas,
                      questions, args.questions, work, f"synthetic-{replicas}")
            rows.append([label, *row[1:]])
            print(table(HEADERS, rows[-1:]), flush=True)
        database, schema = database_sizes(url)
        seconds = add_ten("postgresql", index_dir, url, work, args.bbc, corpus, "new1m")
    finally:
        server.stop()
    return [label, database, schema, seconds]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--index-dir", type=Path, default=CACHED)
    parser.add_argument("--questions", type=int, default=300, help="questions in the burst")
    parser.add_argument("--squad", type=Path, default=SHARED / "squad2_dev_subset.json")
    parser.add_argument("--bbc", type=Path, default=SHARED / "bbc_news.jsonl")
    parser.add_argument("--configs", default="faiss:1,faiss:2,postgresql:1,postgresql:2")
    parser.add_argument("--state", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--synthetic-passages", type=int, default=0,
                        help="also the PostgreSQL index grown to this many passages "
                             "(benchmarks/pg_synthetic.py; 0: not)")
    parser.add_argument("--synthetic-dir", type=Path, default=None,
                        help="where that index's server keeps its data (reused by later runs)")
    args = prologue(parser, argv)
    work = Path(tempfile.mkdtemp(prefix="verbatim-scale-"))
    index_dir = args.index_dir
    configs = [(b, int(n)) for b, n in (c.split(":") for c in args.configs.split(","))]
    if not (index_dir / "CURRENT").exists():
        print(f"{index_dir} has no index; building a small one (seed + 3 SQuAD articles)")
        index_dir = build_small_index(work, args.squad)
        configs = [c for c in configs if c[0] == "faiss"]
    print(f"index: {index_dir}")
    pg = Postgres.with_pgvector().start()
    try:
        report(args, work, index_dir, configs, pg)
    finally:
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(args: argparse.Namespace, work: Path, index_dir: Path,
           configs: list[tuple[str, int]], pg: Postgres) -> None:
    """Build the PostgreSQL index, run the configs, then sizes, adds and quality."""
    backends = list(dict.fromkeys(b for b, _ in configs))
    index_url = pg.create_database("index") if "postgresql" in backends else None
    if index_url:
        pg.sql("postgres", "ALTER DATABASE index SET maintenance_work_mem = '4GB'")
        pg.sql("postgres", "ALTER DATABASE index SET max_parallel_maintenance_workers = 1")
        build_pg(index_dir, index_url, work, CORPUS)
    questions = QUESTIONS + squad_questions(args.squad)
    rows = []
    for i, (backend, replicas) in enumerate(configs):
        state = (pg.create_database(f"state{i}") if args.state == "postgresql"
                 else f"sqlite:///{work / f'state{i}.sqlite3'}")
        rows.append(run(index_env(backend, index_dir, index_url, work), state, replicas,
                        questions, args.questions, work, f"{backend}-{replicas}"))
        print(table(HEADERS, rows[-1:]), flush=True)
    big = (synthetic(args, work, index_dir, pg, rows)
           if args.synthetic_passages and index_url else None)
    print(f"\nstate: {args.state}")
    print(table(HEADERS, rows))
    sizes: list[list[object]] = []
    for backend in backends:
        figures = quality(backend, index_dir, index_url, args.squad)
        if backend == "postgresql" and index_url:
            database, schema = database_sizes(index_url)
        else:
            database = schema = sum(f.stat().st_size for f in index_dir.rglob("*")
                                    if f.is_file() and not f.is_symlink()) / 2**20
        seconds = add_ten(backend, index_dir, index_url, work, args.bbc)
        sizes.append([backend, database, schema, seconds, *figures.values()])
        print(table(["index", "database MB", "index MB", "add 10 articles s",
                     *figures], sizes[-1:]), flush=True)
    print("\nSize, adding 10 articles (build_index.py, process included) and quality "
          "(answer_quality's engine figures, abstention off)")
    print(table(["index", "database MB", "index MB", "add 10 articles s",
                 *figures], sizes))
    if big is not None:
        at_bbc = next(float(r[3]) for r in sizes if r[0] == "postgresql")  # type: ignore[arg-type]
        print(table(["index", "database MB", "index MB", "add 10 articles s",
                     "add 10 vs BBC size"], [[*big, float(big[3]) / at_bbc]]))  # type: ignore[arg-type]
    if index_url:
        found = abstention_rows(index_dir, pg, work, args.squad, args.bbc)
        print("\nAbstention (answer_quality's, at the fitted threshold), both backends")
        print(table(["index", "backend", "threshold", "abstained on left-out",
                     "false abstention"], found))
    if len(sizes) == 2:
        print(table(["figure", "postgresql - faiss"],
                    [[name, float(sizes[1][4 + i]) - float(sizes[0][4 + i])]  # type: ignore[arg-type]
                     for i, name in enumerate(figures)]))


if __name__ == "__main__":
    main()
