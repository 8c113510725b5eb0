"""Where a question goes once read: a publisher the articles lack, a period no article is in
(widened into the past where it may be), a period's articles listed, or a search."""

from __future__ import annotations

import dataclasses

import numpy as np

from bot.engine.filters import Filters
from bot.engine.lookups import first_sentence, newest
from bot.engine.periods import Period
from bot.engine.question import Question
from bot.engine.records import Answer
from bot.engine.retrieve import Search, searched
from bot.engine.search import Retriever
from index import IndexView

__all__ = ["route"]


def route(question: Question, search: Search) -> Answer:
    """The answer to a question that is not small talk, on the served index."""
    retriever = search.retriever
    filters = question.filters
    if filters.unknown_source is not None:
        return Answer(question=question.text, abstained=True,
                      available_sources=list(retriever.sources.names))
    among = retriever.rows_within(filters)  # None: no filter, every article
    if among is not None and not len(among):
        return _outside_the_period(question, search)
    if question.listing and among is not None:
        return _listing(question.text, retriever.index, among, search.limit)
    return searched(question, search, among)


def _outside_the_period(question: Question, search: Search) -> Answer:
    """No article is in the period (and from the publishers): the answer from the period
    widened into the past when that finds one, else say so with the nearest dated articles.
    A widened answer passes the same abstention threshold as any other."""
    nothing = _nothing_within(question.text, search.retriever, question.filters)
    wider = None if question.listing else _widened(search.retriever, question.filters)
    if wider is None:
        return nothing
    period, among = wider
    found = searched(question, search, among)
    if found.abstained:
        return nothing
    found.period_widened = period
    return found


def _widened(retriever: Retriever, filters: Filters) -> tuple[Period, np.ndarray] | None:
    """A relative period that holds no article, widened into the past as far as
    `Period.widened` allows, and the articles in it; None when it may not be widened or the
    wider period holds none either."""
    wider = filters.period.widened() if filters.period is not None else None
    if wider is None:
        return None
    among = retriever.rows_within(dataclasses.replace(filters, period=wider))
    return (wider, among) if among is not None and len(among) else None


def _nothing_within(text: str, retriever: Retriever, filters: Filters) -> Answer:
    """No article is in the period (and from the publishers): say so, with the dated
    articles nearest to the period."""
    index = retriever.index
    rows = retriever.nearest_dated(filters.period) if filters.period else []
    nearest = [index.articles[row] for row in rows]
    return Answer(question=text, abstained=True, outside_period=filters.period is not None,
                  suggestions=[{"article_id": a.article_id, "title": a.title,
                                "published": a.published or ""} for a in nearest])


def _listing(text: str, index: IndexView, among: np.ndarray, limit: int) -> Answer:
    """A question with a period or publisher and nothing else ("What happened last
    week?"): the newest of those articles, each by its first sentence."""
    quotes = [quote for info in newest(index, limit, among)
              if (quote := first_sentence(index, info)) is not None]
    return Answer(question=text, abstained=not quotes, quotes=quotes)
