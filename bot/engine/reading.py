"""Reading the best candidate sentences with the trained reader (the `reader` package): a
cross-encoder that reads the question against each sentence with its neighbours and its
article's title, so that "Which show was renewed?" can prefer the sentence that names the show
over the one that merely restates the question.

The bi-encoder and the fitted features (`bot.engine.ranking`) rank every sentence of the
retrieved passages cheaply; the reader, which costs a model pass per sentence, reads only the
best `Reader.max_candidates` of them (the number its latency budget allows) and its probability
becomes one more ranking feature ("reader"; its weight, and why not the joint refit of
`benchmarks.fit_support`, beside SENTENCE_WEIGHTS). Sentences it does not read keep 0: they
ranked below those it read.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from bot.engine.ranking import PassageSentences, passage_sentences
from bot.engine.search import Hit, QueryTerms
from index import IndexView
from reader import Candidate, Reader

# The reader is trained on English text (MiniLM's vocabulary): questions in other languages
# are ranked on the other features alone.
READ_LANGUAGES = frozenset({"en"})


def reads(question_language: str | None) -> bool:
    """Whether the reader reads a question in this language (undetected counts as English)."""
    return question_language is None or question_language in READ_LANGUAGES


def ranked_and_read(index: IndexView, query: QueryTerms, vector: np.ndarray, hits: list[Hit],
                    reader: Reader | None) -> tuple[list[PassageSentences], float]:
    """The retrieved passages' sentences with their ranking evidence, the best of them read
    by the `reader` when there is one and it reads the question's language; and the reader's
    time in milliseconds."""
    found = [passage_sentences(index, query, vector, hit) for hit in hits]
    started = time.perf_counter()
    if reader is not None and reads(query.language):
        read_best(reader, index, query.text, found)
    return found, (time.perf_counter() - started) * 1000


def read_best(reader: Reader, index: IndexView, question: str,
              found: Sequence[PassageSentences]) -> None:
    """Score the best-ranked sentences of `found` with the reader, in one batch, and store
    each probability in that sentence's "reader" feature."""
    # max_candidates is 8 (reader.json): the ranking before the reader holds an answering
    # sentence among its best 8 for 94 % of the news fit half's questions, and reading 8 kept
    # the reader under 1.5x a bare question encode where 10 did not (docs/reader.md).
    pool = best_sentences(found, reader.max_candidates)
    if not pool:
        return
    candidates = [candidate(index, found[i], j) for i, j in pool]
    # One model call for the whole batch: the budget above was measured so (K x max length).
    probabilities = reader.score(question, candidates)
    for (i, j), probability in zip(pool, probabilities, strict=True):
        found[i].features[j]["reader"] = float(probability)


def best_sentences(found: Sequence[PassageSentences], count: int) -> list[tuple[int, int]]:
    """(passage, sentence) positions of the `count` best-ranked sentences that are not
    fragments (a heading or caption is never quoted alone, so it is not worth reading)."""
    scored = [(score, i, j) for i, passage in enumerate(found)
              for j, score in enumerate(passage.scores()) if not passage.fragment[j]]
    ranked = sorted(scored, reverse=True)
    return [(i, j) for _, i, j in ranked[:count]]


def candidate(index: IndexView, passage: PassageSentences, j: int) -> Candidate:
    """Sentence `j` of a passage as the reader reads it: with the sentences either side of it
    in the same paragraph, and its article's title (where a restated question's subject is
    often named)."""
    def text(k: int) -> str:
        # A neighbour across a paragraph break is another subject: the reader gets "" instead.
        same_paragraph = 0 <= k < len(passage.spans) and (
            passage.paragraph[k] == passage.paragraph[j])
        if not same_paragraph:
            return ""
        start, end = passage.spans[k]
        return passage.text[start:end]

    return Candidate(title=index.articles[passage.article_row].title, before=text(j - 1),
                     sentence=text(j), after=text(j + 1))
