"""A `Translator` per language: gettext over the language's `.po` catalog, read and compiled in
memory at first use (no build step, no `.mo` file), and the bidirectional isolates of a
right-to-left language."""

from __future__ import annotations

import functools
import gettext
from html import escape
from io import BytesIO
from pathlib import Path
from typing import Protocol

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.i18n._choice import DEFAULT_LANGUAGE, RTL_LANGUAGES, choose_language

LOCALES = Path(__file__).resolve().parent / "locales"
RLM = "\u200f"  # RIGHT-TO-LEFT MARK: makes a line that starts with a fixed phrase right-to-left
RLI = "\u2067"  # RIGHT-TO-LEFT ISOLATE: around the bot's own words in a right-to-left language
FSI = "\u2068"  # FIRST STRONG ISOLATE: around a quote, title or value inside them
PDI = "\u2069"  # POP DIRECTIONAL ISOLATE: ends either
Value = str | int


class HasLanguage(Protocol):
    """What the language is read from: a python-telegram-bot `User` (or anything with its
    `language_code`)."""

    @property
    def language_code(self) -> str | None: ...


class Html(str):
    """A value prepared already (HTML such as a linked title, or text isolated by the caller):
    `say` and `say_html` insert it as it is, neither escaped nor isolated again."""

    __slots__ = ()


def catalog_path(language: str) -> Path:
    """The `.po` catalog of a language."""
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


def _compiled(language: str) -> gettext.NullTranslations:
    """The language's catalog as gettext reads it, compiled from the `.po` in memory."""
    if language == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    with catalog_path(language).open("rb") as po:
        catalog = read_po(po, locale=language)
    mo = BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return gettext.GNUTranslations(mo)


class Translator:
    """The bot's words in one language. `gettext`/`ngettext` translate; `say` and `say_html`
    also fill the placeholders ({name}) and, in a right-to-left language, wrap the phrase in
    RLI…PDI and each value in FSI…PDI, so that an English quote or title inside keeps its own
    direction. Left-to-right languages get no isolates."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.direction = "rtl" if language in RTL_LANGUAGES else "ltr"
        self._catalog = _compiled(language)

    @property
    def rtl(self) -> bool:
        return self.direction == "rtl"

    def gettext(self, message: str) -> str:
        return self._catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self._catalog.ngettext(singular, plural, count)

    def isolate(self, text: str) -> str:
        """Text that is not the bot's (a quote, a title, a topic) as one directional unit
        (FSI…PDI) in a right-to-left reply; unchanged otherwise. The text itself is kept."""
        return f"{FSI}{text}{PDI}" if self.rtl and text else text

    def fixed(self, text: str) -> str:
        """The bot's own words, each line as a right-to-left unit (RLM RLI…PDI: isolates end
        at a line break) in a right-to-left language; unchanged otherwise."""
        if not self.rtl:
            return text
        return "\n".join(f"{RLM}{RLI}{line}{PDI}" if line.strip() else line
                         for line in text.split("\n"))

    def say(self, message: str, **values: Value) -> str:
        """A message translated, filled in (plain text) and isolated."""
        return self._fill(self.gettext(message), values, html=False)

    def nsay(self, singular: str, plural: str, count: int, **values: Value) -> str:
        """A message with a plural, by `count` (also the {count} placeholder)."""
        return self._fill(self.ngettext(singular, plural, count), {"count": count, **values},
                          html=False)

    def say_html(self, message: str, **values: Value) -> str:
        """A message whose text is Telegram HTML: values are escaped (unless `Html`)."""
        return self._fill(self.gettext(message), values, html=True)

    def nsay_html(self, singular: str, plural: str, count: int, **values: Value) -> str:
        return self._fill(self.ngettext(singular, plural, count), {"count": count, **values},
                          html=True)

    def _fill(self, text: str, values: dict[str, Value], html: bool) -> str:
        filled = {}
        for name, value in values.items():
            if isinstance(value, Html):
                filled[name] = str(value)
            elif isinstance(value, str):
                filled[name] = self.isolate(escape(value) if html else value)
            else:
                filled[name] = str(value)
        return self.fixed(text.format(**filled) if filled else text)


@functools.cache
def _translator(language: str) -> Translator:
    return Translator(language)


def translator(code: str | None = None) -> Translator:
    """The translator for a language code ("ar", "fr-FR", "zh-hans"...; English for any other
    or none), made once per language."""
    return _translator(choose_language(code))


def language_of(user: HasLanguage | str | None) -> str:
    """The bot's language for a Telegram user (its `language_code`) or a code string."""
    if user is None or isinstance(user, str):
        return choose_language(user)
    return choose_language(user.language_code)


def translator_for(user: HasLanguage | str | None) -> Translator:
    """The translator for a Telegram user (the one who asked) or a code; English without."""
    return _translator(language_of(user))


ENGLISH = translator(DEFAULT_LANGUAGE)
