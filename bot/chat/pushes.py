"""Updates: which new articles go to which chats (subscriptions, followed topics), as a queue.

Planning claims new articles atomically in the state database, so with several replicas each
article is planned once; the queue (outbox) is drained by the sender in `bot.chat.delivery`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

import numpy as np

from bot.engine import lookups as sources
from bot.engine.answer import Engine
from bot.engine.quote import Quote, best_quote
from bot.engine.search import Hit, QueryTerms
from bot.state.store import State
from index.reader import ArticleInfo, LoadedIndex

log = logging.getLogger(__name__)


def article_fields(info: ArticleInfo) -> dict[str, Any]:
    return {"article_id": info.article_id, "title": info.title, "source": info.source,
            "url": info.url, "published": info.published}


def match_article(engine: Engine, index: LoadedIndex, info: ArticleInfo, vector: np.ndarray,
                  query: QueryTerms, threshold: float) -> Quote | None:
    """The article's sentence that best matches a topic, when it matches well enough: by the
    answers' confidence, or because it names every term of the topic (any spelling)."""
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


def plan_pushes(engine: Engine, state: State, threshold: float) -> int:
    """Queue a message per (chat, new article) for subscribers and matching followers."""
    index = engine.index
    if index is None:
        return 0
    ids = [a.article_id for a in sorted(index.articles.values(), key=lambda a: a.position)]
    claimed, first = state.claim_new_articles(ids, index.version)
    if first:
        log.info("first index seen by this database: %d articles recorded, none pushed", len(ids))
        return 0
    if not claimed:
        return 0
    follows = state.following()
    topics = {topic for _, topic in follows}
    retriever = engine.retriever
    encoded = {t: (engine.encoder.encode_query(t), retriever.query_terms(t)) for t in topics}
    subscribers = state.subscribers()
    items: list[dict[str, Any]] = []
    for article_id in claimed:
        info = index.by_article_id[article_id]
        for chat_id, topic in follows:
            vector, query = encoded[topic]
            quote = match_article(engine, index, info, vector, query, threshold)
            if quote is not None:
                items.append({"chat_id": chat_id, "article_id": article_id,
                              "reason": f"follow:{topic}",
                              "payload": {"kind": "follow", "topic": topic,
                                          "article": article_fields(info),
                                          "quote": asdict(quote)}})
        lead = sources.first_sentence(index, info)
        for chat_id in subscribers:
            items.append({"chat_id": chat_id, "article_id": article_id, "reason": "subscription",
                          "payload": {"kind": "new", "article": article_fields(info),
                                      "quote": asdict(lead) if lead else None}})
    queued = state.enqueue(items)
    log.info("%d new articles; %d pushes queued", len(claimed), queued)
    return queued
