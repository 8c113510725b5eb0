"""Typed records the engine hands out: an article's reference, the index summary, a push."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from bot.engine.quote import Quote


@dataclass(frozen=True)
class ArticleRef:
    """An article as shown to people: its id, title, source, link and date."""

    article_id: str
    title: str
    source: str | None
    url: str | None
    published: str | None

    def to_dict(self) -> dict[str, str | None]:
        """The fields by name, in the order stored in push payloads."""
        return {"article_id": self.article_id, "title": self.title, "source": self.source,
                "url": self.url, "published": self.published}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ArticleRef:
        """The article a `to_dict` describes; a missing field is unknown (only the title is
        required)."""
        return cls(article_id=data.get("article_id", ""), title=data["title"],
                   source=data.get("source"), url=data.get("url"),
                   published=data.get("published"))


@dataclass(frozen=True)
class ArticleText:
    """An indexed article with its whole stored text: every quote is `text[start:end]`."""

    article: ArticleRef
    text: str
    language: str | None  # as declared or read off the text ("en"); None when undecided


@dataclass(frozen=True)
class IndexSummary:
    """What /about and /stats show of the served index."""

    articles: int
    passages: int
    newest_published: str | None
    built_at: str | None
    model: str | None
    size_bytes: int


class Catalog(NamedTuple):
    """The served index's version and its articles in corpus order, read together."""

    version: str
    articles: list[ArticleRef]


@dataclass(frozen=True)
class PushPayload:
    """A queued push: a new article (`kind` "new") or a match for a followed topic
    ("follow"), with the quote shown under it; or another outlet's report of a story the
    chat was pushed (`kind` "also", `lead` the article of that push), added to that push.
    `to_dict` is the JSON stored in the outbox."""

    kind: str
    topic: str | None
    article: ArticleRef
    quote: Quote | None
    lead: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stored shape: `topic` only for follows, `quote` always (null when none)."""
        data: dict[str, Any] = {"kind": self.kind}
        if self.topic is not None:
            data["topic"] = self.topic
        data["article"] = self.article.to_dict()
        data["quote"] = self.quote.to_dict() if self.quote is not None else None
        if self.lead is not None:
            data["lead"] = self.lead
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PushPayload:
        """The payload of a queued row (also rows queued by older versions)."""
        quote = data.get("quote")
        return cls(kind=data["kind"], topic=data.get("topic"),
                   article=ArticleRef.from_dict(data["article"]),
                   quote=Quote.from_dict(quote) if quote else None, lead=data.get("lead"))
