"""Ranking the sentences of retrieved passages as answers: one linear score over evidence of
the passage (its similarity, its best sentence's, the lexical ranking, how much of the
question its article's title holds) and of the sentence (its similarity, the question's terms
it holds, whether it holds the kind of answer asked for, whether it opens the article).

The weights were fitted listwise (the answering sentence against the others retrieved for the
same question) on the "fit" halves of the news and SQuAD benchmarks, and checked on the other
halves: `python -m benchmarks.fit_support` prints them and the figures.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

from bot.engine.answer_types import AnswerType, holds_answer
from bot.engine.cosines import similarities
from bot.engine.memo import bounded
from bot.engine.search import Hit, QueryTerms
from bot.engine.text import stems, terms
from index import IndexView, is_fragment, paragraphs, word_count

# From the first listwise fit: Adam on the softmax log-likelihood of each question's answering
# sentences among every sentence of its 10 retrieved passages, news questions split by a CRC32
# of their article's id, SQuAD's by a CRC32 of the question. Later refits did not beat them on
# the fit halves (news 0.500 against 0.481: docs/benchmarks.md), so they stay. Only differences
# between one question's sentences mattered to the fit, but the scale is not free: the support
# reads the rank score's margin over other articles (`abstention.support`), so rescaling these
# moves abstention too. As fitted, the lead paragraph counts against a sentence (the answer to
# a news question more often stands further down; "title_lead" gives a little back when the
# title holds the question) and so does a short one (it is widened into its neighbours anyway).
PASSAGE_WEIGHTS = {"dense": 5.97, "sentence": 5.31, "lexical_top": 0.59, "title": 8.54}
SENTENCE_WEIGHTS = {"cosine": 4.86, "coverage": 6.29, "typed": 3.44, "lead": -1.64,
                    "title_lead": 0.48, "short": -2.92, "reader": 1.0}
# "reader" (the trained reader's probability, `bot.engine.reading`) was swept with the other
# weights held (docs/reader.md): 1.0 was best on the news fit half (the sentence holding the
# answer 0.509 -> 0.519; SQuAD's 0.837 -> 0.845) and gains as much on the test halves (0.557
# -> 0.567, 0.843 -> 0.852); 6.0 ties on the two fit halves' sum by SQuAD alone, 30 loses on
# both. The joint listwise refit (`benchmarks.fit_support`) gained less on the fit halves, so
# the other weights stay as they were fitted before the reader.
FRAGMENT_PENALTY = 10.0  # a heading or caption never stands alone as a quote
SHORT_WORDS = 8  # a sentence shorter than this is widened into its neighbours


@dataclass
class PassageSentences:
    """A retrieved passage's sentences with what ranks them (parallel lists)."""

    article_row: int
    text: str
    spans: list[tuple[int, int]]
    cosines: list[float]
    stem_sets: list[frozenset[str]]
    covers: list[float]
    typed: list[bool]
    fragment: list[bool]
    paragraph: list[int]  # 0-based paragraph of each sentence
    features: list[dict[str, float]]

    def scores(self) -> list[float]:
        """Each sentence's rank score (a fragment's far below any other)."""
        return [rank_score(f) - (FRAGMENT_PENALTY if frag else 0.0)
                for f, frag in zip(self.features, self.fragment, strict=True)]


def rank_score(features: dict[str, float]) -> float:
    """The linear rank score of a sentence's evidence."""
    return (sum(w * features[k] for k, w in PASSAGE_WEIGHTS.items())
            + sum(w * features[k] for k, w in SENTENCE_WEIGHTS.items()))


def passage_sentences(index: IndexView, query: QueryTerms, vector: np.ndarray,
                      hit: Hit) -> PassageSentences:
    """The passage's sentences and their evidence for the question."""
    article_row, _, p_start, p_end = index.passage(hit.passage_id)
    text = index.article_text(article_row)
    spans = [(int(s), int(e)) for s, e in index.sentence_spans(hit.passage_id)] or [
        (p_start, p_end)]
    sentence_vectors = index.sentence_vectors(hit.passage_id)
    # A passage stored without sentence vectors lends its own similarity to each sentence.
    cosines = ([float(c) for c in similarities(index, sentence_vectors @ vector)]
               if len(sentence_vectors) else [hit.dense] * len(spans))
    stem_sets = [sentence_stems(index, article_row, text, s, e) for s, e in spans]
    covers = [query.coverage(found) for found in stem_sets]
    typed = [query.asked is not AnswerType.ANY and holds_answer(query.asked, text[s:e], query.text)
             for s, e in spans]
    starts, fragments = article_paragraphs(index, article_row, text)
    numbers = [containing(starts, s) for s, _ in spans]
    # The lead is the first paragraph that is not a fragment (a heading or dateline precedes it).
    lead = next((i for i, frag in enumerate(fragments) if not frag), 0)
    title = query.coverage(title_stems(index, article_row))
    # "lexical_top": BM25 ranks the passage among its 3 best, as in `quote.confidence_score`.
    passage = {"dense": hit.dense, "sentence": hit.sentence, "title": title,
               "lexical_top": float(hit.lexical_rank is not None and hit.lexical_rank < 3)}
    features = [{**passage, "cosine": cos, "coverage": cov, "typed": float(kind),
                 "lead": float(number == lead), "title_lead": title * (number == lead),
                 "short": float(word_count(text[s:e]) < SHORT_WORDS),
                 "reader": 0.0}  # the reader's probability, for the sentences it reads
                for cos, cov, kind, number, (s, e)
                in zip(cosines, covers, typed, numbers, spans, strict=True)]
    return PassageSentences(article_row, text, spans, cosines, stem_sets, covers, typed,
                            [fragments[n] for n in numbers], numbers, features)


def sentence_stems(index: IndexView, article_row: int, text: str, start: int,
                   end: int) -> frozenset[str]:
    """A sentence's stems, computed once per index version (the same sentences come back)."""
    # Keyed by offsets, which stay true while the version does: a new version starts with an
    # empty memo, and `bounded` starts this one over past MEMO_LIMIT sentences.
    cache, key = bounded(index, "stems"), (article_row, start, end)
    found = cache.get(key)
    if found is None:
        found = cache[key] = frozenset(stems(terms(text[start:end])))
    return found  # type: ignore[return-value]


def title_stems(index: IndexView, article_row: int) -> frozenset[str]:
    """An article's title stems, once per index version."""
    cache = bounded(index, "titles")
    found = cache.get(article_row)
    if found is None:
        found = cache[article_row] = frozenset(stems(terms(index.articles[article_row].title)))
    return found  # type: ignore[return-value]


def article_paragraphs(index: IndexView, article_row: int,
                       text: str) -> tuple[list[int], list[bool]]:
    """Where an article's paragraphs start and which are fragments, once per index version."""
    cache = bounded(index, "paragraphs")
    found = cache.get(article_row)
    if found is None:
        paras = paragraphs(text)
        found = cache[article_row] = ([p.start for p in paras],
                                      [is_fragment(text, p) for p in paras])
    return found  # type: ignore[return-value]


def containing(starts: list[int], offset: int) -> int:
    """The index of the paragraph that holds `offset` (the last starting at or before it)."""
    return max(0, bisect.bisect_right(starts, offset) - 1)
