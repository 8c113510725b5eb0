"""Answering and abstention on questions news readers ask (paraphrased, headline-worded).

    .venv/bin/python -m benchmarks.news_quality [--questions F] [--bbc F] [--work DIR]
        [--threshold T]

The index holds the seed article and the 2,225 BBC articles (cached under --work, updated
incrementally). The questions (benchmarks/data/news_questions.jsonl) are answerable ones, each
with a short verbatim phrase of the sentence that answers it, and on-topic ones no article
answers. They are split in two halves by article (`split_of`): the support weights are fitted
on the "fit" half (benchmarks/fit_support.py) and reported on the "test" half.
"""

from __future__ import annotations

import argparse
import json
import zlib
from pathlib import Path
from typing import Any

from benchmarks.common import OUT, ROOT, SHARED, table
from benchmarks.runner import Encoders, build, engine_over, prologue, show
from bot.engine import Engine
from bot.engine.abstention import calibration  # the fitted default threshold

QUESTIONS = ROOT / "benchmarks" / "data" / "news_questions.jsonl"
SEED = ROOT / "corpus" / "tripoli-airport.txt"
SPLITS = ("fit", "test")


def split_of(key: str) -> str:
    """The half a question belongs to, by a stable hash of its article (or its own id)."""
    return SPLITS[zlib.crc32(key.encode("utf-8")) % 2]


def load_questions(path: Path) -> list[dict[str, Any]]:
    """The benchmark's questions, each with its half in "split"."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    for row in rows:
        row["split"] = split_of(row["article_id"])
    return rows


def answers(engine: Engine, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each question's first quote and evidence with abstention off."""
    rows = []
    for q in questions:
        answer = engine.answer(q["question"], limit=3)
        first = answer.quotes[0] if answer.quotes else None
        rows.append({
            "id": q["id"], "question": q["question"], "answerable": q["answerable"],
            "split": q["split"], "support": answer.evidence.get("support", 0.0),
            "evidence": answer.evidence,
            "article_hit": bool(first and first.article_id == q["article_id"]),
            "hit": bool(first and q["answer"] and q["answer"] in first.text),
            "quote": first.text if first else None,
            "quote_article": first.article_id if first else None,
        })
    return rows


def figures(rows: list[dict[str, Any]], threshold: float) -> dict[str, float]:
    """False and correct abstention, abstention precision and recall, quote hit."""
    inside = [r for r in rows if r["answerable"]]
    outside = [r for r in rows if not r["answerable"]]
    abstained_in = sum(r["support"] < threshold for r in inside)
    abstained_out = sum(r["support"] < threshold for r in outside)
    abstained = abstained_in + abstained_out
    return {
        "questions": float(len(rows)),
        "false abstention": abstained_in / max(1, len(inside)),
        "correct abstention": abstained_out / max(1, len(outside)),
        "abstention precision": abstained_out / abstained if abstained else 1.0,
        "quote hit": sum(r["hit"] for r in inside) / max(1, len(inside)),
        "right article first": sum(r["article_hit"] for r in inside) / max(1, len(inside)),
        "answered with a hit": sum(r["hit"] and r["support"] >= threshold
                                   for r in inside) / max(1, len(inside)),
    }


def report(rows: list[dict[str, Any]], threshold: float) -> str:
    """The figures per half and for all questions, as a Markdown table."""
    halves = {"fit half": [r for r in rows if r["split"] == "fit"],
              "test half": [r for r in rows if r["split"] == "test"], "all": rows}
    measured = {name: figures(part, threshold) for name, part in halves.items()}
    keys = list(measured["all"])
    return table(["metric", *halves], [[key, *(measured[h][key] for h in halves)]
                                       for key in keys])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--bbc", type=Path, default=SHARED / "bbc_news.jsonl")
    parser.add_argument("--seed", type=Path, default=SEED)
    parser.add_argument("--work", type=Path, default=OUT / "news_quality")
    parser.add_argument("--threshold", type=float, default=None,
                        help="abstention threshold to report (default: the setting)")
    args = prologue(parser, argv)
    questions = load_questions(args.questions)
    encoders = Encoders(args.work)
    settings = build("news", [args.seed, args.bbc], args.work, encoders.passages)
    engine = engine_over(settings, encoders.questions)
    rows = answers(engine, questions)
    threshold = args.threshold if args.threshold is not None else calibration(
        engine.encoder.name).threshold
    answerable = sum(q["answerable"] for q in questions)
    print(f"\n{len(questions)} news questions ({answerable} answerable, "
          f"{len(questions) - answerable} on-topic unanswerable); index: seed + BBC; "
          f"ABSTAIN_THRESHOLD {threshold}\n")
    show("news_quality", report(rows, threshold))
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "details.json").write_text(json.dumps(rows, indent=1, default=str))
    misses = [r for r in rows if r["answerable"] and (not r["hit"] or r["support"] < threshold)]
    print(f"\n{len(misses)} answerable questions missed or refused (details.json has all)")


if __name__ == "__main__":
    main()
