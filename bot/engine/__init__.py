"""The answering engine: a question in, verbatim quotes with their sources (or an abstention)
out; lookups by article and topic matching for follows. Front ends reach the index only here."""

from bot.engine.answer import (
    HELP,
    UNAVAILABLE,
    Answer,
    Engine,
    QuestionError,
    open_engine,
)
from bot.engine.filters import Filters
from bot.engine.followup import Exchange
from bot.engine.notices import Notice, NoticeCode, Outcome, notice_text
from bot.engine.periods import Period, find_period
from bot.engine.quote import Quote
from bot.engine.records import ArticleRef, ArticleText, Catalog, IndexSummary, PushPayload
from bot.engine.stories import Stories, Story
from bot.engine.topics import Topic, topic_words
from index import IndexUnavailableError

__all__ = [
    "HELP",
    "UNAVAILABLE",
    "Answer",
    "ArticleRef",
    "ArticleText",
    "Catalog",
    "Engine",
    "Exchange",
    "Filters",
    "IndexSummary",
    "IndexUnavailableError",
    "Notice",
    "NoticeCode",
    "Outcome",
    "Period",
    "PushPayload",
    "QuestionError",
    "Quote",
    "Stories",
    "Story",
    "Topic",
    "find_period",
    "notice_text",
    "open_engine",
    "topic_words",
]
