"""Which language a text is written in, offline and in microseconds: the script decides for
most (Arabic, Cyrillic, Han, Kana, Hangul, Greek, Hebrew, Devanagari, Thai); for Latin script
the words decide, each scored by its frequency in every candidate language (wordfreq's lists,
the ones the abstention's rarity weights use). Codes are ISO 639-1 ("en", "ar", "zh")."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping

LATIN_LANGUAGES = ("en", "fr", "de", "es", "it", "pt", "nl", "tr", "pl", "sv", "id")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_PIECE = re.compile(r"[A-Za-z]+|[^\x00-\x7f]")  # ASCII letters (all Latin) or one other
_PERSIAN = frozenset("پچژگکی")  # letters Persian writes and Arabic does not
_UKRAINIAN = frozenset("іїєґ")
MIN_LATIN_WORDS = 3  # "Tripoli" or "Haftar" alone is in no language in particular
MIN_LATIN_EVIDENCE = 3.0  # summed Zipf frequency below which a Latin text stays undecided


def primary(code: str | None) -> str | None:
    """The primary subtag of a language tag, lowercased: "ar-EG" -> "ar", "zh-Hans" -> "zh"."""
    if not code:
        return None
    return code.replace("_", "-").split("-", 1)[0].strip().lower() or None


def detect(text: str) -> str | None:
    """The language of `text`, or None when it cannot tell (no letters, or too few words)."""
    counts: dict[str, int] = {}  # letters per script, scripts in order of first appearance
    letters = 0
    for piece in _PIECE.findall(text):  # a run of ASCII letters counts at once
        if piece[0].isascii():
            letters += len(piece)
            counts["latin"] = counts.get("latin", 0) + len(piece)
        elif piece.isalpha():
            letters += 1
            script = _script(piece)
            counts[script] = counts.get(script, 0) + 1
    if not letters:
        return None
    # The script with the most letters decides (ties: the first to appear); a few letters
    # only one language of a script uses tell Persian from Arabic, Ukrainian from Russian.
    script = max(counts, key=counts.__getitem__)
    if script == "arabic":
        return "fa" if _PERSIAN & set(text) else "ar"
    if script == "cyrillic":
        return "uk" if _UKRAINIAN & set(text.lower()) else "ru"
    if script in ("han", "kana"):
        return "ja" if counts.get("kana") else "zh"
    if script == "latin":
        # The first 60 words only: a long article then costs no more than a short one.
        words = tuple(w.lower() for w in _WORD.findall(text)[:60])
        return _latin(words) if len(words) >= MIN_LATIN_WORDS else None
    return {"hangul": "ko", "greek": "el", "hebrew": "he", "devanagari": "hi",
            "thai": "th"}.get(script)


def same_language(first: str | None, second: str | None) -> bool:
    """Whether two texts' languages match; an unknown language matches any."""
    return first is None or second is None or primary(first) == primary(second)


def _latin(words: tuple[str, ...]) -> str | None:
    """The Latin-script language whose common words these are. wordfreq's small lists (the
    words a telling score rests on) cost 4 MB a language where the full ones cost 23-65 MB:
    scoring 11 languages with those took 310 MB of every bot process."""
    frequencies = [_frequencies(w) for w in words]
    best, best_score = None, 0.0
    for at, language in enumerate(LATIN_LANGUAGES):
        score = sum(found[at] for found in frequencies)
        if score > best_score:
            best, best_score = language, score
    return best if best_score >= MIN_LATIN_EVIDENCE else None


@functools.lru_cache(maxsize=200_000)
def _frequencies(word: str) -> tuple[float, ...]:
    """A word's Zipf frequency in each of LATIN_LANGUAGES, looked up once per process: a
    wordfreq lookup costs tens of microseconds (it tokenizes the word for each language),
    and every article's language is read off its first 60 words when a question first meets
    it. A plain ASCII word is its own only token in these languages, so its figure follows
    from its list entry alone (`_word_lists`)."""
    from wordfreq import zipf_frequency

    if not (word.isascii() and word.isalpha()):
        return tuple(zipf_frequency(word, language, wordlist="small")
                     for language in LATIN_LANGUAGES)
    return tuple(figures[listed[word]] if word in listed else absent
                 for listed, figures, absent in _word_lists())


@functools.cache
def _word_lists() -> tuple[tuple[Mapping[str, float], Mapping[float, float], float], ...]:
    """Each Latin-script language's small word list (word -> frequency), the Zipf figure
    wordfreq gives each frequency in it (asked once, of the first plain word that has it) and
    its figure for a word not in the list. Read once, at the engine's start (about 0.2 s)."""
    from wordfreq import get_frequency_dict, zipf_frequency

    found = []
    for language in LATIN_LANGUAGES:
        listed = get_frequency_dict(language, wordlist="small")
        figures: dict[float, float] = {}
        for word, frequency in listed.items():
            if frequency not in figures and word.isascii() and word.isalpha():
                figures[frequency] = zipf_frequency(word, language, wordlist="small")
        found.append((listed, figures, zipf_frequency("", language, wordlist="small")))
    return tuple(found)


@functools.lru_cache(maxsize=4096)
def _script(char: str) -> str:
    code = ord(char)
    if code < 0x250 or 0x1E00 <= code < 0x1F00:
        return "latin"
    if 0x600 <= code < 0x700 or 0x750 <= code < 0x780 or 0xFB50 <= code < 0xFF00:
        return "arabic"
    if 0x400 <= code < 0x530:
        return "cyrillic"
    if 0x3040 <= code < 0x3100:
        return "kana"
    if 0x4E00 <= code < 0xA000 or 0x3400 <= code < 0x4DC0 or 0x20000 <= code < 0x2FA20:
        return "han"
    if 0xAC00 <= code < 0xD7B0 or 0x1100 <= code < 0x1200:
        return "hangul"
    if 0x370 <= code < 0x400:
        return "greek"
    if 0x590 <= code < 0x600:
        return "hebrew"
    if 0x900 <= code < 0x980:
        return "devanagari"
    if 0xE00 <= code < 0xE80:
        return "thai"
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0].lower() or "other"
