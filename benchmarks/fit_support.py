"""Fit the answer ranking and the abstention support on the "fit" halves of the news and SQuAD
benchmarks, and report both on the other halves.

    .venv/bin/python -m benchmarks.fit_support [--questions F] [--squad F] [--work DIR]
        [--max-false-abstention 0.05]

1. Ranking: every sentence of the passages retrieved for a question is a candidate; the weights
   of `bot.engine.ranking` are fitted listwise (softmax over a question's candidates, the
   answering sentences as the target: the news answer phrase, SQuAD's gold paragraph).
2. Support: with those weights, the evidence of each question's best quote is fitted by
   logistic regression (answerable news questions and SQuAD questions about indexed articles
   against unanswerable news questions and SQuAD questions about left-out articles, those
   alone and among the BBC articles); the threshold is the highest that keeps false
   abstention within the limit on every fit half.
It prints the weights to put in `bot/engine/ranking.py` and `bot/engine/abstention.py`, and
the setting ABSTAIN_THRESHOLD.
"""

from __future__ import annotations

import argparse
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.answer_quality import LEFT_OUT
from benchmarks.common import (
    OUT,
    SHARED,
    answerable,
    load_squad,
    table,
    write_squad_corpus,
)
from benchmarks.news_quality import QUESTIONS, SEED, load_questions
from benchmarks.runner import Encoders, build, engine_over, prologue
from bot.engine import Engine, abstention, ranking, reading  # fitted below the facade
from index.encoders import Encoder

Row = dict[str, Any]
FEATURES = (*ranking.PASSAGE_WEIGHTS, *ranking.SENTENCE_WEIGHTS)
RECALL_KS = (1, 3, 5, 8, 10, 15, 20, 30)


def candidates(engine: Engine, question: str) -> list[ranking.PassageSentences]:
    """The sentences of the passages the engine retrieves for a question."""
    retriever, index = engine.retriever, engine.index
    assert index is not None
    query = retriever.query_terms(question)
    vector = engine.encoder.encode_query(question)
    hits = retriever.search(vector, query, k=10)
    return reading.ranked_and_read(index, query, vector, hits, engine.reader)[0]


def ranking_rows(engine: Engine, questions: list[Row], squad: bool) -> list[Row]:
    """Per question: each candidate sentence's features, whether it is a fragment, and whether
    it answers (holds the answer phrase; for SQuAD, stands in the gold paragraph)."""
    index = engine.index
    assert index is not None
    rows = []
    for q in questions:
        x, y, frag = [], [], []
        for found in candidates(engine, q["question"]):
            info = index.articles[found.article_row]
            for i, (s, e) in enumerate(found.spans):
                x.append([found.features[i][k] for k in FEATURES])
                frag.append(found.fragment[i])
                y.append(info.article_id == q["article_id"] and (
                    found.paragraph[i] + 1 == q["paragraph"] if squad
                    else q["answer"] in found.text[s:e]))
        rows.append({"x": np.array(x), "y": np.array(y, bool), "frag": np.array(frag, bool),
                     "split": q["split"]})
    return rows


def fit_listwise(rows: list[Row], steps: int = 300, rate: float = 0.1,
                 l2: float = 0.001) -> np.ndarray:
    """Weights maximising the softmax probability of each question's answering sentences
    (Adam on the mean log-likelihood)."""
    data = [r for r in rows if r["y"].any()]
    w = np.zeros(len(FEATURES))
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t in range(1, steps + 1):
        grad = l2 * w
        for r in data:
            z = r["x"] @ w - ranking.FRAGMENT_PENALTY * r["frag"]
            p = np.exp(z - z.max())
            p /= p.sum()
            target = p[r["y"]] / p[r["y"]].sum()
            grad -= (r["x"][r["y"]].T @ target - r["x"].T @ p) / len(data)
        m, v = 0.9 * m + 0.1 * grad, 0.999 * v + 0.001 * grad * grad
        w -= rate * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    return w


def top1(rows: list[Row], w: np.ndarray) -> float:
    """Share of questions whose best-scored candidate answers."""
    hits = [r["y"][int(np.argmax(r["x"] @ w - ranking.FRAGMENT_PENALTY * r["frag"]))]
            for r in rows if len(r["y"])]
    return float(np.mean(hits)) if hits else 0.0


def recall_at(rows: list[Row], w: np.ndarray, k: int) -> float:
    """Share of answerable questions with an answering candidate among the `k` best-scored
    (how many sentences the reader must read to see the answer)."""
    found = []
    for r in rows:
        if r["y"].any():
            order = np.argsort(-(r["x"] @ w - ranking.FRAGMENT_PENALTY * r["frag"]))
            found.append(bool(r["y"][order[:k]].any()))
    return float(np.mean(found)) if found else 0.0


def set_ranking(w: np.ndarray) -> None:
    """Use the weights `w` in this process's engine."""
    for key, value in zip(FEATURES, w.tolist(), strict=True):
        target = ranking.PASSAGE_WEIGHTS if key in ranking.PASSAGE_WEIGHTS \
            else ranking.SENTENCE_WEIGHTS
        target[key] = round(value, 2)


def support_rows(engine: Engine, questions: list[Row], source: str,
                 answers: Any) -> list[Row]:
    """Per question: its best quote's support evidence, whether it should be answered."""
    rows = []
    for q in questions:
        evidence = engine.answer(q["question"], limit=1).evidence
        rows.append({"f": np.array([evidence.get(k, 0.0) for k in abstention.SUPPORT_WEIGHTS]),
                     "y": bool(answers(q)), "source": source, "split": q["split"]})
    return rows


def fit_logistic(rows: list[Row], l2: float = 0.01) -> tuple[np.ndarray, float]:
    """Logistic regression (Newton steps) on standardised features; raw weights and bias."""
    x = np.array([r["f"] for r in rows])
    y = np.array([float(r["y"]) for r in rows])
    mu, sd = x.mean(0), x.std(0) + 1e-9
    xs = np.c_[(x - mu) / sd, np.ones(len(x))]
    w = np.zeros(xs.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-xs @ w))
        hessian = (xs * (p * (1 - p))[:, None]).T @ xs + l2 * np.eye(len(w))
        w -= np.linalg.solve(hessian, xs.T @ (p - y) + l2 * w)
    return w[:-1] / sd, float(w[-1] - (w[:-1] * mu / sd).sum())


def abstention_figures(rows: list[Row], w: np.ndarray, threshold: float) -> dict[str, float]:
    """False abstention (should answer, abstained), correct abstention (the recall of
    abstention) and the precision of abstention, per source."""
    out = {}
    for source in dict.fromkeys(r["source"] for r in rows):
        own = [r for r in rows if r["source"] == source]
        score = {id(r): float(r["f"] @ w) for r in own}
        yes, no = [r for r in own if r["y"]], [r for r in own if not r["y"]]
        out[f"{source} false abstention"] = float(np.mean([score[id(r)] < threshold
                                                           for r in yes])) if yes else 0.0
        out[f"{source} correct abstention"] = float(np.mean([score[id(r)] < threshold
                                                             for r in no])) if no else 0.0
        abstained = [r for r in own if score[id(r)] < threshold]
        out[f"{source} abstention precision"] = float(np.mean(
            [not r["y"] for r in abstained])) if abstained else 1.0
    return out


def pick_threshold(rows: list[Row], w: np.ndarray, limit: float) -> float:
    """The highest threshold keeping false abstention within `limit` for both sources."""
    scores = sorted({round(float(r["f"] @ w), 3) for r in rows})
    best = scores[0]
    for t in scores:
        figures = abstention_figures(rows, w, t)
        if max(v for k, v in figures.items() if k.endswith("false abstention")) <= limit:
            best = t
    return best


def engines(args: argparse.Namespace, encoder: Encoder,
            question_encoder: Encoder) -> dict[str, Engine]:
    """The news, SQuAD-5 and SQuAD-3 (two articles left out, alone and among the BBC
    articles) engines, built if needed."""
    squad, work = load_squad(args.squad), args.squad_work
    write_squad_corpus(squad, work / "corpora" / "squad5")
    write_squad_corpus([a for a in squad if a["title"] not in LEFT_OUT],
                       work / "corpora" / "squad3")
    settings = {"news": build("news", [args.seed, args.bbc], args.work, encoder),
                "squad5": build("squad5", [work / "corpora" / "squad5"], work, encoder),
                "squad3": build("squad3", [work / "corpora" / "squad3"], work, encoder),
                "squad3+bbc": build("squad3+bbc", [work / "corpora" / "squad3", args.bbc],
                                          work, encoder)}
    return {name: engine_over(s.model_copy(update={"abstain_threshold": -1e9}),
                              question_encoder) for name, s in settings.items()}


def squad_questions(path: Path) -> list[Row]:
    """SQuAD's answerable questions, each with its half by a hash of its text."""
    questions = answerable(load_squad(path))
    for q in questions:
        q["split"] = ("fit", "test")[zlib.crc32(q["question"].encode("utf-8")) % 2]
    return questions


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--squad", type=Path, default=SHARED / "squad2_dev_subset.json")
    parser.add_argument("--bbc", type=Path, default=SHARED / "bbc_news.jsonl")
    parser.add_argument("--seed", type=Path, default=SEED)
    parser.add_argument("--work", type=Path, default=OUT / "news_quality")
    parser.add_argument("--squad-work", type=Path, default=OUT / "answer_quality")
    parser.add_argument("--max-false-abstention", type=float, default=0.05)
    args = prologue(parser, argv)
    encoders = Encoders(args.work)
    found = engines(args, encoders.passages, encoders.questions)
    news, squad = load_questions(args.questions), squad_questions(args.squad)
    w = fit_ranking(found, news, squad)
    if w is not None:
        set_ranking(w)
    fit_abstention(found, news, squad, args.max_false_abstention)


def fit_ranking(found: dict[str, Engine], news: list[Row],
                squad: list[Row]) -> np.ndarray | None:
    """Fit the ranking weights; print top-1 answer rates, current against fitted. Returns the
    fitted weights when they beat the current ones on the fit halves (their summed rates),
    else None (the current ones stay)."""
    rows = {"news": ranking_rows(found["news"], [q for q in news if q["answerable"]], False),
            "squad": ranking_rows(found["squad5"], squad, True)}
    current = np.array([{**ranking.PASSAGE_WEIGHTS, **ranking.SENTENCE_WEIGHTS}[k]
                        for k in FEATURES])
    w = fit_listwise([r for part in rows.values() for r in part if r["split"] == "fit"])
    unread = current * np.array([k != "reader" for k in FEATURES])  # the order the reader reads in
    print("\nRecall@K of the ranking before the reader (fit halves): an answering sentence "
          "among the K best")
    print(table(["questions", *[f"K={k}" for k in RECALL_KS]],
                [[name, *[recall_at([r for r in part if r["split"] == "fit"], unread, k)
                          for k in RECALL_KS]] for name, part in rows.items()]))
    lines = []
    for name, part in rows.items():
        for split in ("fit", "test"):
            half = [r for r in part if r["split"] == split]
            lines.append([f"{name} {split} half", top1(half, current), top1(half, w)])
    print("\nRanking: share of questions whose best sentence answers")
    print(table(["questions", "current weights", "fitted weights"], lines))
    print("\nfitted:", {k: round(float(v), 2) for k, v in zip(FEATURES, w, strict=True)})
    fit_rows = [r for part in rows.values() for r in part if r["split"] == "fit"]
    better = top1(fit_rows, w) > top1(fit_rows, current)
    print("the fitted weights", "beat" if better else "do not beat",
          "the current ones on the fit halves; the support below uses",
          "the fitted ones" if better else "the current ones")
    return w if better else None


def fit_abstention(found: dict[str, Engine], news: list[Row], squad: list[Row],
                   limit: float) -> None:
    """Fit the support weights and threshold; print the figures on both halves."""
    left_out = {f"squad:{t}" for t in LEFT_OUT}
    rows = (support_rows(found["news"], news, "news", lambda q: q["answerable"])
            + support_rows(found["squad3"], squad, "squad",
                           lambda q: q["article_id"] not in left_out)
            + support_rows(found["squad3+bbc"], squad, "squad+bbc",
                           lambda q: q["article_id"] not in left_out))
    fit = [r for r in rows if r["split"] == "fit"]
    w, bias = fit_logistic(fit)
    threshold = pick_threshold(fit, w, limit)
    names = list(abstention.SUPPORT_WEIGHTS)
    print("\nsupport weights:", {k: round(float(v), 3) for k, v in zip(names, w, strict=True)},
          f"ABSTAIN_THRESHOLD {threshold:.3f} (logistic bias {bias:.3f})")
    current = np.array(list(abstention.SUPPORT_WEIGHTS.values()))
    setting = abstention.calibration(found["news"].encoder.name).threshold
    lines = []
    for split in ("fit", "test"):
        half = [r for r in rows if r["split"] == split]
        now = abstention_figures(half, current, setting)
        new = abstention_figures(half, w, threshold)
        lines += [[f"{key} ({split} half)", now[key], new[key]] for key in now]
    print(table(["metric", f"current ({setting})", "fitted"], lines))
    test = [r for r in rows if r["split"] == "test"]
    sweep = []
    for t in np.round(np.arange(threshold - 0.6, threshold + 1.81, 0.15), 3):
        figures = abstention_figures(test, w, float(t))
        sweep.append([float(t), *figures.values()])
    print("\nThreshold sweep (test halves, fitted weights)")
    print(table(["threshold", *abstention_figures(test, w, threshold)], sweep))


if __name__ == "__main__":
    main()
