"""Which of the bot's languages a Telegram `language_code` (an IETF tag) gets."""

from __future__ import annotations

import re

DEFAULT_LANGUAGE = "en"
# The languages with a catalog under locales/ (English is the messages themselves).
LANGUAGES = ("en", "ar", "de", "es", "fr", "ru", "zh")
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})
_SUBTAG = re.compile(r"[a-z]{2,3}")


def choose_language(code: str | None) -> str:
    """The bot's language for a tag such as "ar", "ar-EG", "fr-FR", "zh-hans", "pt-br": its
    primary subtag when the bot speaks it (every "zh-*" is Simplified Chinese), else
    English."""
    if not code:
        return DEFAULT_LANGUAGE
    primary = code.strip().lower().replace("_", "-").split("-", 1)[0]
    if not _SUBTAG.fullmatch(primary):
        return DEFAULT_LANGUAGE
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE
