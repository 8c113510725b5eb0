"""Retrieval, quoting, abstention and latency of the answering engine on SQuAD (+ BBC distractors).

    .venv/bin/python -m benchmarks.answer_quality [--squad F] [--bbc F] [--no-bbc] [--work DIR]
        [--compare-fp32] [--peers] [--latency-only]
    .venv/bin/python -m benchmarks.answer_quality --languages en,ar,de,es,ru,zh [...]
        (then benchmarks.languages with those question languages: XQuAD, both models)

Indexes are cached under --work and updated incrementally, so a rerun embeds nothing new.
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    OUT,
    SHARED,
    answerable,
    gold_paragraph_rank,
    load_squad,
    percentile,
    table,
    write_squad_corpus,
)
from benchmarks.peers import bbc_paragraphs, minilm_path, txtai_ranks
from benchmarks.runner import Encoders, build, engine_over, prologue, show
from bot.engine import Engine
from bot.engine.abstention import calibration  # the fitted default threshold
from bot.engine.search import Hit  # the retrieval modes are measured below the facade
from bot.settings import Settings
from index import IndexUnavailableError, LoadedIndex
from index.encoders import (
    Encoder,
    TorchEncoder,
    cpu_flags,
    native_bf16,
    question_candidates,
)

LEFT_OUT = ("Sky_(United_Kingdom)", "Victoria_(Australia)")
MODES = ("dense", "lexical", "hybrid")


def paragraph_ranks(engine: Engine, questions: list[dict], mode: str) -> list[int | None]:
    """1-based rank of the gold paragraph among the first 10 distinct paragraphs, or None."""
    index, retriever = engine.index, engine.retriever
    assert index is not None, "the engine has no index loaded"
    ranks = []
    for q in questions:
        vector = engine.encoder.encode_query(q["question"])
        hits = retriever.search(vector, retriever.query_terms(q["question"]), k=30, mode=mode)
        ranks.append(_rank(index, hits, q))
    return ranks


def _rank(index: LoadedIndex, hits: list[Hit], q: dict) -> int | None:
    """1-based rank of the question's gold paragraph among the hits' first 10 paragraphs."""
    passages = (index.passage(hit.passage_id) for hit in hits)
    return gold_paragraph_rank(((index.articles[row].article_id, paragraph)
                                for row, paragraph, _, _ in passages), q)


def recall_row(label: str, ranks: list[int | None]) -> list[object]:
    n = len(ranks)
    r1 = sum(1 for r in ranks if r == 1) / n
    r5 = sum(1 for r in ranks if r is not None and r <= 5) / n
    mrr = sum(1 / r for r in ranks if r is not None) / n
    return [label, r1, r5, mrr]


def engine_answers(engine: Engine, questions: list[dict]) -> list[dict]:
    """The engine's answer to each question with abstention off, plus its evidence."""
    rows = []
    for q in questions:
        answer = engine.answer(q["question"], limit=10)
        first = answer.quotes[0] if answer.quotes else None
        order: list[tuple[str, int]] = []
        for quote in answer.quotes:
            if (quote.article_id, quote.paragraph) not in order:
                order.append((quote.article_id, quote.paragraph))
        rows.append({
            "question": q["question"],
            "confidence": answer.evidence.get("support", 0.0),
            "evidence": answer.evidence,
            "hit": bool(first and any(a in first.text for a in q["answers"])),
            "words": len(first.text.split()) if first else 0,
            "rank": order.index(gold) + 1 if (gold := (q["article_id"], q["paragraph"]))
            in order else None,
        })
    return rows


def abstention_rows(label: str, inside: list[dict], outside: list[dict],
                    thresholds: list[float]) -> list[list[object]]:
    rows = []
    for t in thresholds:
        abstain_out = sum(r["confidence"] < t for r in outside) / len(outside)
        false_in = sum(r["confidence"] < t for r in inside) / len(inside)
        rows.append([label, t, abstain_out, false_in])
    return rows


def latency(engines: dict[str, Engine], bare_model: Any,
            questions: list[dict]) -> list[list[object]]:
    """Per question encoder: the engine's p50/p95 by stage, against a bare torch fp32
    `SentenceTransformer.encode([question])` measured interleaved in the same run."""
    bare: list[float] = []
    totals: dict[str, list[float]] = {name: [] for name in engines}
    parts = {name: {"encode_ms": [], "search_ms": [], "select_ms": []} for name in engines}
    for q in questions:
        start = time.perf_counter()
        bare_model.encode([q["question"]], normalize_embeddings=True)
        bare.append((time.perf_counter() - start) * 1000)
        for name, engine in engines.items():
            answer = engine.answer(q["question"])
            totals[name].append(answer.latency_ms)
            for key in parts[name]:
                parts[name][key].append(answer.timings.get(key, 0.0))
    p95_bare = percentile(bare, 95)
    rows = [["bare torch fp32 SentenceTransformer.encode([q])", percentile(bare, 50), p95_bare,
             1.0]]
    for name in engines:
        for key, values in parts[name].items():
            rows.append([f"{name}: {key[:-3]}", percentile(values, 50), percentile(values, 95),
                         percentile(values, 95) / p95_bare])
        rows.append([f"{name}: whole answer", percentile(totals[name], 50),
                     percentile(totals[name], 95), percentile(totals[name], 95) / p95_bare])
    return rows


def plot(rows_by_label: dict[str, list[list[object]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    for label, rows in rows_by_label.items():
        ax.plot([r[3] for r in rows], [r[2] for r in rows], marker=".", label=label)
    ax.set_xlabel("false abstention (answerable, indexed articles)")
    ax.set_ylabel("abstention on questions about left-out articles")
    ax.set_title("Abstention threshold sweep")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def peer_rows(squad: list[dict], distractors: list[Path]) -> list[list[object]]:
    """txtai 9.x hybrid search (same MiniLM model, a document per paragraph) on the same
    questions and articles, for the retrieval table (needs the `peers` extra)."""
    paragraphs = [p for path in distractors for p in bbc_paragraphs(path)]
    return [recall_row("txtai 9.x hybrid (same model, paragraphs)",
                       txtai_ranks(squad, paragraphs, minilm_path(), hybrid=True))]


def first_quote_row(answers: list[dict], threshold: float) -> list[object]:
    """Recall@1 as users see it: abstentions (at `threshold`) count as misses."""
    return recall_row(f"engine with abstention at {threshold} (an abstention is a miss)",
                      [a["rank"] if a["confidence"] >= threshold else None for a in answers])


def evaluate(label: str, encoder: Encoder, question_encoder: Encoder, squad: list[dict],
             distractors: list[Path], work: Path, threshold: float | None,
             peers: bool = False) -> dict[str, Any]:
    """Build the three indexes with `encoder` and measure retrieval, quoting and abstention
    with `question_encoder`; prints the tables and returns the headline figures."""
    tag = "" if label == "auto" else f"-{label}"
    suffix = "+bbc" if distractors else ""
    full = build(f"squad5{suffix}{tag}", [work / "corpora" / "squad5", *distractors], work,
                 encoder)
    three_plus = build(f"squad3{suffix}{tag}", [work / "corpora" / "squad3", *distractors],
                       work, encoder, seed_from=f"squad5{suffix}{tag}")
    three = build(f"squad3{tag}", [work / "corpora" / "squad3"], work, encoder)
    questions = answerable(squad)
    print(f"\n[{label}: passages {encoder.backend}, questions {question_encoder.backend}] "
          f"{len(questions)} answerable questions; index: SQuAD 5 articles{suffix}\n")
    engine = engine_over(full, question_encoder)
    rows = [recall_row(f"{mode} (RRF order)" if mode == "hybrid" else mode,
                       paragraph_ranks(engine, questions, mode)) for mode in MODES]
    answers = engine_answers(engine, questions)
    rows.append(recall_row("engine (hybrid, reranked by the fitted rank score)",
                           [a["rank"] for a in answers]))
    current = threshold if threshold is not None else calibration(engine.encoder.name).threshold
    rows.append(first_quote_row(answers, current))
    name = f"answer_quality_{label}{'_bbc' if distractors else ''}"
    show(name, table(["retrieval", "Recall@1", "Recall@5", "MRR@10"], rows))
    hit = sum(a["hit"] for a in answers) / len(answers)
    words = float(np.mean([a["words"] for a in answers]))
    print(f"\nQuote hit rate (first quote contains the gold answer): {hit:.3f}; "
          f"mean quote length {words:.1f} words")
    indexes = {"3 SQuAD articles": three, f"3 SQuAD articles{suffix}": three_plus}
    sweeps, at, details = abstention(indexes, question_encoder, questions, current)
    details["full"] = answers
    work.mkdir(parents=True, exist_ok=True)
    plot(sweeps, work / f"abstention{tag}.png")
    (work / f"details{tag}.json").write_text(json.dumps(details, indent=1, default=str))
    if peers:  # last: txtai's FAISS settings must not touch the engine's measurements
        print("\nPeer, same questions and articles (same run)")
        print(table(["retrieval", "Recall@1", "Recall@5", "MRR@10"],
                    [rows[-2], *peer_rows(squad, distractors)]))
    figures = {"Recall@1": rows[-2][1], "Recall@5": rows[-2][2], "MRR@10": rows[-2][3],
               "quote hit": hit, "mean quote words": words}
    for row in at:
        figures[f"abstained on left-out, {row[0]}"] = row[2]
        figures[f"false abstention, {row[0]}"] = row[3]
    figures["engine"] = engine
    return figures


def abstention(indexes: dict[str, Settings], question_encoder: Encoder, questions: list[dict],
               current: float) -> tuple[dict[str, list[list[object]]], list[list[object]],
                                        dict[str, list[dict]]]:
    """On the indexes without the left-out articles: abstention on questions about them and
    false abstention on the others, swept over thresholds and at `current`; prints both
    tables and returns (sweeps, rows at `current`, each index's answers)."""
    left_out_ids = {f"squad:{t}" for t in LEFT_OUT}
    thresholds = [round(x, 3) for x in np.arange(current - 0.6, current + 0.61, 0.1)]
    sweeps: dict[str, list[list[object]]] = {}
    at: list[list[object]] = []
    details: dict[str, list[dict]] = {}
    for name, settings in indexes.items():
        sub = Engine(settings, encoder=question_encoder)
        sub.load()
        result = engine_answers(sub, questions)
        inside = [r for r, q in zip(result, questions, strict=True)
                  if q["article_id"] not in left_out_ids]
        outside = [r for r, q in zip(result, questions, strict=True)
                   if q["article_id"] in left_out_ids]
        sweeps[name] = abstention_rows(name, inside, outside, thresholds)
        at.append(abstention_rows(name, inside, outside, [current])[0])
        details[name] = result
    headers = ["index", "threshold", "abstained on left-out", "false abstention"]
    print(f"\nAbstention at the threshold {current} "
          "(left-out: answerable questions about the 2 articles not indexed)")
    print(table(headers, at))
    print("\nThreshold sweep")
    print(table(headers, [row for rows_ in sweeps.values() for row in rows_]))
    return sweeps, at, details


def run_with_languages(argv: list[str]) -> None:
    """`--languages en,ar,...`: the SQuAD tables, then benchmarks.languages' tables for those
    question languages (its own flags --xquad, --bbc-articles, --models, --fit and
    --max-false-abstention pass through; --bbc goes to both)."""
    own = argparse.ArgumentParser(add_help=False)
    own.add_argument("--languages", required=True)
    for flag in ("--xquad", "--bbc-articles", "--models", "--max-false-abstention"):
        own.add_argument(flag)
    own.add_argument("--fit", action="store_true")
    args, rest = own.parse_known_args(argv)
    main(rest)
    forwarded = ["--question-languages", args.languages]
    for flag in ("xquad", "bbc_articles", "models", "max_false_abstention"):
        if getattr(args, flag) is not None:
            forwarded += [f"--{flag.replace('_', '-')}", getattr(args, flag)]
    if "--bbc" in rest:
        forwarded += ["--bbc", rest[rest.index("--bbc") + 1]]
    sys.argv = ["benchmarks.languages", *forwarded, *(["--fit"] if args.fit else [])]
    runpy.run_module("benchmarks.languages", run_name="__main__", alter_sys=True)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if "--languages" in argv:  # questions in several languages: benchmarks/languages.py
        run_with_languages(argv)
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--squad", type=Path, default=SHARED / "squad2_dev_subset.json")
    parser.add_argument("--bbc", type=Path, default=SHARED / "bbc_news.jsonl")
    parser.add_argument("--no-bbc", action="store_true", help="no distractors (quick run)")
    parser.add_argument("--work", type=Path, default=OUT / "answer_quality")
    parser.add_argument("--threshold", type=float, default=None,
                        help="abstention threshold to report (default: the setting)")
    parser.add_argument("--compare-fp32", action="store_true",
                        help="also build and measure an all torch fp32 pipeline, side by side")
    parser.add_argument("--peers", action="store_true",
                        help="add txtai 9.x hybrid's Recall@1 on the same data (extra: peers)")
    parser.add_argument("--latency-only", action="store_true",
                        help="only the latency table (on the auto index, built if needed)")
    args = prologue(parser, argv)
    squad, work = load_squad(args.squad), args.work
    write_squad_corpus(squad, work / "corpora" / "squad5")
    write_squad_corpus([a for a in squad if a["title"] not in LEFT_OUT],
                       work / "corpora" / "squad3")
    distractors = [] if args.no_bbc else [args.bbc]
    encoders = Encoders(work, share_fp32=True)
    defaults = encoders.defaults
    encoder = encoders.passages  # ENCODER_BACKEND=auto: by the CPU's flags
    fp32 = encoders.fp32
    question_encoder = encoders.questions
    print(f"passage encoder: {encoder.backend}; question encoder: {question_encoder.backend}")
    if args.latency_only:
        settings = build("squad5+bbc" if distractors else "squad5",
                         [work / "corpora" / "squad5", *distractors], work, encoder)
        print_latency(defaults, settings, work, fp32, question_encoder, squad)
        return
    results = {"auto": evaluate("auto", encoder, question_encoder, squad, distractors, work,
                                args.threshold, args.peers)}
    if args.compare_fp32:
        results["fp32"] = evaluate("fp32", fp32, fp32, squad, distractors, work, args.threshold)
        print("\nQuality, auto against an all torch fp32 pipeline (same run)")
        print(table(["metric", "torch fp32", "auto", "auto - fp32"],
                    [[key, results["fp32"][key], value, value - results["fp32"][key]]
                     for key, value in results["auto"].items() if key != "engine"]))

    settings = results["auto"]["engine"].settings
    print_latency(defaults, settings, work, fp32, question_encoder, squad)


def print_latency(defaults: Settings, settings: Settings, work: Path, fp32: TorchEncoder,
                  question_encoder: Encoder, squad: list[dict]) -> None:
    print("\nLatency per question, warm (ms), per question encoder on the auto index (auto "
          f"chose {question_encoder.backend})")
    engines = {}
    for backend, candidate in question_encoders(defaults, work, fp32).items():
        engine = Engine(settings, encoder=candidate)
        try:
            engine.load()
        except IndexUnavailableError as err:  # disagrees with the passage vectors
            print(f"{backend}: not compatible with this index ({err})")
            continue
        engines[backend] = engine
    show("answer_quality_latency", table(["stage", "p50", "p95", "p95 / bare encode p95"],
                                         latency(engines, fp32.model, answerable(squad))))


def question_encoders(defaults: Settings, work: Path,
                      fp32: TorchEncoder) -> dict[str, Encoder]:
    """The question encoders `auto` chooses from, and torch bf16 where the CPU has it."""
    found: dict[str, Encoder] = {c.backend: c for c in question_candidates(fp32, work)}
    if native_bf16(cpu_flags()):
        bf16 = TorchEncoder(defaults.embedding_model)
        bf16.to_bf16()
        found["torch-bf16"] = bf16
    return found


if __name__ == "__main__":
    main()
