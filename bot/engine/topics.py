"""Topic matching for follows: does a new article speak of a followed topic, and where."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.engine.quote import Quote, best_quote
from bot.engine.search import Hit, QueryTerms
from index import ArticleInfo, LoadedIndex


@dataclass(frozen=True)
class Topic:
    """A followed topic, encoded once (its vector and its terms) for matching many articles."""

    text: str
    vector: np.ndarray
    query: QueryTerms


def best_match(index: LoadedIndex, info: ArticleInfo, topic: Topic,
               threshold: float) -> Quote | None:
    """The article's sentence that best matches a topic, when it matches well enough: by the
    answers' confidence, or because it names every term of the topic (any spelling)."""
    vector, query = topic.vector, topic.query
    rows = np.flatnonzero(index.passage_table[:, 1] == info.row)
    best: tuple[Quote, float] | None = None
    for row in rows:
        passage_id = int(index.passage_table[row, 0])
        dense = float(index.passages.index.reconstruct(passage_id) @ vector)
        first, last = index.sentences_of.get(passage_id, (0, 0))
        sentence = float((index.sentence_vectors[first:last] @ vector).max()) if last > first \
            else dense
        quote, confidence, evidence = best_quote(index, query, vector,
                                                 Hit(passage_id, 0.0, dense, sentence))
        if evidence["quote_coverage"] >= 0.999:
            confidence = max(confidence, threshold)
        if best is None or confidence > best[1]:
            best = (quote, confidence)
    if best is None or best[1] < threshold:
        return None
    return best[0]
