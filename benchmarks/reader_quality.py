"""The reader on the SQuAD 2.0 dev subset (evaluation only, never trained on) and its latency.

For each answerable question the candidates are the sentences of its gold paragraph and of the
4 other paragraphs nearest to the question by the bi-encoder; a candidate is right when it holds
one of the answer texts. Rankers: the bi-encoder's cosine alone, the reader alone over all the
candidates, the reader over the bi-encoder's top K (how the engine uses it), and a simple fusion
(reader probability + cosine) over the same top K. Abstention: the best reader probability
among the top K for answerable against unanswerable questions (AUC), beside the bi-encoder's
best cosine. Latency: the reader scoring K real candidates (batched, int8, 2 threads) against
a bare question encode (torch fp32), interleaved in the same run.

    python -m benchmarks.reader_quality [--squad PATH] [--weights DIR] [--neighbours 4]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from benchmarks.common import SHARED, load_squad, percentile, table
from benchmarks.runner import prologue
from index import sentences
from index.encoders import TorchEncoder
from index.settings import PACKAGED_MODEL
from reader import Candidate, Reader, load_reader
from reader.train import auc


@dataclass
class Para:
    title: str
    sentences: list[str]

    def candidates(self) -> list[Candidate]:
        s = self.sentences
        return [Candidate(self.title, s[i - 1] if i else "", s[i],
                          s[i + 1] if i + 1 < len(s) else "") for i in range(len(s))]


def paragraphs_of(articles: list[dict]) -> tuple[list[Para], list[tuple[dict, int]]]:
    paras, questions = [], []
    for article in articles:
        for p in article["paragraphs"]:
            text = p["context"]
            paras.append(Para(article["title"].replace("_", " "),
                              [text[s.start:s.end] for s in sentences(text)]))
            questions += [(qa, len(paras) - 1) for qa in p["qas"]]
    return paras, questions


@dataclass
class Corpus:
    """The dev subset's paragraphs with their vectors and their sentences' vectors."""

    paras: list[Para]
    para_vecs: np.ndarray
    sentence_vecs: list[np.ndarray]

    @classmethod
    def encode(cls, paras: list[Para], encoder: TorchEncoder) -> Corpus:
        flat = encoder.encode([s for p in paras for s in p.sentences])
        bounds = np.cumsum([0] + [len(p.sentences) for p in paras])
        return cls(paras, encoder.encode([" ".join(p.sentences) for p in paras]),
                   [flat[a:b] for a, b in pairwise(bounds)])

    def pool(self, qvec: np.ndarray, gold: int,
             neighbours: int) -> tuple[list[Candidate], np.ndarray]:
        """The gold paragraph's and the nearest other paragraphs' sentences, with cosines."""
        near = [int(i) for i in np.argsort(-(self.para_vecs @ qvec)) if i != gold][:neighbours]
        chosen = [gold, *near]
        return ([c for i in chosen for c in self.paras[i].candidates()],
                np.concatenate([self.sentence_vecs[i] for i in chosen]) @ qvec)


def holds(candidate: Candidate, answers: list[str]) -> bool:
    return any(a in candidate.sentence for a in answers)


@dataclass
class Ranked:
    choices: dict[str, int]  # each ranker's pick: an index into the pool
    top: np.ndarray  # the bi-encoder's top K
    best_p: float  # the best reader probability among the top K
    best_cos: float


def rank_question(reader: Reader, question: str, pool: list[Candidate], cos: np.ndarray,
                  k: int) -> Ranked:
    probs = np.concatenate([reader.score(question, pool[i:i + 16])
                            for i in range(0, len(pool), 16)])
    top = np.argsort(-cos)[:k]
    return Ranked({"bi-encoder": int(np.argmax(cos)), "reader (all)": int(np.argmax(probs)),
                   "reader (top K)": int(top[np.argmax(probs[top])]),
                   "fusion (top K)": int(top[np.argmax(probs[top] + cos[top])])},
                  top, float(probs[top].max()), float(cos.max()))


def quality(reader: Reader, encoder: TorchEncoder, articles: list[dict],
            neighbours: int) -> None:
    paras, questions = paragraphs_of(articles)
    corpus = Corpus.encode(paras, encoder)
    k = reader.max_candidates
    hits: dict[str, list[float]] = {}
    best_p: dict[bool, list[float]] = {True: [], False: []}
    best_cos: dict[bool, list[float]] = {True: [], False: []}
    for qa, gold in questions:
        answers = [a["text"] for a in qa["answers"]]
        pool, cos = corpus.pool(encoder.encode_query(qa["question"]), gold, neighbours)
        answerable = bool(answers) and not qa.get("is_impossible")
        if answerable and not any(holds(c, answers) for c in pool):
            continue  # the answer crosses a sentence boundary: no sentence can be right
        ranked = rank_question(reader, qa["question"], pool, cos, k)
        best_p[answerable].append(ranked.best_p)
        best_cos[answerable].append(ranked.best_cos)
        if answerable:
            hits.setdefault(f"bi-encoder recall@{k}", []).append(
                float(any(holds(pool[int(i)], answers) for i in ranked.top)))
            for name, choice in ranked.choices.items():
                hits.setdefault(name, []).append(float(holds(pool[choice], answers)))
    print(f"\nTop sentence holds the answer ({len(hits['bi-encoder'])} answerable questions, "
          f"gold paragraph + {neighbours} nearest, K = {k}):\n")
    print(table(["ranker", "hit"], [(name, float(np.mean(v))) for name, v in hits.items()]))
    print(f"\nAbstention ({len(best_p[True])} answerable, {len(best_p[False])} unanswerable; "
          "best of the top K):\n")
    print(table(["score", "mean answerable", "mean unanswerable", "AUC"], [
        ("reader probability", float(np.mean(best_p[True])), float(np.mean(best_p[False])),
         auc(np.array(best_p[True]), np.array(best_p[False]))),
        ("bi-encoder cosine", float(np.mean(best_cos[True])), float(np.mean(best_cos[False])),
         auc(np.array(best_cos[True]), np.array(best_cos[False])))]))


def latency(reader: Reader, encoder: TorchEncoder, articles: list[dict], ks: list[int],
            repeats: int) -> None:
    """Interleaved: a bare question encode, then the reader on K real candidates."""
    paras, questions = paragraphs_of(articles)
    pool = [c for p in paras for c in p.candidates()]
    rng = np.random.default_rng(0)
    rows = []
    for k in ks:
        bare, read = [], []
        for r in range(repeats + 3):
            question = questions[int(rng.integers(len(questions)))][0]["question"]
            chosen = [pool[int(i)] for i in rng.choice(len(pool), k, replace=False)]
            start = time.perf_counter()
            encoder.encode_query(question)
            middle = time.perf_counter()
            reader.score(question, chosen)
            end = time.perf_counter()
            if r >= 3:  # warm-up
                bare.append((middle - start) * 1000)
                read.append((end - middle) * 1000)
        rows.append((k, float(np.median(bare)), float(np.median(read)),
                     percentile(read, 95), float(np.median(read) / np.median(bare))))
    print(f"\nLatency (ms; {repeats} interleaved runs each; reader int8, 2 threads, "
          f"max {reader.config.max_length} tokens):\n")
    print(table(["K", "bare question encode p50", "reader p50", "reader p95",
                 "reader / bare"], rows))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--squad", type=Path, default=SHARED / "squad2_dev_subset.json")
    parser.add_argument("--weights", type=Path, default=None, help="default: the shipped ones")
    parser.add_argument("--neighbours", type=int, default=4)
    parser.add_argument("--latency-k", default="5,8,10")
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--latency-only", action="store_true")
    args = prologue(parser, argv)
    reader = load_reader(args.weights)
    if reader is None:
        raise SystemExit("no reader: see the warning above")
    encoder = TorchEncoder(PACKAGED_MODEL)
    articles = load_squad(args.squad)
    latency(reader, encoder, articles, [int(k) for k in args.latency_k.split(",")], args.repeats)
    if not args.latency_only:
        quality(reader, encoder, articles, args.neighbours)


if __name__ == "__main__":
    main()
