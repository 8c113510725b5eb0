"""The bot's own words around answers, as gettext messages (`N_`: marked for extraction,
translated where they are said), and the engine's English messages in the reader's language."""

from __future__ import annotations

import re

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

# The engine's own messages (bot.engine: HELP, UNAVAILABLE, QuestionError), translated here
# by their English text; tests/unit/bot/test_i18n.py keeps the two in step.
ENGINE_HELP = N_("I answer questions about the news articles I hold, quoting them word for "
                 "word with the source. Ask me something like “How far is Qasr Bin Ghashir "
                 "from Tripoli?”")
ENGINE_UNAVAILABLE = N_("The article index is unavailable right now; please try again later.")
ENGINE_EMPTY = N_("The question is empty: type a question about the news articles.")
_ENGINE_TEXTS = (ENGINE_HELP, ENGINE_UNAVAILABLE, ENGINE_EMPTY)
# The one engine message with numbers in it: read them back to say them in a plural form.
_TOO_LONG = re.compile(r"The question is too long \((\d+) characters; the limit is (\d+)\)\. "
                       r"Please ask a shorter question\.")


def engine_message(text: str, tr: Translator = ENGLISH) -> str:
    """An engine's message (help, an error) in the reader's language; one the catalogs do not
    know (an index problem's details) stays as the engine said it."""
    if tr.language == "en":
        return text
    if text in _ENGINE_TEXTS:
        return tr.say(text)
    too_long = _TOO_LONG.fullmatch(text)
    if too_long:
        length, limit = int(too_long[1]), int(too_long[2])
        return tr.nsay("The question is too long ({count} character; the limit is {limit}). "
                       "Please ask a shorter question.",
                       "The question is too long ({count} characters; the limit is {limit}). "
                       "Please ask a shorter question.", length, limit=limit)
    return text
