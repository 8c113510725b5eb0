"""Updates: which new articles go to which chats (subscriptions, followed topics), as a queue.

Planning claims new articles atomically in the state database, so with several replicas each
article is planned once; a chat gets one push per story (articles of several publishers on one
event): a later outlet's article is queued as an addition to the push the chat already has;
the queue (outbox) is drained by the sender in `bot.chat.delivery`.
Articles, their first sentences and topic matches come from the engine's facade; a queued
push is a `PushPayload` (stored as its `to_dict()`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.engine import ArticleRef, Engine, PushPayload, Story, Topic
from bot.state import State

__all__ = ["PushPayload", "plan_pushes"]

log = logging.getLogger(__name__)


def plan_pushes(engine: Engine, state: State, threshold: float) -> int:
    """Queue a message per (chat, new article) for subscribers and matching followers; an
    article of a story a chat was already pushed is queued as an addition to that push."""
    catalog = engine.catalog()
    if catalog is None:
        return 0
    ids = [a.article_id for a in catalog.articles]
    claimed, first = state.outbox.claim_new_articles(ids, catalog.version)
    if first:
        log.info("first index seen by this database: %d articles recorded, none pushed", len(ids))
        return 0
    if not claimed:
        return 0
    follows = state.following()
    topics = {t: engine.topic(t) for t in {topic for _, topic in follows}}
    subscribers = state.subscribers()
    readers = set(subscribers) | {chat for chat, _ in follows}
    articles = {a.article_id: a for a in catalog.articles}
    stories = engine.stories().by_article
    planned: dict[str, dict[int, str]] = {}  # story -> chat -> its lead article, this run
    items: list[dict[str, Any]] = []
    for article_id in _story_order(claimed, stories):
        rows = _pushes(engine, articles[article_id], follows, topics, subscribers, threshold)
        story = stories.get(article_id)
        if story is None:
            items.extend(rows)
        else:
            items.extend(_join_story(engine, state, articles[article_id], story, rows, planned,
                                     readers))
    queued = state.outbox.enqueue(items)
    log.info("%d new articles; %d pushes queued", len(claimed), queued)
    return queued


def _story_order(claimed: list[str], stories: Mapping[str, Story]) -> list[str]:
    """The claimed articles in corpus order, except that a story's articles come together at
    its first one's place, in publication order (so its first report leads)."""
    wanted, seen = set(claimed), set()
    order: list[str] = []
    for article_id in claimed:
        story = stories.get(article_id)
        group = [a for a in story.article_ids if a in wanted] if story else [article_id]
        order.extend(a for a in group if a not in seen)
        seen.update(group)
    return order


def _join_story(engine: Engine, state: State, article: ArticleRef, story: Story,
                rows: list[dict[str, Any]], planned: dict[str, dict[int, str]],
                readers: set[int]) -> list[dict[str, Any]]:
    """The rows of a story's new article: a push to the chats with no push of the story yet
    (it leads the story there, in `planned`), an addition to the lead push of the others."""
    # The leads queued in earlier runs are in the outbox; this run's are queued only at its
    # end, so they are remembered in `planned` meanwhile.
    queued = state.outbox.story_pushes([a for a in story.article_ids if a != article.article_id])
    leads = {**planned.get(story.id, {}), **queued}
    fresh = [row for row in rows if row["chat_id"] not in leads]
    planned.setdefault(story.id, {}).update({row["chat_id"]: article.article_id for row in fresh})
    # A chat that neither subscribes nor follows any more gets no addition to its old push.
    additions = [_addition(engine, article, chat_id, lead)
                 for chat_id, lead in leads.items() if chat_id in readers]
    return fresh + additions


def _addition(engine: Engine, article: ArticleRef, chat_id: int, lead: str) -> dict[str, Any]:
    """The outbox row adding another outlet's article to the chat's push of `lead`."""
    payload = PushPayload(kind="also", topic=None, article=article,
                          quote=engine.first_sentence(article.article_id), lead=lead)
    return {"chat_id": chat_id, "article_id": article.article_id, "reason": "story",
            "payload": payload.to_dict()}


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
