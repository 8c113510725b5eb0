"""What became of a question, as types: the `Outcome` every front end branches on, and the
engine's own messages as `Notice` codes with their parameters. The message templates are
written here once; a front end says them in its reader's language (`notice_text`), and the JSON of
`python -m bot ask` keeps their English text."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bot.i18n import ENGLISH, N_, Translator

__all__ = ["HELP", "UNAVAILABLE", "Notice", "NoticeCode", "Outcome", "notice_text"]

HELP = N_("I answer questions about the news articles I hold, quoting them word for word with "
          "the source. Ask me something like “How far is Qasr Bin Ghashir from Tripoli?”")
UNAVAILABLE = N_("The article index is unavailable right now; please try again later.")
EMPTY = N_("The question is empty: type a question about the news articles.")


class Outcome(Enum):
    """What an answer is, in the order a front end checks: the first that holds."""

    INVALID = "invalid"  # the question is empty or too long
    UNAVAILABLE = "unavailable"  # no index is served (or it failed while read)
    HELP = "help"  # small talk, or no words to search: the help text
    UNKNOWN_SOURCE = "unknown_source"  # it names a publisher the articles lack
    OUTSIDE_PERIOD = "outside_period"  # no article is dated in the period it names
    NOT_ANSWERED = "not_answered"  # the articles do not answer (abstained)
    QUOTED = "quoted"  # quotes that answer

    @property
    def is_notice(self) -> bool:
        """An outcome told by a message of the bot's own, with no article in it."""
        return self in (Outcome.INVALID, Outcome.UNAVAILABLE, Outcome.HELP)

    @property
    def is_error(self) -> bool:
        """The question was not answered for a fault (the command line exits with 2)."""
        return self in (Outcome.INVALID, Outcome.UNAVAILABLE)


class NoticeCode(Enum):
    HELP = "help"
    EMPTY = "empty"
    TOO_LONG = "too_long"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Notice:
    """One of the engine's own messages: its code, and for a question too long, its length
    and the limit."""

    code: NoticeCode
    count: int = 0
    limit: int = 0

    @property
    def english(self) -> str:
        return notice_text(self, ENGLISH)


_TEXTS = {NoticeCode.HELP: HELP, NoticeCode.EMPTY: EMPTY, NoticeCode.UNAVAILABLE: UNAVAILABLE}


def notice_text(notice: Notice, tr: Translator) -> str:
    """A notice in the reader's language."""
    if notice.code is NoticeCode.TOO_LONG:
        return tr.nsay("The question is too long ({count} character; the limit is {limit}). "
                       "Please ask a shorter question.",
                       "The question is too long ({count} characters; the limit is {limit}). "
                       "Please ask a shorter question.", notice.count, limit=notice.limit)
    return tr.say(_TEXTS[notice.code])
