"""A growing index: what adding 10 articles, reloading and merging cost as the corpus grows.

    .venv/bin/python -m benchmarks.growth [--bbc F] [--base 500] [--scales 1,4,16] [--add 10]
        [--synthetic 200000] [--work DIR]

Corpora of 1x, 4x and 16x `--base` BBC articles (the copies with distinct ids and one distinct
closing paragraph each), built once with a memoising encoder (only new texts are encoded).
Then, for each, in child processes with ENCODER_BACKEND=torch-fp32: a build that adds `--add`
new articles (time, peak RSS), and a merge of the small segments; in this process, a bot
engine that reloads each new version (time, RSS added) and answers news questions (p50/p95).
`--synthetic N` builds one segment of N passages from perturbed real vectors and reports the
memory a loaded index takes per passage. Run it alone: it measures wall time and memory.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import numpy as np

from benchmarks.common import ROOT, SHARED, percentile, table
from benchmarks.runner import prologue
from bot.engine.answer import Engine
from bot.settings import Settings
from index import build_index, load_index, publish
from index.encoders import Encoder, torch_encoder
from index.sources import read_corpus

QUESTIONS = ROOT / "benchmarks" / "data" / "news_questions.jsonl"


class MemoEncoder:
    """An encoder that encodes each distinct text once across builds (for the set-up only)."""

    def __init__(self, encoder: Encoder) -> None:
        self.inner = encoder
        self.memo: dict[str, np.ndarray] = {}

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if new:
            for text, vector in zip(new, self.inner.encode(new), strict=True):
                self.memo[text] = vector
        return np.vstack([self.memo[t] for t in texts])


def status(field: str) -> float:
    """A /proc/self/status field in MB (VmRSS, RssAnon, RssFile, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_corpus(folder: Path, base: list[dict], copies: int) -> None:
    """`copies` copies of the base articles, one JSONL file per copy; each copy's article has
    its own id and a closing paragraph of its own."""
    folder.mkdir(parents=True, exist_ok=True)
    for copy in range(copies):
        with open(folder / f"copy{copy:02d}.jsonl", "w", encoding="utf-8") as handle:
            for a in base:
                record = {"id": f"{a['id']}-c{copy}", "title": a["title"],
                          "text": a["text"] + f"\n\nThis is copy {copy} of report {a['id']}, "
                                              f"filed under {a['category']} number {copy}."}
                handle.write(json.dumps(record) + "\n")


def child(args: argparse.Namespace) -> None:
    """In a fresh process: one build (`build`) or one merge of the small segments (`merge`);
    prints its timings and peak RSS as JSON."""
    started = time.perf_counter()
    settings = Settings(_env_file=None, corpus_dir=args.corpus, index_dir=args.index,
                        encoder_backend="torch-fp32", merge_factor=0)
    result: dict[str, float | int] = {}
    if args.child == "load":
        result = load_memory(args.index)
    elif args.child == "build":
        corpus = read_corpus([args.corpus])
        t = time.perf_counter()
        summary = build_index(corpus, args.index, settings)
        result = {"build_s": time.perf_counter() - t, "embed_s": summary.embed_seconds,
                  "embedded": summary.embedded_passages, "segments": summary.segments}
    else:
        from index.merge import _merge  # the merge of every segment after the first

        with publish.build_lock(args.index):
            folder = publish.current_version(args.index)
            assert folder is not None
            manifest = publish.read_manifest(folder)
            t = time.perf_counter()
            if len(manifest.segments) > 1:
                _merge(args.index, folder, manifest, (1, len(manifest.segments) - 1), settings)
                publish.cleanup(args.index, settings.keep_index_versions)
            result = {"build_s": time.perf_counter() - t}
    result["total_s"] = time.perf_counter() - started
    result["peak_rss_mb"] = status("VmHWM")
    print(json.dumps(result))


def load_memory(index_dir: Path) -> dict[str, float | int]:
    """In a fresh process: the memory a loaded index takes, private (anonymous) and shared
    (file-backed: the memory-mapped stores and vectors), after 100 searches."""
    anonymous, file = status("RssAnon"), status("RssFile")
    started = time.perf_counter()
    model = publish.read_manifest(publish.current_version(index_dir)).model  # type: ignore[arg-type]
    index = load_index(index_dir, str(model))
    load_s = time.perf_counter() - started
    rng = np.random.default_rng(0)
    for _ in range(100):
        query = rng.normal(size=index.manifest.dimension).astype(np.float32)
        query /= np.linalg.norm(query)
        index.search_passages(query, 50)
        index.search_sentences(query, 100)
    gc.collect()
    return {"anon_mb": status("RssAnon") - anonymous, "file_mb": status("RssFile") - file,
            "passages": index.passage_count, "sentences": index.sentence_count,
            "load_s": load_s}


def run_child(kind: str, corpus: Path, index: Path) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(os.cpu_count() or 1)}
    out = subprocess.run([sys.executable, "-m", "benchmarks.growth", "--child", kind,
                          "--corpus", str(corpus), "--index", str(index)], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def reload(engine: Engine) -> tuple[float, float]:
    """Seconds for the engine to pick up the live version, and the RSS it added (MB)."""
    gc.collect()
    before = status("VmRSS")
    started = time.perf_counter()
    assert engine.load()
    seconds = time.perf_counter() - started
    gc.collect()
    return seconds, status("VmRSS") - before


def latency(engine: Engine, questions: list[str]) -> tuple[float, float]:
    engine.answer(questions[0])
    times = []
    for q in questions:
        started = time.perf_counter()
        engine.answer(q)
        times.append((time.perf_counter() - started) * 1000)
    return percentile(times, 50), percentile(times, 95)


def measure(scale: int, work: Path, base: list[dict], new: list[dict], questions: list[str],
            memo: MemoEncoder) -> tuple[list, list, list]:
    """One corpus size: the rows of the three tables (add, merge, memory)."""
    folder = work / f"x{scale}"
    corpus, index = folder / "corpus", folder / "index"
    write_corpus(corpus, base, scale)
    settings = Settings(_env_file=None, corpus_dir=corpus, index_dir=index,
                        encoder_backend="torch-fp32", merge_factor=0)
    started = time.perf_counter()
    full = build_index(read_corpus([corpus]), index, settings, encoder=memo)  # type: ignore[arg-type]
    full_s = time.perf_counter() - started
    one_version = publish.disk_bytes(publish.current_version(index))
    engine = Engine(settings, encoder=memo.inner)
    engine.load()
    latency(engine, questions)  # warm-up: caches, threads
    p50_before, p95_before = latency(engine, questions)
    with open(corpus / "added.jsonl", "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(a) + "\n" for a in new)
    added = run_child("build", corpus, index)
    seconds, rss = reload(engine)
    disk_two = publish.disk_bytes(*(p for p in (index / "versions").iterdir()
                                    if not p.name.startswith(".")))
    live = publish.current_version(index)
    newest = publish.read_manifest(live).segments[-1]["name"]
    new_segment = publish.disk_bytes(live / publish.SEGMENTS / newest)
    p50, p95 = latency(engine, questions)
    with open(corpus / "one.jsonl", "w", encoding="utf-8") as handle:
        handle.write(json.dumps({**new[0], "id": new[0]["id"] + "-one"}) + "\n")
    one = run_child("build", corpus, index)  # the fixed cost: a build that embeds one article
    reload(engine)
    row = [f"{scale}x", full.articles, full.passages, full_s, added["build_s"],
           added["total_s"], added["embed_s"], added["peak_rss_mb"], one["build_s"],
           one["total_s"], seconds, rss,
           new_segment / 1e6, disk_two / 1e6, one_version / 1e6, p50_before, p95_before,
           p50, p95]
    merged = run_child("merge", corpus, index)
    merge_reload, merge_rss = reload(engine)
    merge_row = [f"{scale}x", merged["build_s"], merged["peak_rss_mb"], merge_reload,
                 merge_rss, *latency(engine, questions)]
    memory = run_child("load", corpus, index)  # a fresh process: no memory reused
    memory_row = [f"{scale}x", memory["passages"], memory["sentences"], memory["load_s"],
                  memory["anon_mb"], memory["anon_mb"] * 2**20 / memory["passages"],
                  memory["file_mb"], memory["file_mb"] * 2**20 / memory["passages"]]
    shutil.rmtree(folder, ignore_errors=True)
    return row, merge_row, memory_row


def grow(args: argparse.Namespace, work: Path) -> None:
    articles = [json.loads(line) for line in args.bbc.read_text(encoding="utf-8").splitlines()]
    base, extra = articles[:args.base], articles[args.base:]
    questions = [json.loads(line)["question"] for line in
                 QUESTIONS.read_text(encoding="utf-8").splitlines()][:args.questions]
    memo = MemoEncoder(torch_encoder(Settings(_env_file=None, encoder_backend="torch-fp32")))
    rows, merge_rows, memory_rows = [], [], []
    for step, scale in enumerate(args.scales):
        new = extra[step * args.add:(step + 1) * args.add]
        row, merge_row, memory_row = measure(scale, work, base, new, questions, memo)
        rows.append(row)
        merge_rows.append(merge_row)
        memory_rows.append(memory_row)
        print(f"{scale}x done", file=sys.stderr, flush=True)
    print("\n" + table(["corpus", "articles", "passages", "full build s", "add: build s",
                        "add: process s", "add: encode s", "add: peak RSS MB",
                        "add 1: build s", "add 1: process s", "reload s",
                        "reload +RSS MB", "new segment MB", "disk 2 versions MB",
                        "disk 1 version MB", "p50 ms before", "p95 ms before", "p50 ms",
                        "p95 ms"], rows))
    print("\n" + table(["corpus", "merge of the small segments s", "merge peak RSS MB",
                        "reload s", "reload +RSS MB", "p50 ms", "p95 ms"], merge_rows))
    print("\n" + table(["corpus", "passages", "sentences", "load s (fresh process)",
                        "private RAM MB", "private bytes/passage", "shared page cache MB",
                        "shared bytes/passage"], memory_rows))
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        print("\n" + table(["ratio last/first", "add build", "reload", "p95"], [[
            f"{last[0]}/{first[0]}", last[4] / first[4], last[10] / first[10],
            last[18] / first[18]]]))


def synthetic_segment(target: Path, vectors: np.ndarray, rng: np.random.Generator,
                      settings: Settings) -> object:
    """Write a segment of one article whose passages (one sentence each) have `vectors`."""
    import index.catalog as catalog
    import index.segment as segment

    count = len(vectors)
    words = np.array("harbour wheat election railway drought minister factory river festival "
                     "vaccine tariff bridge strike orchestra satellite".split())
    with closing(catalog.connect(target / segment.CATALOG)) as conn:
        catalog.create(conn)
        text = " ".join(words[rng.integers(0, len(words), 30)])
        conn.execute("INSERT INTO articles VALUES (100000, 'synthetic', 'synthetic', "
                     "'Synthetic', NULL, NULL, NULL, NULL, '{}', ?, 'x', 'now')",
                     (text,))
        conn.executemany("INSERT INTO passages VALUES (?, 100000, 0, 0, ?)",
                         [(1000 + i, len(text)) for i in range(count)])
        conn.executemany("INSERT INTO sentences VALUES (?, ?, 0, ?)",
                         [(1000 + i, 1000 + i, len(text)) for i in range(count)])
        conn.executemany("INSERT INTO passages_fts (rowid, text) VALUES (?, ?)",
                         [(1000 + i, " ".join(words[rng.integers(0, len(words), 8)]))
                          for i in range(count)])
        conn.commit()
        return segment.finish(target, conn, vectors, vectors, settings)


def synthetic(args: argparse.Namespace, work: Path) -> None:
    """One segment of N passages (one sentence each) of perturbed real vectors: the memory a
    loaded index takes per passage, anonymous and file-backed."""
    import index.segment as segment

    count = args.synthetic
    seed_dir = work / "seed"
    (seed_dir / "corpus").mkdir(parents=True)
    shutil.copy(ROOT / "corpus" / "tripoli-airport.txt", seed_dir / "corpus")
    encoder = torch_encoder(Settings(_env_file=None, encoder_backend="torch-fp32"))
    settings = Settings(_env_file=None, corpus_dir=seed_dir / "corpus",
                        index_dir=work / "synthetic", encoder_backend="torch-fp32")
    build_index(read_corpus([seed_dir / "corpus"]), settings.resolved_index_dir, settings,
                encoder=encoder)
    live = publish.current_version(settings.resolved_index_dir)
    assert live is not None
    (old,) = (live / publish.SEGMENTS).iterdir()
    real = np.load(old / segment.PASSAGE_VECTORS)
    rng = np.random.default_rng(0)
    vectors = real[rng.integers(0, len(real), count)] + rng.normal(0, 0.03, (count, 384))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    target = live / publish.SEGMENTS / "seg-synthetic"
    target.mkdir()
    started = time.perf_counter()
    info = synthetic_segment(target, vectors, rng, settings)
    build_s = time.perf_counter() - started
    manifest = publish.read_manifest(live)
    data = manifest.to_dict()
    data["segments"] = [*data["segments"], info.to_dict()]  # type: ignore[attr-defined]
    data["passages"] = (manifest.passages or 0) + count
    data["articles"] = manifest.articles + 1
    order = np.append(np.load(live / publish.ORDER), 100000)
    np.save(live / publish.ORDER, order)
    publish.write_manifest(live, publish.Manifest.from_dict(data))
    memory = run_child("load", seed_dir / "corpus", settings.resolved_index_dir)
    loaded = load_index(settings.resolved_index_dir, encoder.name)
    query = vectors[:200] + rng.normal(0, 0.05, (200, 384)).astype(np.float32)
    times = []
    for q in query:
        t = time.perf_counter()
        loaded.search_passages(q / np.linalg.norm(q), 50)
        loaded.search_sentences(q / np.linalg.norm(q), 100)
        times.append((time.perf_counter() - t) * 1000)
    disk = publish.disk_bytes(target)
    print("\n" + table(["passages", "segment build s", "load s", "private RAM MB",
                        "private bytes/passage", "shared page cache MB", "disk MB",
                        "dense search p50 ms", "p95 ms"],
                       [[count, build_s, memory["load_s"], memory["anon_mb"],
                         memory["anon_mb"] * 2**20 / count, memory["file_mb"], disk / 1e6,
                         percentile(times, 50), percentile(times, 95)]]))
    loaded.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bbc", type=Path, default=SHARED / "bbc_news.jsonl")
    parser.add_argument("--base", type=int, default=500, help="BBC articles per copy")
    parser.add_argument("--scales", default="1,4,16")
    parser.add_argument("--add", type=int, default=10, help="articles added per step")
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--synthetic", type=int, default=0, help="passages of a synthetic "
                                                                  "segment (0: none)")
    parser.add_argument("--work", type=Path, help="where to build (default: a temp folder)")
    parser.add_argument("--child", choices=("build", "merge", "load"), help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=Path, help=argparse.SUPPRESS)
    if argv is None and "--child" in sys.argv:
        child(parser.parse_args())
        return
    args = prologue(parser, argv)
    args.scales = [int(s) for s in args.scales.split(",") if s]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    work = args.work or Path(tempfile.mkdtemp(prefix="verbatim-growth-"))
    try:
        if args.scales:
            grow(args, work)
        if args.synthetic:
            synthetic(args, work)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
