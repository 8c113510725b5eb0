"""A question searched: passages retrieved by its words (or by the conversation's, for a
follow-up), then the answer composed from them. A follow-up is searched twice, alone and in its
context, and `_in_context` picks the answer it gets."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

import numpy as np

from bot.engine.answer_types import asked_type
from bot.engine.compose import compose, speaking
from bot.engine.followup import Exchange, refers_back
from bot.engine.question import Question
from bot.engine.records import Answer
from bot.engine.search import QueryTerms, Retriever
from bot.engine.text import terms
from index.encoders import Encoder
from reader import Reader

__all__ = ["Search", "composed", "searched"]

_NEWS = re.compile(r"\b(what'?s new|what is new|news|latest|newest|recent(?:ly)?|updates?)\b"
                   r"(?:\s+(?:on|about|from|in|for))?", re.IGNORECASE)


@dataclass
class Search:
    """What one question is searched with. Each distinct text is encoded once per question: a
    follow-up searched alone and in context needs its own words' vector only once."""

    retriever: Retriever
    encoder: Encoder
    mode: str  # "hybrid", "dense" or "lexical"
    limit: int  # quotes at most
    threshold: float | None  # ABSTAIN_THRESHOLD; None: the one fitted for the model
    reader: Reader | None
    _vectors: dict[str, np.ndarray] = field(default_factory=dict)

    def vector(self, text: str) -> np.ndarray:
        if text not in self._vectors:
            self._vectors[text] = self.encoder.encode_query(text)
        return self._vectors[text]


def searched(question: Question, search: Search, among: np.ndarray | None) -> Answer:
    """The answer searched among `among` (all articles when None); a follow-up is also asked
    in its context, which wins as `_in_context` says."""
    own = composed(question, search, question.searched, among) if question.words else None
    context = question.context
    if context is None:
        assert own is not None  # a question without words is small talk unless it leans
        return own
    contextual = composed(question, search, context.asked_with(question.searched), among,
                          context, own=question.searched)
    if not _in_context(contextual, own, context, refers_back(question.searched)):
        assert own is not None  # _in_context takes the contextual answer when there is no own
        return own
    contextual.followup_of, contextual.context = question.followed, context
    return contextual


def composed(question: Question, search: Search, asked: str, among: np.ndarray | None,
             context: Exchange | None = None, own: str | None = None) -> Answer:
    """One retrieval and composition for `asked` (the question's words, or the conversation's
    and then the question's), the answer saying the question was `question.text`; `own` is
    the follow-up's own words (the whole question when None)."""
    own = question.text if own is None else own
    started = time.perf_counter()
    news, topic = _news_topic(asked)
    query = search.retriever.query_terms(topic)
    vector = search.vector(topic)
    encoded = time.perf_counter()
    hits = search.retriever.search(vector, query, k=10, mode=search.mode, among=among)
    found = time.perf_counter()
    if context is not None:
        query, vector = _sentences_sought(search, query, vector, own)
    answer = compose(question.text, search.retriever, query, vector, hits, search.limit,
                     search.encoder.name, search.threshold, news, context,
                     speaking(own, search.retriever, vector, search.limit, among), search.reader)
    answer.question_language = question.language if context else query.language
    answer.timings = {"encode_ms": (encoded - started) * 1000,
                      "search_ms": (found - encoded) * 1000,
                      "select_ms": (time.perf_counter() - found) * 1000,
                      **answer.timings}  # read_ms, the reader's share of select_ms
    return answer


def _news_topic(asked: str) -> tuple[bool, str]:
    """Whether the question asks for news ("What's new on Libya?"), and what it is about
    without those words (the question itself when nothing else is left)."""
    if not _NEWS.search(asked):
        return False, asked
    topic = " ".join(_NEWS.sub(" ", asked).split())
    return True, topic if terms(topic) else asked


def _sentences_sought(search: Search, query: QueryTerms, vector: np.ndarray,
                      own: str) -> tuple[QueryTerms, np.ndarray]:
    """What picks a follow-up's sentences: the conversation found the passages, but the
    question's own words pick the sentence (the earlier question's words would pick the
    sentence already quoted); with no words of its own ("When?"), still its kind of answer."""
    if terms(own):
        return search.retriever.query_terms(own), search.vector(own)
    query.asked = asked_type(own)
    return query, vector


def _in_context(contextual: Answer, own: Answer | None, context: Exchange,
                wording_refers: bool) -> bool:
    """Whether a follow-up gets its answer in context (`contextual`) rather than the question's
    own (`own`, None when it has no words of its own). The question's own answer wins when
    the contextual one abstains. A reply whose wording stands alone ("Where did the militia
    flee to?") follows up the replied answer only where that answer's articles answer it
    with as much of the question's rare words: a reply naming what those articles never
    speak of ("Who is the museum's director?") is not pulled into them."""
    if own is None or own.abstained:
        return True
    if contextual.abstained:
        return False
    if wording_refers:
        return True
    first = contextual.quotes[0] if contextual.quotes else None
    coverage = contextual.evidence.get("rare_coverage", 0.0)
    return (first is not None and first.article_id in context.article_ids
            and coverage >= own.evidence.get("rare_coverage", 0.0))
