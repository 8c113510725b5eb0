"""Follow-up questions: chains of 2-4 questions about the SQuAD articles whose later questions
only make sense in context ("When did it launch its HD service?"), answered with and without
the previous exchange as context; and self-contained questions asked right after an answer,
which the context must not harm.

    .venv/bin/python -m benchmarks.followups [--squad F] [--chains F] [--bbc F]
        [--bbc-articles N] [--work DIR]

The chains are hand-written in benchmarks/data/followups.json (answers are exact spans of
their paragraph). The index holds the 5 SQuAD articles and the first --bbc-articles BBC
articles (default 500; 0: none). A hit: the first quote holds a gold answer (an abstention is
a miss); the chain's own earlier answers are the context, right or wrong, as in a chat.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import (
    OUT,
    SHARED,
    load_squad,
    table,
    write_squad_corpus,
)
from benchmarks.runner import Encoders, build, engine_over, prologue, show
from bot.engine import Answer, Engine, Exchange

CHAINS = Path(__file__).resolve().parent / "data" / "followups.json"


def hit(answer: Answer, turn: dict[str, Any]) -> bool:
    first = answer.quotes[0] if answer.quotes and not answer.abstained else None
    return bool(first and any(a in first.text for a in turn["answers"]))


def paragraph_first(answer: Answer, turn: dict[str, Any], article: str) -> bool:
    first = answer.quotes[0] if answer.quotes and not answer.abstained else None
    return bool(first and first.article_id == f"squad:{article}"
                and first.paragraph == turn["paragraph"] + 1)


def run_chains(engine: Engine, chains: list[dict]) -> dict[str, list[bool]]:
    """First-quote hits of every later turn, with the chain's context and without; and of
    the first turns (always without)."""
    result: dict[str, list[bool]] = {"first": [], "with": [], "without": [], "with_par": [],
                                     "without_par": [], "marked": []}
    for chain in chains:
        context: Exchange | None = None
        for number, turn in enumerate(chain["turns"]):
            alone = engine.answer(turn["question"])
            if number == 0:
                result["first"].append(hit(alone, turn))
                context = alone.exchange()
                continue
            followed = engine.answer(turn["question"], context=context)
            result["with"].append(hit(followed, turn))
            result["without"].append(hit(alone, turn))
            result["with_par"].append(paragraph_first(followed, turn, chain["article"]))
            result["without_par"].append(paragraph_first(alone, turn, chain["article"]))
            result["marked"].append(followed.followup_of is not None)
            context = followed.exchange() or context
    return result


def run_standalone(engine: Engine, pairs: list[dict]) -> dict[str, list[bool]]:
    """Self-contained questions right after an answer: with that answer as context, and
    without."""
    result: dict[str, list[bool]] = {"with": [], "without": [], "marked": []}
    for pair in pairs:
        context = engine.answer(pair["previous"]["question"]).exchange()
        followed = engine.answer(pair["next"]["question"], context=context)
        result["with"].append(hit(followed, pair["next"]))
        result["without"].append(hit(engine.answer(pair["next"]["question"]), pair["next"]))
        result["marked"].append(followed.followup_of is not None)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--squad", type=Path, default=SHARED / "squad2_dev_subset.json")
    parser.add_argument("--chains", type=Path, default=CHAINS)
    parser.add_argument("--bbc", type=Path, default=SHARED / "bbc_news.jsonl")
    parser.add_argument("--bbc-articles", type=int, default=500)
    parser.add_argument("--work", type=Path, default=OUT / "followups")
    args = prologue(parser, argv)
    data = json.loads(args.chains.read_text(encoding="utf-8"))
    corpus = args.work / "corpora"
    write_squad_corpus(load_squad(args.squad), corpus / "squad5")
    paths = [corpus / "squad5"]
    if args.bbc_articles:
        with open(args.bbc, encoding="utf-8") as handle:
            head = [line for _, line in zip(range(args.bbc_articles), handle, strict=False)]
        (corpus / "bbc").mkdir(parents=True, exist_ok=True)
        (corpus / "bbc" / "bbc.jsonl").write_text("".join(head), encoding="utf-8")
        paths.append(corpus / "bbc")
    encoders = Encoders(args.work)
    settings = build(f"squad5+bbc{args.bbc_articles}", paths, args.work, encoders.passages)
    engine = engine_over(settings.model_copy(update={"abstain_threshold": None}),
                         encoders.questions)
    chains, pairs = run_chains(engine, data["chains"]), run_standalone(
        engine, data["standalone_after"])
    print(f"\n{len(data['chains'])} chains, {len(chains['with'])} follow-ups; "
          f"{len(pairs['with'])} self-contained questions right after an answer; index: 5 "
          f"SQuAD articles + {args.bbc_articles} BBC articles; abstention on (fitted threshold)")
    rows = [["first questions (no context)", len(chains["first"]), np.mean(chains["first"]),
             "", "", ""],
            ["follow-ups", len(chains["with"]), np.mean(chains["without"]),
             np.mean(chains["with"]), np.mean(chains["with"]) - np.mean(chains["without"]),
             np.mean(chains["marked"])],
            ["follow-ups: right paragraph first", len(chains["with"]),
             np.mean(chains["without_par"]), np.mean(chains["with_par"]),
             np.mean(chains["with_par"]) - np.mean(chains["without_par"]), ""],
            ["self-contained, right after an answer", len(pairs["with"]),
             np.mean(pairs["without"]), np.mean(pairs["with"]),
             np.mean(pairs["with"]) - np.mean(pairs["without"]), np.mean(pairs["marked"])]]
    show("followups", table(["questions", "n", "first quote hit without context",
                             "with context", "difference", "answered as a follow-up"], rows))


if __name__ == "__main__":
    main()
