"""Outlets: several publishers' own reports of the same events (and near misses: same place or
topic, another event), hand-labelled in benchmarks/data/outlets.json. Measures the story
grouping (pairs of articles: precision and recall), the answers that gain a correct "Also
reported by", the disagreement flags of /compare, and the cost per question.

    .venv/bin/python -m benchmarks.outlets [--fixture F] [--work DIR] [--repeats N]

The articles are written as corpus files with front matter and indexed with the real model.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import time
from pathlib import Path
from typing import Any

from benchmarks.common import OUT, percentile, table
from benchmarks.runner import prologue, show
from bot.engine import Engine
from bot.engine.stories import Stories
from bot.settings import Settings
from index import build_index
from index.sources import read_corpus
from tests.support.outlets import FIXTURE, write_corpus


def open_engine(fixture: dict[str, Any], work: Path) -> Engine:
    """An engine over the fixture's articles, indexed afresh in `work`."""
    shutil.rmtree(work, ignore_errors=True)
    corpus = work / "corpus"
    write_corpus(fixture["articles"], corpus)
    settings = Settings(_env_file=None, corpus_dir=corpus, data_dir=work / "data",
                        index_dir=work / "index")
    build_index(read_corpus([corpus]), settings.resolved_index_dir, settings)
    engine = Engine(settings)
    engine.load()
    return engine


def grouping(engine: Engine, fixture: dict[str, Any]) -> tuple[float, float, int, int]:
    """Precision and recall of the same-story pairs (different publishers), and how many
    pairs were found and are true."""
    stories = engine.stories()
    gold = {f"{a['id']}.md": (a["story"], a["source"]) for a in fixture["articles"]}
    true_pairs, found_pairs = set(), set()
    for first, second in itertools.combinations(sorted(gold), 2):
        if gold[first][1] == gold[second][1]:
            continue
        if gold[first][0] == gold[second][0]:
            true_pairs.add((first, second))
        story = stories.by_article.get(first)
        if story is not None and second in story.article_ids:
            found_pairs.add((first, second))
    hits = len(true_pairs & found_pairs)
    precision = hits / len(found_pairs) if found_pairs else 1.0
    return precision, hits / len(true_pairs), len(found_pairs), len(true_pairs)


def also_reported(engine: Engine, fixture: dict[str, Any]) -> tuple[int, int, int]:
    """Answers whose first quote is from the expected story; of them, those with an "Also
    reported by" from that story only (correct), and those with any."""
    story_of = {f"{a['id']}.md": a["story"] for a in fixture["articles"]}
    right_story = gained = correct = 0
    for item in fixture["questions"]:
        answer = engine.answer(item["question"])
        if answer.abstained or story_of.get(answer.quotes[0].article_id) != item["story"]:
            continue
        right_story += 1
        if answer.also_reported:
            gained += 1
            correct += all(story_of.get(q.article_id) == item["story"]
                           for q in answer.also_reported)
    return right_story, gained, correct


def flags(engine: Engine, fixture: dict[str, Any]) -> tuple[int, int, int]:
    """/compare on the hand-checked disagreements and on the other questions (where the
    outlets agree on the numbers asked for, or quote none): flags raised, right, expected."""
    expected = {item["question"]: item["kind"] for item in fixture["disagreements"]}
    asked = list(expected) + [q["question"] for q in fixture["questions"]
                              if q["question"] not in expected]
    raised = right = 0
    for question in asked:
        kinds = {kind for kind, _ in engine.compare(question).differences}
        raised += "numbers" in kinds
        right += "numbers" in kinds and expected.get(question) == "number"
    return raised, right, len(expected)


def latency(engine: Engine, fixture: dict[str, Any], repeats: int) -> tuple[float, float]:
    """Answer p95 (ms) with the stories, and with none (a plain answer), in the same run."""
    questions = [q["question"] for q in fixture["questions"]]
    timed: dict[bool, list[float]] = {True: [], False: []}
    index = engine.index
    assert index is not None
    found = engine.stories()
    for _ in range(repeats):
        for with_stories in (True, False):
            index.memo["stories"] = found if with_stories else Stories()
            for question in questions:
                started = time.perf_counter()
                engine.answer(question)
                timed[with_stories].append((time.perf_counter() - started) * 1000)
    index.memo["stories"] = found
    return percentile(timed[True], 95), percentile(timed[False], 95)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fixture", type=Path, default=FIXTURE)
    parser.add_argument("--work", type=Path, default=OUT / "outlets")
    parser.add_argument("--repeats", type=int, default=20)
    args = prologue(parser, argv)
    fixture = json.loads(args.fixture.read_text(encoding="utf-8"))
    engine = open_engine(fixture, args.work)
    started = time.perf_counter()
    precision, recall, found, true = grouping(engine, fixture)
    grouping_ms = (time.perf_counter() - started) * 1000
    right_story, gained, correct = also_reported(engine, fixture)
    raised, right, expected = flags(engine, fixture)
    with_p95, plain_p95 = latency(engine, fixture, args.repeats)
    events = len({a["story"] for a in fixture["articles"]})
    print(f"{len(fixture['articles'])} articles, {events} events (near misses included), "
          f"{len({a['source'] for a in fixture['articles']})} publishers")
    # named after the fixture: outlets.json and outlets_heldout.json are two tables
    show(args.fixture.stem, table(["measure", "value"], [
        ["story pairs: precision", f"{precision:.3f} ({found} found)"],
        ["story pairs: recall", f"{recall:.3f} (of {true})"],
        ["grouping time, ms", f"{grouping_ms:.1f}"],
        ["answers from the expected story", f"{right_story} of {len(fixture['questions'])}"],
        ["... gaining a correct Also reported by", f"{correct} of {right_story}"],
        ["... gaining any Also reported by", f"{gained} of {right_story}"],
        ["number disagreement flags: precision", f"{right / raised:.3f} ({raised} raised)"
         if raised else "no flag raised"],
        ["number disagreement flags: recall", f"{right / expected:.3f} (of {expected})"],
        ["answer p95 ms, with Also reported by", f"{with_p95:.1f}"],
        ["answer p95 ms, plain (no stories)", f"{plain_p95:.1f}"],
    ]))


if __name__ == "__main__":
    main()
