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
    scored = _reranked(candidates, retriever, news, context)
    evidence, threshold = _evidence(query, scored, model, threshold,
                                    one_article=len(index.articles) == 1)
    # A question about a speaker is answered by the speaker's words whatever the evidence:
    # the abstention weighs how well passages match, and a speaker's sentences need not.
    if not speaking and (not scored or evidence["support"] < (threshold or 0.0)):
        return Answer(question=question, abstained=True, suggestions=suggestions(index, hits),
                      evidence=evidence, related=related(index, query, scored),
                      timings={"read_ms": read_ms})
    quotes = chosen(scored, limit, speaking)
    also = _also_reported(retriever, query, vector, quotes, bool(speaking))
    attribute(index, [*quotes, *also])
    return Answer(question=question, abstained=False, quotes=quotes, evidence=evidence,
                  also_reported=also, story=stories_of(index).by_article.get(
                      quotes[0].article_id), timings={"read_ms": read_ms})


Scored = tuple[Quote, float, dict[str, float]]  # a passage's best quote, confidence, features


def _reranked(candidates: list[Scored], retriever: Retriever, news: bool,
              context: Exchange | None) -> list[Scored]:
    """The candidates by rank score plus their bonuses (recency for news, the conversation's
    articles for a follow-up), best first, without headings; each quote's language set."""
    if news:
        bonus = recency_bonus([quote.published for quote, _, _ in candidates])
    else:
        bonus = [0.0] * len(candidates)
    if context is not None:
        bonus = [b + context_bonus(context, quote.article_id, quote.paragraph)
                 for b, (quote, _, _) in zip(bonus, candidates, strict=True)]
    # sorted() is stable: candidates with equal scores keep the retrieval's order.
    ordered = sorted(zip(candidates, bonus, strict=True),
                     key=lambda pair: pair[0][2]["rank"] + pair[1], reverse=True)
    # A heading ("Tripoli airport") never stands alone as a quote.
    scored = [c for c, _ in ordered if word_count(c[0].text) >= MIN_STANDALONE_WORDS]
    for quote, _, _ in scored:
        quote.language = retriever.passage_language(quote.passage_id)
    return scored


def _evidence(query: QueryTerms, scored: list[Scored], model: str, threshold: float | None,
              one_article: bool) -> tuple[dict[str, float], float | None]:
    """The first quote's features plus the support for answering at all, and the threshold
    that support must reach: `threshold` when set, else the one fitted for the model. A
    question in another language than the quote is judged on the vectors alone
    (`dense_only`), with weights and a threshold fitted for that case."""
    if not scored:
        return {}, threshold
    evidence = dict(scored[0][2])
    first_language = scored[0][0].language
    vectors_only = dense_only(query.language, first_language)
    fitted = calibration(model, vectors_only)
    evidence.update(support(query, scored, one_article=one_article, weights=fitted.weights))
    evidence["cross_lingual"] = float(not same_language(query.language, first_language))
    evidence["dense_only"] = float(vectors_only)
    return evidence, fitted.threshold if threshold is None else threshold


def _also_reported(retriever: Retriever, query: QueryTerms, vector: np.ndarray,
                   quotes: list[Quote], speaking: bool) -> list[Quote]:
    """The other outlets' sentences on the first quote's story (none when it has no story);
    for a speaker's words, none that is already a quote."""
    stories = stories_of(retriever.index)
    if stories.by_article.get(quotes[0].article_id) is None:
        return []
    also = also_reported(retriever, stories, query, vector, quotes[0])
    if speaking:  # the speaker's sentences in every outlet are the quotes: none twice
        shown = {(q.article_id, q.start) for q in quotes}
        also = [q for q in also if (q.article_id, q.start) not in shown]
    return also


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
