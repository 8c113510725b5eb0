"""Typed records the engine hands out: an answer, an article's reference, the index summary, a
push."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from bot.engine.filters import Filters
from bot.engine.followup import MAX_EARLIER, Exchange
from bot.engine.notices import Notice, NoticeCode, Outcome
from bot.engine.periods import Period
from bot.engine.quote import Quote
from bot.engine.stories import Story


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


@dataclass
class Answer:
    """The engine's answer to one question: its quotes (each a slice of an article) or an
    abstention with what to offer instead, and how it was found."""

    question: str
    abstained: bool
    quotes: list[Quote] = field(default_factory=list)
    suggestions: list[dict[str, str]] = field(default_factory=list)
    latency_ms: float = 0.0
    error: str | None = None  # in English: `notice`'s text, or what failed
    help: str | None = None  # in English: `notice`'s text
    timings: dict[str, float] = field(default_factory=dict)
    index_version: str | None = None
    evidence: dict[str, float] = field(default_factory=dict)
    related: Quote | None = None  # when abstaining: the lead of an article the question names
    question_language: str | None = None  # as detected ("ar"); None when undecided
    followup_of: str | None = None  # the earlier question this one was answered in context of
    context: Exchange | None = field(default=None, repr=False)  # the exchange it followed
    filters: Filters | None = None  # the period and publishers the question was searched in
    outside_period: bool = False  # no article is dated in the period; suggestions: the nearest
    period_widened: Period | None = None  # none was, and the answer is from this wider period
    available_sources: list[str] = field(default_factory=list)  # when it named an unknown one
    also_reported: list[Quote] = field(default_factory=list)  # other outlets of the story
    story: Story | None = None  # the first quote's story (several publishers on one event)
    compared: bool = False  # /compare: one quote per publisher
    differences: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    notice: Notice | None = None  # the engine's own message (`error` or `help`) as a code

    @property
    def outcome(self) -> Outcome:
        """What this answer is: the one ladder every front end branches on, so none of them
        re-derives it from the flags in its own order."""
        if self.error:
            invalid = self.notice is not None and self.notice.code in (NoticeCode.EMPTY,
                                                                       NoticeCode.TOO_LONG)
            return Outcome.INVALID if invalid else Outcome.UNAVAILABLE
        if self.help:
            return Outcome.HELP
        filters = self.filters
        if filters is not None and filters.unknown_source is not None:
            return Outcome.UNKNOWN_SOURCE
        if self.outside_period and filters is not None and filters.period is not None:
            return Outcome.OUTSIDE_PERIOD
        return Outcome.NOT_ANSWERED if self.abstained else Outcome.QUOTED

    def exchange(self) -> Exchange | None:
        """This answer as the context of a next question (None when it answered nothing)."""
        if self.abstained or not self.quotes:
            return None
        earlier = ((*self.context.earlier, self.context.question)[-MAX_EARLIER:]
                   if self.context is not None else ())
        return Exchange.of_stored(self.question, [q.to_dict() for q in self.quotes], earlier)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "question": self.question,
            "question_language": self.question_language,
            "followup_of": self.followup_of,
            "filters": (self.filters or Filters()).to_json(),
            "abstained": self.abstained,
            "quotes": [{k: v for k, v in q.to_dict().items() if k != "passage_id"}
                       for q in self.quotes],
            "suggestions": self.suggestions,
            "latency_ms": round(self.latency_ms, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }
        if self.error is not None:
            data["error"] = self.error
        if self.help is not None:
            data["help"] = self.help
        data["also_reported"] = [{k: v for k, v in q.to_dict().items() if k != "passage_id"}
                                 for q in self.also_reported]
        data["story"] = self.story.to_json() if self.story is not None else None
        if self.compared:
            data["differences"] = [{"kind": kind, "said": [{"words": w, "source": src}
                                                          for w, src in said]}
                                   for kind, said in self.differences]
        if self.available_sources:
            data["available_sources"] = self.available_sources
        if self.period_widened is not None:
            wider = Filters(period=self.period_widened).to_json()
            data["period_widened"] = {"from": wider["from"], "to": wider["to"]}
        if self.related is not None:
            data["related"] = {k: v for k, v in self.related.to_dict().items()
                               if k != "passage_id"}
        return data
