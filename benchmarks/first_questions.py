"""Latency as a user meets it: a fresh `python -m bot ask --questions-file` process answering a
batch of different questions, its first questions included (per-article caches still empty).

    .venv/bin/python -m benchmarks.first_questions [--questions F] [--index-dir DIR]
        [--checkout DIR ...] [--repeats N] [--first N]

Each repeat starts one new process per checkout over all the questions (the news questions of
benchmarks/data/news_questions.jsonl, both halves, in file order) and reads each answer's
`latency_ms` and `timings` (every stage the engine reports). A bare MiniLM question encode
(torch fp32 `SentenceTransformer.encode([q])`, one question at a time, the same questions) is
measured in this process in the same repeat. The tables give p50/p95 for the first N
questions and for all, and p95 against the bare encode's p95 over the same questions; with
several repeats, each figure is the median over the repeats. `--checkout` runs another working
tree's code (its own `.venv/bin/python`) on the same index: before and after in one run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import OUT, ROOT, percentile, table
from benchmarks.runner import prologue
from bot.settings import Settings
from index.encoders import TorchEncoder

QUESTIONS = ROOT / "benchmarks" / "data" / "news_questions.jsonl"
INDEX = OUT / "news_quality" / "news" / "index"
BARE = "bare MiniLM torch fp32 encode([q])"


def questions_file(source: Path, folder: Path) -> tuple[Path, list[str]]:
    """The questions as an `ask --questions-file` input, and their texts in order."""
    texts = [json.loads(line)["question"] for line in source.read_text(encoding="utf-8")
             .splitlines() if line.strip()]
    path = folder / "questions.jsonl"
    path.write_text("".join(json.dumps({"question": t}) + "\n" for t in texts), encoding="utf-8")
    return path, texts


def fresh_process(checkout: Path, questions: Path, index_dir: Path) -> list[dict]:
    """Each answer's latency_ms and timings from one new `ask --questions-file` process."""
    python = checkout / ".venv" / "bin" / "python"
    result = subprocess.run(
        [str(python if python.exists() else sys.executable), "-m", "bot", "ask",
         "--questions-file", str(questions), "--json", "--index-dir", str(index_dir)],
        cwd=checkout, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{checkout}: ask failed ({result.returncode}): "
                         f"{result.stdout[-1000:]}{result.stderr[-2000:]}")
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return [{"total": r.get("latency_ms", 0.0), **r.get("timings", {})} for r in rows]


def bare_encodes(model: TorchEncoder, texts: list[str]) -> list[float]:
    """Milliseconds of one bare question encode per question."""
    times = []
    for text in texts:
        started = time.perf_counter()
        model.model.encode([text], normalize_embeddings=True)
        times.append((time.perf_counter() - started) * 1000)
    return times


def figures(values: list[float], first: int, bare: list[float]) -> list[float]:
    """p50 and p95 of the first questions and of all, each p95 also over the bare p95."""
    head, head_bare = values[:first], bare[:first]
    return [percentile(head, 50), percentile(head, 95),
            percentile(head, 95) / percentile(head_bare, 95),
            percentile(values, 50), percentile(values, 95),
            percentile(values, 95) / percentile(bare, 95)]


def run(checkouts: list[Path], questions: Path, texts: list[str], index_dir: Path,
        repeats: int, first: int) -> dict[str, list[list[float]]]:
    """Per row label ("<checkout>: <stage>", the bare encode), each repeat's figures."""
    bare_model = TorchEncoder(Settings(_env_file=None).embedding_model)
    bare_encodes(bare_model, texts[:5])  # the first call's one-off setup is no question's
    measured: dict[str, list[list[float]]] = {}
    for repeat in range(repeats):
        bare = bare_encodes(bare_model, texts)
        measured.setdefault(BARE, []).append(figures(bare, first, bare))
        for checkout in checkouts:
            answers = fresh_process(checkout, questions, index_dir)
            if len(answers) != len(texts):
                raise SystemExit(f"{checkout}: {len(answers)} answers for {len(texts)} questions")
            stages = list(dict.fromkeys(k for a in answers for k in a if k != "total"))
            for stage in [*stages, "total"]:
                label = f"{checkout.name}: {'whole answer' if stage == 'total' else stage}"
                values = [float(a.get(stage, 0.0)) for a in answers]
                measured.setdefault(label, []).append(figures(values, first, bare))
        print(f"repeat {repeat + 1}/{repeats}: " + "; ".join(
            f"{label} p95 first {values[-1][1]:.1f} all {values[-1][4]:.1f}"
            for label, values in measured.items() if label == BARE or "whole" in label),
            file=sys.stderr, flush=True)
    return measured


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--index-dir", type=Path, default=INDEX)
    parser.add_argument("--checkout", type=Path, action="append",
                        help="a working tree whose code answers (repeatable; default: this one)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--first", type=int, default=20)
    args = prologue(parser, argv)
    checkouts = [c.resolve() for c in (args.checkout or [ROOT])]
    args.index_dir = args.index_dir.resolve()  # the processes run in their checkouts
    with tempfile.TemporaryDirectory() as folder:
        questions, texts = questions_file(args.questions, Path(folder))
        measured = run(checkouts, questions, texts, args.index_dir, args.repeats, args.first)
    print(f"\n{len(texts)} questions, each checkout in a fresh `python -m bot ask "
          f"--questions-file` process on {args.index_dir}; median of {args.repeats} "
          f"repeat(s); ms\n")
    first = f"first {args.first}"
    headers = ["stage", f"{first} p50", f"{first} p95", f"{first} p95 / bare p95",
               "all p50", "all p95", "all p95 / bare p95"]
    rows = [[label, *(statistics.median(r[i] for r in repeats) for i in range(6))]
            for label, repeats in measured.items()]
    print(table(headers, rows))


if __name__ == "__main__":
    main()
