"""Topic matching for follows: does a new article speak of a followed topic, and where.

An article matches when its title or lead names the topic (every word of it, in any spelling
the index knows: "Lybia" finds "Libya"), when one of its sentences names the whole topic, or,
for a sentence-long topic (SENTENCE_TOPIC_WORDS words), when a sentence matches it with the
answers' confidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.engine.cosines import similarities
from bot.engine.lookups import lead, quote_at
from bot.engine.quote import MIN_STANDALONE_WORDS, Quote, best_quote
from bot.engine.ranking import sentence_stems, title_stems
from bot.engine.search import Hit, QueryTerms
from bot.engine.text import terms
from index import ArticleInfo, IndexView, sentences, word_count

NAMED = 0.999  # share of a topic's (idf-weighted) words a text must hold to name it
SENTENCE_TOPIC_WORDS = 4  # a topic this long may match by meaning; a shorter one must be named


def topic_words(text: str) -> list[str]:
    """The words of a topic that articles are searched for (none for "The Who" or "many")."""
    return terms(text)


@dataclass(frozen=True)
class Topic:
    """A followed topic, encoded once (its vector and its terms) for matching many articles."""

    text: str
    vector: np.ndarray
    query: QueryTerms


def best_match(index: IndexView, info: ArticleInfo, topic: Topic,
               threshold: float) -> Quote | None:
    """The article's sentence that best matches a topic, when the article is about it: its
    headline or lead names the topic, a sentence names it, or (by the answers' confidence
    against `threshold`) a sentence says what a sentence-long topic says."""
    headline = _named_in_lead(index, info, topic.query)
    if headline is not None:
        return headline
    vector, query = topic.vector, topic.query
    by_meaning = len(query.stems) >= SENTENCE_TOPIC_WORDS
    best: tuple[Quote, float] | None = None
    for passage_id in index.article_passages(info.row):
        dense = float(similarities(index, index.passage_vector(passage_id) @ vector))
        sentence_vectors = index.sentence_vectors(passage_id)
        sentence = (float(similarities(index, sentence_vectors @ vector).max())
                    if len(sentence_vectors) else dense)
        # Every passage of the article is quoted as if retrieved: no fusion score (0.0), only
        # the similarities that the quote's confidence reads.
        quote, confidence, evidence = best_quote(index, query, vector,
                                                 Hit(passage_id, 0.0, dense, sentence))
        # A sentence that names the whole topic matches whatever its similarity.
        if evidence["quote_coverage"] >= NAMED:
            confidence = max(confidence, threshold)
        elif not by_meaning:
            continue
        if best is None or confidence > best[1]:
            best = (quote, confidence)
    if best is None or best[1] < threshold:
        return None
    return best[0]


def _named_in_lead(index: IndexView, info: ArticleInfo, query: QueryTerms) -> Quote | None:
    """The lead's sentence that names most of the topic, when the title and the lead together
    name all of it; None otherwise."""
    opening = lead(index, info.article_id)
    if opening is None or not query.stems:
        return None
    text = index.article_text(info.row)
    spans = sentences(text, opening.start, opening.end) or []
    held = [sentence_stems(index, info.row, text, s.start, s.end) for s in spans]
    if query.coverage(title_stems(index, info.row).union(*held)) < NAMED:
        return None
    if not spans:
        return opening
    # Preferred: a sentence long enough to stand alone, then the one naming most of the
    # topic, then the earliest.
    best = max(range(len(spans)), key=lambda i: (
        word_count(text[spans[i].start:spans[i].end]) >= MIN_STANDALONE_WORDS,
        query.coverage(held[i]), -i))
    return quote_at(info, text, spans[best].start, spans[best].end, opening.paragraph, 1.0)
