"""Updates: which new articles go to which chats (subscriptions, followed topics), as a queue.

Planning claims new articles atomically in the state database, so with several replicas each
article is planned once; the queue (outbox) is drained by the sender in `bot.chat.delivery`.
Articles, their first sentences and topic matches come from the engine's facade; a queued
push is a `PushPayload` (stored as its `to_dict()`).
"""

from __future__ import annotations

import logging
from typing import Any

from bot.engine import ArticleRef, Engine, PushPayload, Topic
from bot.state import State

__all__ = ["PushPayload", "plan_pushes"]

log = logging.getLogger(__name__)


def plan_pushes(engine: Engine, state: State, threshold: float) -> int:
    """Queue a message per (chat, new article) for subscribers and matching followers."""
    catalog = engine.catalog()
    if catalog is None:
        return 0
    ids = [a.article_id for a in catalog.articles]
    claimed, first = state.claim_new_articles(ids, catalog.version)
    if first:
        log.info("first index seen by this database: %d articles recorded, none pushed", len(ids))
        return 0
    if not claimed:
        return 0
    follows = state.following()
    topics = {t: engine.topic(t) for t in {topic for _, topic in follows}}
    subscribers = state.subscribers()
    articles = {a.article_id: a for a in catalog.articles}
    items: list[dict[str, Any]] = []
    for article_id in claimed:
        items.extend(_pushes(engine, articles[article_id], follows, topics, subscribers,
                             threshold))
    queued = state.enqueue(items)
    log.info("%d new articles; %d pushes queued", len(claimed), queued)
    return queued


def _pushes(engine: Engine, article: ArticleRef, follows: list[tuple[int, str]],
            topics: dict[str, Topic], subscribers: list[int],
            threshold: float) -> list[dict[str, Any]]:
    """The outbox rows for one new article: its followers' matches, then its subscribers."""
    items = []
    for chat_id, topic in follows:
        quote = engine.match_topic(article.article_id, topics[topic], threshold)
        if quote is not None:
            payload = PushPayload(kind="follow", topic=topic, article=article, quote=quote)
            items.append({"chat_id": chat_id, "article_id": article.article_id,
                          "reason": f"follow:{topic}", "payload": payload.to_dict()})
    lead = engine.first_sentence(article.article_id)
    for chat_id in subscribers:
        payload = PushPayload(kind="new", topic=None, article=article, quote=lead)
        items.append({"chat_id": chat_id, "article_id": article.article_id,
                      "reason": "subscription", "payload": payload.to_dict()})
    return items
