"""Helpers shared by the benchmarks: percentiles, tables, SQuAD corpora and their questions (the
prologue every script runs, CPU line included, is in benchmarks.runner)."""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "benchmarks" / "out"


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1] if len(
        ordered) > 1 else ordered[0]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, as docs/benchmarks.md shows it (`benchmarks.runner.show`)."""
    def cell(value: object) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def load_squad(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["data"]


def write_squad_corpus(articles: list[dict], folder: Path) -> None:
    """SQuAD articles as one JSONL corpus: one article per title, paragraphs in order."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "squad.jsonl", "w", encoding="utf-8") as handle:
        for article in articles:
            text = "\n\n".join(p["context"].strip() for p in article["paragraphs"])
            handle.write(json.dumps({"id": f"squad:{article['title']}",
                                     "title": article["title"].replace("_", " "),
                                     "text": text}) + "\n")


def answerable(articles: list[dict]) -> list[dict]:
    """Answerable questions with their gold article id, 1-based paragraph and answer texts."""
    result = []
    for article in articles:
        for number, paragraph in enumerate(article["paragraphs"], start=1):
            for qa in paragraph["qas"]:
                if qa.get("is_impossible") or not qa["answers"]:
                    continue
                result.append({"question": qa["question"],
                               "article_id": f"squad:{article['title']}",
                               "paragraph": number,
                               "answers": sorted({a["text"] for a in qa["answers"]})})
    return result


def gold_paragraph_rank(paragraphs: Iterable[tuple[str, int]], question: dict) -> int | None:
    """1-based rank of the question's gold (article id, paragraph) among the first 10 distinct
    paragraphs of a ranking, or None."""
    seen: list[tuple[str, int]] = []
    for key in paragraphs:
        if key not in seen:
            seen.append(key)
        if len(seen) >= 10:
            break
    gold = (question["article_id"], question["paragraph"])
    return seen.index(gold) + 1 if gold in seen else None
