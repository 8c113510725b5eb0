"""Composing an answer from the ranked passages: each passage's best quote, reranked, held to
the abstention threshold, with the speaker's own words first for a question about a speaker,
the other outlets of the story, and who said each quote. Every text is a slice of an article.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bot.engine.abstention import calibration, dense_only, related, support
from bot.engine.followup import Exchange, context_bonus
from bot.engine.outlets import also_reported
from bot.engine.quote import MIN_STANDALONE_WORDS, Quote, best_quote
from bot.engine.reading import ranked_and_read
from bot.engine.records import Answer
from bot.engine.said import attribute, speaker_quotes, speakers_asked
from bot.engine.search import Hit, QueryTerms, Retriever
from bot.engine.stories import stories_of
from index import IndexView, same_language, word_count
from reader import Reader

__all__ = ["MORE_QUOTES_CONFIDENCE", "RECENCY_WEIGHT", "chosen", "compose", "recency_bonus",
           "speaking", "suggestions"]

MORE_QUOTES_CONFIDENCE = 0.44  # quotes after the first need this much evidence of their own
RECENCY_WEIGHT = 1.5  # for news questions, in rank-score units: the newest article gets this


def speaking(own: str, retriever: Retriever, vector: np.ndarray, limit: int,
              among: np.ndarray | None) -> list[Quote]:
    """A question about a speaker ("What did Kanounou say?"): that speaker's sentences,
    closest to the question first (within the question's articles)."""
    index = retriever.index
    found = speakers_asked(retriever, own, among, vector)
    quotes = speaker_quotes(index, found, vector, limit)
    for quote in quotes:
        quote.language = retriever.passage_language(quote.passage_id)
    return quotes

def compose(question: str, retriever: Retriever, query: QueryTerms, vector: np.ndarray,
            hits: list[Hit], limit: int, model: str, threshold: float | None,
            news: bool = False, context: Exchange | None = None,
            speaking: Sequence[Quote] = (), reader: Reader | None = None) -> Answer:
    """The answer from the ranked passages: each one's best quote, reranked (newer first for
    news, the conversation's articles first for a follow-up), held to the abstention
    threshold (`threshold`, else the one fitted for `model`) unless a speaker's words lead;
    then "Also reported by" and who said each quote. The `reader`, when there is one, reads
    the best sentences of all the passages before each passage's quote is chosen."""
    index = retriever.index
    found, read_ms = ranked_and_read(index, query, vector, hits, reader)
    candidates = [best_quote(index, query, vector, hit, passage)
                  for hit, passage in zip(hits, found, strict=True)]
    bonus = recency_bonus([c[0].published for c in candidates]) if news else [0.0] * len(
        candidates)
    if context is not None:
        bonus = [b + context_bonus(context, c[0].article_id, c[0].paragraph)
                 for b, c in zip(bonus, candidates, strict=True)]
    scored = [c for c, _ in sorted(zip(candidates, bonus, strict=True),
                                   key=lambda pair: pair[0][2]["rank"] + pair[1],
                                   reverse=True)
              if word_count(c[0].text) >= MIN_STANDALONE_WORDS]  # headings never stand alone
    for quote, _, _ in scored:
        quote.language = retriever.passage_language(quote.passage_id)
    evidence = dict(scored[0][2]) if scored else {}
    if scored:
        first_language = scored[0][0].language
        vectors_only = dense_only(query.language, first_language)
        fitted = calibration(model, vectors_only)
        if threshold is None:
            threshold = fitted.threshold
        evidence.update(support(query, scored, one_article=len(index.articles) == 1,
                                weights=fitted.weights))
        evidence["cross_lingual"] = float(not same_language(query.language, first_language))
        evidence["dense_only"] = float(vectors_only)
    if not speaking and (not scored or evidence["support"] < (threshold or 0.0)):
        return Answer(question=question, abstained=True, suggestions=suggestions(index, hits),
                      evidence=evidence, related=related(index, query, scored),
                      timings={"read_ms": read_ms})
    quotes = chosen(scored, limit, speaking)
    stories = stories_of(index)
    story = stories.by_article.get(quotes[0].article_id)
    also = (also_reported(retriever, stories, query, vector, quotes[0])
            if story is not None else [])
    if speaking:  # the speaker's sentences in every outlet are the quotes: none twice
        shown = {(q.article_id, q.start) for q in quotes}
        also = [q for q in also if (q.article_id, q.start) not in shown]
    attribute(index, [*quotes, *also])
    return Answer(question=question, abstained=False, quotes=quotes, evidence=evidence,
                  also_reported=also, story=story, timings={"read_ms": read_ms})


def chosen(scored: Sequence[tuple[Quote, float, dict[str, float]]], limit: int,
           first: Sequence[Quote] = ()) -> list[Quote]:
    """The quotes an answer shows: `first` (a named speaker's), then the ranked quotes, those
    after the first only with evidence of their own; each text once, at most `limit`."""
    quotes: list[Quote] = list(first[:limit])
    seen = {" ".join(quote.text.lower().split()) for quote in quotes}
    for quote, confidence, _ in scored:
        if len(quotes) >= limit or (quotes and confidence < MORE_QUOTES_CONFIDENCE):
            break
        key = " ".join(quote.text.lower().split())
        if key in seen:
            continue
        seen.add(key)
        quotes.append(quote)
    return quotes


def recency_bonus(dates: list[str | None], weight: float = RECENCY_WEIGHT) -> list[float]:
    """For news questions: newer dated articles rank higher; undated ones get nothing."""
    ordered = sorted({d for d in dates if d}, reverse=True)
    if not ordered:
        return [0.0] * len(dates)
    rank = {d: i for i, d in enumerate(ordered)}
    return [weight * (1 - rank[d] / len(ordered)) if d else 0.0 for d in dates]


def suggestions(index: IndexView, hits: list[Hit], limit: int = 3) -> list[dict[str, str]]:
    """The nearest distinct article titles, offered when the articles do not answer."""
    result: list[dict[str, str]] = []
    seen: set[int] = set()
    for hit in hits:
        article_row = index.passage(hit.passage_id)[0]
        if article_row in seen:
            continue
        seen.add(article_row)
        info = index.articles[article_row]
        result.append({"article_id": info.article_id, "title": info.title})
        if len(result) >= limit:
            break
    return result
