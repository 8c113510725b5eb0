"""Training groups: one question against a few candidates, each labelled 1 when the candidate
sentence holds the answer and 0 otherwise.

Answerable groups put the sentence holding the answer beside hard negatives: the other sentences
of its paragraph (among them the one restating the question), the article's sentences sharing
most words with the question, the same sentence with its answer taken out (it still restates the
question: the failure the reader exists for), and a sentence of another article sharing words
with the question. Unanswerable groups teach abstention: the question with its subject swapped
for another article's name against the paragraph that answered the original, and the question
against another article's closest sentences."""

from __future__ import annotations

import heapq
import random
import re
from dataclasses import dataclass, field
from typing import Any

from index import sentences
from reader.text import Candidate

GROUP = 6  # candidates per question: every batch is whole groups
_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = set("""a an the of in on at to for from by with and or but is are was were be been
being what which who whom whose when where why how did does do done has have had that this
these those it its as into than then there their they he she his her him i you we our not no
many much one year years can could would should may might will also""".split())
_NAME = re.compile(r"\b(?:[A-Z][\w'-]+)(?:\s+(?:of\s+|the\s+)?[A-Z][\w'-]+)*")
_FILLERS = {"number": "a number of", "name": "someone", "other": "something"}


@dataclass
class Group:
    question: str
    candidates: list[Candidate] = field(default_factory=list)
    labels: list[float] = field(default_factory=list)
    kind: str = "answerable"  # or "swapped" / "other-article": no candidate answers

    def add(self, candidate: Candidate, label: float) -> None:
        if candidate not in self.candidates and len(self.candidates) < GROUP:
            self.candidates.append(candidate)
            self.labels.append(label)


@dataclass
class Paragraph:
    title: str
    sentences: list[str]
    words: list[set[str]] = field(default_factory=list)  # each sentence's content words

    def __post_init__(self) -> None:
        self.words = [content_words(s) for s in self.sentences]

    def candidate(self, i: int, sentence: str | None = None) -> Candidate:
        return Candidate(self.title, self.sentences[i - 1] if i > 0 else "",
                         self.sentences[i] if sentence is None else sentence,
                         self.sentences[i + 1] if i + 1 < len(self.sentences) else "")


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def split_paragraph(title: str, context: str) -> tuple[Paragraph, list[tuple[int, int]]]:
    spans = sentences(context)
    return (Paragraph(title.replace("_", " "), [context[s.start:s.end] for s in spans]),
            [(s.start, s.end) for s in spans])


def answer_sentence(context: str, spans: list[tuple[int, int]], answer: str) -> int | None:
    """The sentence holding the answer's first occurrence, None when none holds it whole."""
    at = context.find(answer) if answer else -1
    if at < 0:
        return None
    return next((i for i, (s, e) in enumerate(spans) if s <= at and at + len(answer) <= e), None)


def answer_kind(answer: str) -> str:
    if any(ch.isdigit() for ch in answer):
        return "number"
    return "name" if answer[:1].isupper() else "other"


def closest(question: str, pool: list[tuple[Paragraph, int]], n: int,
            skip: set[str]) -> list[Candidate]:
    """The `n` candidates of `pool` sharing most content words with the question."""
    words = content_words(question)
    scored = heapq.nlargest(n + len(skip), pool, key=lambda pi: len(words & pi[0].words[pi[1]]))
    found = [p.candidate(i) for p, i in scored if p.sentences[i] not in skip]
    return found[:n]


class PairBuilder:
    """Groups from the training articles, seeded."""

    def __init__(self, articles: list[dict[str, Any]], seed: int):
        self.rng = random.Random(seed)
        self.source = articles
        self.cache: dict[int, list[tuple[Paragraph, list[tuple[int, int]], str, Any]]] = {}
        self.pools: dict[int, list[tuple[Paragraph, int]]] = {}
        self.names = [n for a in articles for p in a["paragraphs"] for qa in p["qas"]
                      for n in qa["answers"][:1] if answer_kind(n) == "name" and len(n) < 40]

    def article(self, n: int) -> list[tuple[Paragraph, list[tuple[int, int]], str, Any]]:
        """An article's paragraphs split into sentences (once: split on first use)."""
        if n not in self.cache:
            source = self.source[n]
            self.cache[n] = [(*split_paragraph(source["title"], p["context"]), p["context"],
                              p["qas"]) for p in source["paragraphs"]]
        return self.cache[n]

    def sentence_pool(self, article: int) -> list[tuple[Paragraph, int]]:
        if article not in self.pools:
            self.pools[article] = [(p, i) for p, *_ in self.article(article)
                                   for i in range(len(p.sentences))]
        return self.pools[article]

    def other_pool(self, article: int, size: int = 60) -> list[tuple[Paragraph, int]]:
        other = self.rng.choice([a for a in self.rng.sample(range(len(self.source)), 2)
                                 if a != article])
        pool = self.sentence_pool(other)
        return self.rng.sample(pool, min(size, len(pool)))

    def answerable(self, article: int, para: Paragraph, spans: list[tuple[int, int]],
                   context: str, qa: dict[str, Any],
                   article_pool: list[tuple[Paragraph, int]]) -> Group | None:
        answer = qa["answers"][0] if qa["answers"] else ""
        at = answer_sentence(context, spans, answer)
        if at is None:
            return None
        group = Group(qa["question"])
        group.add(para.candidate(at), 1.0)
        sentence = para.sentences[at]
        removed = sentence.replace(answer, _FILLERS[answer_kind(answer)], 1)
        if answer not in removed:  # the answer stood once: the sentence now only restates
            group.add(para.candidate(at, removed), 0.0)
        same = [i for i in range(len(para.sentences)) if i != at and answer not in
                para.sentences[i]]
        for cand in closest(qa["question"], [(para, i) for i in same], 2, {sentence}):
            group.add(cand, 0.0)
        pool = [(p, i) for p, i in article_pool if p is not para and answer not in p.sentences[i]]
        for cand in closest(qa["question"], pool, 1, {sentence}):
            group.add(cand, 0.0)
        for cand in closest(qa["question"], self.other_pool(article), 1, set()):
            group.add(cand, 0.0)
        self.fill(group, pool, answer)
        return group

    def swapped(self, para: Paragraph, qa: dict[str, Any]) -> Group | None:
        """The question about another name than the paragraph's (SQuAD 2.0's recipe for
        unanswerable questions): its paragraph's sentences answer none of it."""
        names = [m for m in _NAME.findall(qa["question"]) if m.split()[0].lower() not in _STOP
                 and m in " ".join(para.sentences)]
        if not names:
            return None
        target = self.rng.choice(names)
        replacement = self.rng.choice(self.names)
        if replacement.lower() in " ".join(para.sentences).lower():
            return None
        group = Group(qa["question"].replace(target, replacement, 1), kind="swapped")
        for cand in closest(group.question, [(para, i) for i in range(len(para.sentences))],
                            GROUP, set()):
            group.add(cand, 0.0)
        return group

    def other_article(self, article: int, qa: dict[str, Any]) -> Group:
        group = Group(qa["question"], kind="other-article")
        for cand in closest(qa["question"], self.other_pool(article, 200), GROUP, set()):
            group.add(cand, 0.0)
        return group

    def fill(self, group: Group, pool: list[tuple[Paragraph, int]], answer: str) -> None:
        """Random sentences of the article until the group is whole."""
        tries = 0
        while len(group.candidates) < GROUP and pool and tries < 20:
            para, i = self.rng.choice(pool)
            if answer not in para.sentences[i]:
                group.add(para.candidate(i), 0.0)
            tries += 1

    def groups(self, article: int, swapped_share: float = 0.15,
               other_share: float = 0.08) -> list[Group]:
        """Every answerable question of an article, plus a share of unanswerable ones."""
        out = []
        pool = self.sentence_pool(article)
        for para, spans, context, qas in self.article(article):
            for qa in qas:
                group = self.answerable(article, para, spans, context, qa, pool)
                if group is not None and len(group.candidates) == GROUP:
                    out.append(group)
                draw = self.rng.random()
                extra = (self.swapped(para, qa) if draw < swapped_share else
                         self.other_article(article, qa) if draw < swapped_share + other_share
                         else None)
                if extra is not None and len(extra.candidates) == GROUP:
                    out.append(extra)
        return out
