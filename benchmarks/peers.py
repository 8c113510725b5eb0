"""Peer comparison: txtai 9.x search with the same MiniLM model, paragraph recall on SQuAD.

    .venv/bin/python -m benchmarks.peers [--squad F] [--bbc F] [--no-bbc] [--work DIR]
        [--separate-dense]

Every SQuAD paragraph is one txtai document (id "squad:<title>#<paragraph>", paragraphs
numbered as `benchmarks.common.answerable` numbers them), plus the BBC articles' paragraphs
as distractors unless --no-bbc. Each answerable question is searched with limit 30 and the
1-based rank of its gold paragraph among the first 10 distinct paragraphs is recorded, as
`benchmarks.answer_quality.paragraph_ranks` does for our engine. txtai's hybrid search is
BM25 (normalised scores) and dense cosine fused by a convex combination, weights 0.5/0.5.
The dense only row searches the same index with hybrid weight 1.0 (txtai then ignores the
BM25 results), which ranks as a dense only index does without embedding everything twice;
--separate-dense also builds and measures that dense only index (hybrid False).
Needs the optional extra: pip install -e .[peers]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

from benchmarks.common import (
    OUT,
    SHARED,
    answerable,
    gold_paragraph_rank,
    load_squad,
    table,
)
from benchmarks.runner import prologue
from index.encoders import resolve_model  # also keeps the model hub offline
from index.settings import PACKAGED_MODEL

Paragraph = tuple[str, str]  # (document id "<article id>#<1-based paragraph>", text)


@dataclass
class Run:
    """One txtai index measured: the ranks and what building and searching it cost."""

    ranks: list[int | None]
    documents: int
    index_s: float
    search_s: float
    disk_mb: float | None = None
    probe: str = ""  # the dense index: flat, or IVF and how many cells a search probes


def minilm_path() -> Path:
    """The local folder of the packaged MiniLM model our engine encodes with."""
    return resolve_model(PACKAGED_MODEL)[1]


def embeddings_class() -> Any:
    """txtai's Embeddings, or a SystemExit telling how to install the optional extra."""
    try:
        from txtai import Embeddings
    except ImportError as err:
        raise SystemExit("benchmarks.peers needs txtai: pip install -e .[peers]") from err
    return Embeddings


@contextmanager
def all_cores() -> Iterator[None]:
    """Torch and faiss on every core meanwhile: importing `index` leaves faiss's OpenMP, and
    with it torch, on one thread (for our engine's search latency), which would slow txtai."""
    import faiss
    import torch

    before, before_faiss = torch.get_num_threads(), faiss.omp_get_max_threads()
    torch.set_num_threads(os.cpu_count() or 1)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
        faiss.omp_set_num_threads(before_faiss)


def squad_paragraphs(squad: list[dict]) -> list[Paragraph]:
    """Every SQuAD paragraph, numbered from 1 within its article like `answerable`."""
    return [(f"squad:{article['title']}#{number}", paragraph["context"].strip())
            for article in squad
            for number, paragraph in enumerate(article["paragraphs"], start=1)]


def bbc_paragraphs(path: Path) -> list[Paragraph]:
    """The BBC articles (JSONL with id and text) split into paragraphs on blank lines."""
    result: list[Paragraph] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            article = json.loads(line)
            chunks = [c.strip() for c in article["text"].split("\n\n") if c.strip()]
            result += [(f"{article['id']}#{n}", text) for n, text in enumerate(chunks, start=1)]
    return result


def gold_rank(results: list[tuple[str, float]], question: dict) -> int | None:
    """1-based rank of the gold paragraph among the first 10 distinct paragraphs, or None."""
    split = (uid.rpartition("#") for uid, _ in results)  # "<article id>#<paragraph>"
    return gold_paragraph_rank(((article, int(number)) for article, _, number in split),
                               question)


def measure(squad: list[dict], distractor_paragraphs: list[Paragraph], model_path: Path,
            hybrid: bool = True, save_to: Path | None = None,
            weights: tuple[float | None, ...] = (None,), exhaustive: bool = False) -> list[Run]:
    """Index the SQuAD (+ distractor) paragraphs with txtai, search every answerable
    question with limit 30 once per hybrid weight (None: txtai's default 0.5; 1.0: dense
    scores only) and return one Run per weight with the gold ranks, index size and timings;
    `exhaustive` adds the same searches probing every cell when txtai chose an IVF index."""
    embeddings_type = embeddings_class()
    documents = squad_paragraphs(squad) + list(distractor_paragraphs)
    config: dict[str, Any] = {"path": str(model_path), "content": False}
    if hybrid:
        config["hybrid"] = True
    embeddings = embeddings_type(config)
    started = time.perf_counter()
    with all_cores():
        embeddings.index([(uid, text, None) for uid, text in documents])
    base = Run([], len(documents), time.perf_counter() - started, 0.0)
    if save_to is not None:
        shutil.rmtree(save_to, ignore_errors=True)
        embeddings.save(str(save_to))
        base.disk_mb = sum(f.stat().st_size for f in save_to.rglob("*") if f.is_file()) / 1e6
    cells = ivf_cells(embeddings)
    base.probe = f"IVF{cells}, nprobe {embeddings.ann.nprobe()}" if cells else "flat (exact)"
    runs = [search(embeddings, answerable(squad), w, base) for w in weights]
    if exhaustive and cells:
        embeddings.ann.config.setdefault(embeddings.ann.config["backend"], {})["nprobe"] = cells
        base.probe = f"IVF{cells}, nprobe {cells} (exact)"
        runs += [search(embeddings, answerable(squad), w, base) for w in weights]
    embeddings.close()
    return runs


def ivf_cells(embeddings: Any) -> int | None:
    """The cell count of txtai's faiss IVF index (its default above 5,000 rows), else None."""
    return getattr(getattr(embeddings.ann, "backend", None), "nlist", None)


def search(embeddings: Any, questions: list[dict], weight: float | None, base: Run) -> Run:
    """`base` with the gold ranks and time of a limit 30 search of every question."""
    started = time.perf_counter()
    with all_cores():
        results = embeddings.batchsearch([q["question"] for q in questions], limit=30,
                                         weights=weight)
    return replace(base, ranks=[gold_rank(r, q) for r, q in zip(results, questions, strict=True)],
                   search_s=time.perf_counter() - started)


def txtai_ranks(squad: list[dict], distractor_paragraphs: list[Paragraph], model_path: Path,
                hybrid: bool = True) -> list[int | None]:
    """Gold paragraph ranks (1-based, first 10 distinct paragraphs, else None) of txtai's
    hybrid (or dense only) search over the SQuAD paragraphs plus the distractors."""
    return measure(squad, distractor_paragraphs, model_path, hybrid)[0].ranks


def row(label: str, run: Run) -> list[object]:
    """A table row: recall figures, then the index's size and costs."""
    n = len(run.ranks)
    r1 = sum(1 for r in run.ranks if r == 1) / n
    r5 = sum(1 for r in run.ranks if r is not None and r <= 5) / n
    mrr = sum(1 / r for r in run.ranks if r is not None) / n
    disk = f"{run.disk_mb:.1f}" if run.disk_mb is not None else "-"
    return [label, r1, r5, mrr, run.probe, run.documents, disk, f"{run.index_s:.1f}",
            f"{1000 * run.search_s / n:.1f}"]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--squad", type=Path, default=SHARED / "squad2_dev_subset.json")
    parser.add_argument("--bbc", type=Path, default=SHARED / "bbc_news.jsonl")
    parser.add_argument("--no-bbc", action="store_true", help="no distractors (quick run)")
    parser.add_argument("--work", type=Path, default=OUT / "peers")
    parser.add_argument("--separate-dense", action="store_true",
                        help="also build a dense only index (hybrid False) and measure it")
    args = prologue(parser, argv)
    embeddings_class()  # fail early, before any work, when the extra is missing
    squad, model = load_squad(args.squad), minilm_path()
    distractors = [] if args.no_bbc else bbc_paragraphs(args.bbc)
    suffix = "" if args.no_bbc else "+bbc"
    questions = len(answerable(squad))
    print(f"txtai {version('txtai')}; model: {model}\n"
          f"{questions} answerable questions; index: SQuAD {len(squad)} articles{suffix} "
          f"({len(distractors)} distractor paragraphs)\n")
    runs = measure(squad, distractors, model, True, args.work / f"squad{suffix}-hybrid",
                   weights=(None, 1.0), exhaustive=True)
    labels = ("txtai 9.x hybrid (MiniLM, paragraphs)",
              "txtai dense only (same index, hybrid weight 1.0)")
    rows = [row(labels[n % 2], run) for n, run in enumerate(runs)]
    if args.separate_dense:
        rows.append(row("txtai dense only (own index, hybrid False)",
                        measure(squad, distractors, model, False,
                                args.work / f"squad{suffix}-dense")[0]))
    print(table(["retrieval", "Recall@1", "Recall@5", "MRR@10", "dense index", "documents",
                 "index MB", "index s", "search ms/q (batched)"], rows))


if __name__ == "__main__":
    main()
