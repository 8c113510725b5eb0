"""The bot's own words around answers, as gettext messages (`N_`: marked for extraction,
translated where they are said), and an answer's notice in the reader's language (the engine's
own messages are written once, in `bot.engine.notices`)."""

from __future__ import annotations

from bot.engine import Answer, notice_text
from bot.i18n import ENGLISH, N_, Translator

NO_ANSWER = N_("The articles do not answer that.")
RELATED = N_("This may be related:")
NEAREST = N_("Nearest articles: {titles}")
NEAREST_BELOW = N_("Nearest articles are below.")
PARAGRAPH = N_("paragraph {number}")
FOLLOWING_UP = N_("Following up on: {question}")
PUBLISHED_WHEN = N_("Articles published {when}:")
PUBLISHED_BY = N_("Articles by {sources}:")
PUBLISHED_BY_WHEN = N_("Articles by {sources} published {when}:")
NONE_WHEN = N_("No article I hold was published {when}.")
NONE_BY_WHEN = N_("No article by {sources} was published {when}.")
WIDENED = N_("Nothing from {period}; from {when}:")
WIDENED_BY = N_("Nothing by {sources} from {period}; from {when}:")
NEAREST_DATED = N_("The nearest dated articles:")
NONE_DATED = N_("None of the articles I hold is dated.")
UNKNOWN_SOURCE = N_("I have no articles from {source}. The sources I have: {sources}.")
NO_SOURCES = N_("I have no articles from {source}; the articles I hold name no publisher.")
ALSO_REPORTED = N_("Also reported by:")
EACH_OUTLET = N_("Each outlet in its own words:")
ONE_OUTLET = N_("Only one outlet answers this.")
DIFFERENCES = {"numbers": N_("Numbers differ: {said}"), "days": N_("Days differ: {said}"),
               "spellings": N_("Spelled differently: {said}")}
UNTIL = N_("until {date}")
SINCE = N_("since {date}")
NEW_CONVERSATION = N_("New conversation: the next question starts fresh.")  # /new



def notice(answer: Answer, tr: Translator = ENGLISH) -> str:
    """An answer's notice (help, an invalid question, the index unavailable) in the reader's
    language, from its code (`bot.engine.notice_text`); an error with no notice (what failed,
    in detail) is shown as the engine said it."""
    if answer.notice is not None:
        return notice_text(answer.notice, tr)
    return answer.error or answer.help or ""
