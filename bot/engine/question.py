"""A question read once: its text checked, the period and publishers it names taken out of the
words searched, and whether it leans on the exchange before it. Every later stage (routing,
retrieval, composition) reads this record instead of reading the question again."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.engine.filters import Filters, understand
from bot.engine.followup import Exchange, leans_on
from bot.engine.notices import Notice, NoticeCode
from bot.engine.said import speakers_asked
from bot.engine.serving import Serving
from bot.engine.text import terms
from index import detect_language
from index.errors import VerbatimError

__all__ = ["Question", "QuestionError", "read_question", "validate"]

SMALL_TALK = re.compile(
    r"^(hi|hello|hey|hiya|howdy|yo|thanks|thank you|thank you very much|thx|ty|cheers|ok|okay|"
    r"cool|great|nice|bye|goodbye|good (morning|afternoon|evening|night)|help|start|"
    r"who are you|what are you|what can you do)\W*$",
    re.IGNORECASE,
)
# Words that, beside a period or a publisher, ask for the articles themselves rather than for
# something in them: "What happened last week?", "Any news from Reuters?"
ANY_NEWS = frozenset({"happened", "happen", "happening", "new", "news", "latest", "going",
                      "stories", "story", "updates", "update", "articles", "article",
                      "published", "reported", "report", "anything", "written", "wrote"})


class QuestionError(VerbatimError, ValueError):
    """The question cannot be answered as asked (empty or too long): its `notice` says why,
    and its text is that notice in English."""

    def __init__(self, notice: Notice) -> None:
        super().__init__(notice.english)
        self.notice = notice


def validate(question: str, max_chars: int) -> str:
    """The question without the spaces around it; QuestionError when it is empty or longer
    than `max_chars`."""
    text = question.strip()
    if not text:
        raise QuestionError(Notice(NoticeCode.EMPTY))
    if len(text) > max_chars:
        raise QuestionError(Notice(NoticeCode.TOO_LONG, count=len(text), limit=max_chars))
    return text


@dataclass(frozen=True)
class Question:
    """A question as the engine understood it."""

    text: str  # as asked, stripped
    language: str | None  # the question's language ("ar"), None when undecided
    filters: Filters  # the period and publishers it is searched within
    words: tuple[str, ...]  # the content words of `searched`
    # The exchange it leans on, with that question's own period and publisher words taken out;
    # None when it stands alone.
    context: Exchange | None = None
    followed: str | None = None  # the question it follows up, as that was asked
    listing: bool = False  # a period or publisher and nothing else: "What happened today?"

    @property
    def searched(self) -> str:
        """Its words without the period and publishers it names (a follow-up's inherited
        filters change only the period and publishers, never these words)."""
        return self.filters.text

    @property
    def small_talk(self) -> bool:
        """A greeting, thanks, or no words to search: answered with the help text. A question
        that leans on the one before, or asks for a period's articles, is never small talk."""
        if self.context is not None or self.listing:
            return False
        return bool(SMALL_TALK.match(self.text)) or not self.words


def read_question(asked: str, serving: Serving | None, context: Exchange | None,
                  today: dt.date, sources: Sequence[str], max_chars: int) -> Question:
    """The question read once; raises QuestionError when it is empty or too long."""
    text = validate(asked, max_chars)
    language = detect_language(text)
    filters = filters_of(text, language, serving, today, sources)
    words = tuple(terms(filters.text))
    leans = leans_on(context, filters.text) and not SMALL_TALK.match(filters.text)
    if context is None or not leans:
        return Question(text, language, filters, words, listing=_lists(filters, words))
    # A follow-up keeps the period and publishers of the question it follows ("What happened
    # in Libya last week?" then "And in Tripoli?"), unless it names its own; the earlier
    # question's date words are not searched for.
    before = filters_of(context.question, detect_language(context.question), serving, today,
                        sources)
    if not (filters.period or filters.sources or filters.unknown_source):
        filters = dataclasses.replace(filters, period=before.period, sources=before.sources,
                                      chat_sources=before.chat_sources)
    return Question(text, language, filters, words,
                    context=dataclasses.replace(context, question=before.text),
                    followed=context.question, listing=_lists(filters, words))


def _lists(filters: Filters, words: tuple[str, ...]) -> bool:
    """Whether a question asks only for the articles of its period or publishers."""
    return filters.active and set(words) <= ANY_NEWS


def filters_of(text: str, language: str | None, serving: Serving | None, today: dt.date,
               sources: Sequence[str]) -> Filters:
    """The period and publishers a question names (or the chat chose)."""
    if serving is None:
        return Filters(text=text)
    retriever = serving.retriever
    filters = understand(text, language, today, retriever.sources, retriever.uses_words,
                         sources, dated=retriever.has_dates)
    if filters.unknown_source is not None and speakers_asked(retriever, text):
        # "What did Kanunou say?": a speaker the articles quote, spelled a letter off,
        # not a publisher they lack
        filters = dataclasses.replace(filters, unknown_source=None)
    return filters
