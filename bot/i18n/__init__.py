"""The bot's own words in the user's language: gettext catalogs (Babel `.po` files, compiled in
memory at first use), the choice of language from a Telegram user's `language_code`, and the
bidirectional isolates that keep an English quote readable inside an Arabic reply.

Quotes, titles and publishers are never translated: only the bot's fixed strings are."""

from bot.i18n._choice import DEFAULT_LANGUAGE, LANGUAGES, RTL_LANGUAGES, choose_language
from bot.i18n._translate import (
    ENGLISH,
    FSI,
    PDI,
    RLI,
    RLM,
    Html,
    Translator,
    catalog_path,
    language_of,
    translator,
    translator_for,
)


def N_(message: str) -> str:
    """Mark a message for extraction (`pybabel extract`) without translating it now."""
    return message


__all__ = [
    "DEFAULT_LANGUAGE",
    "ENGLISH",
    "FSI",
    "LANGUAGES",
    "N_",
    "PDI",
    "RLI",
    "RLM",
    "RTL_LANGUAGES",
    "Html",
    "Translator",
    "catalog_path",
    "choose_language",
    "language_of",
    "translator",
    "translator_for",
]
