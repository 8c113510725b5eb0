"""Publishers named in a question: "according to Reuters", "what did the BBC say", "in Al
Jazeera". Names are matched against the corpus's sources without case, accents, spaces or
generic words, allowing a letter or two of spelling; a publisher named that the corpus does
not have is reported rather than searched for."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot.engine.text import fold

__all__ = ["SourceNames", "unknown_publisher", "without_names"]

# Words a publisher's name may carry or drop without naming another ("BBC News" = "the BBC").
_GENERIC = frozenset({"the", "news", "agency", "online", "com", "www", "net", "org", "co", "uk",
                      "ajansi", "agence", "newspaper", "tv", "network"})
# Cues that a name is a publisher: words before it ("according to Reuters") ...
_BEFORE = ("according to", "from", "in", "by", "per", "via", "at", "on", "did", "does", "do",
           "says", "said", "reported by", "selon", "d'après", "laut", "bei", "según", "segun",
           "по данным", "согласно", "от")
# ... or after it ("Reuters reported").
_AFTER = ("say", "said", "says", "report", "reported", "reports", "write", "wrote", "writes",
          "claim", "claims", "claimed")
_HAVE = ("has", "have", "had")  # "Reuters has reported"
# A capitalised name of up to four words, with the small words names carry ("Al Jazeera",
# "Voice of America").
_NAME = r"((?:[A-Z][\w&.'-]*)(?: (?:[A-Z][\w&.'-]*|al|el|de|of|the)){0,3})"
# Where a question names a publisher for certain, known or not.
_NAMED = (re.compile(rf"\b(?i:according to )(?i:the )?{_NAME}"),
          re.compile(rf"\b(?i:what (?:did|does|do|has|have) )(?i:the )?{_NAME} "
                     r"(?i:say|report|write|claim|tell)"))
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
# The cue taken out of the question with the name it introduces.
_CUE = re.compile(r"(?:\b(?:according to|reported by|selon|laut|según|segun|in|from|by|per|"
                  r"via|at)\s+(?:the\s+)?)$", re.IGNORECASE)


def _key(name: str) -> str:
    """A publisher's name compared without case, accents, spaces, hyphens or generic words
    ("Al-Jazeera" = "Al Jazeera" = "aljazeera"; "BBC News" = "the BBC")."""
    words = [w for w in _WORD.findall(fold(name)) if w not in _GENERIC]
    # A name of generic words only ("The News") keeps them.
    return "".join(words) or "".join(_WORD.findall(fold(name)))


@dataclass
class SourceNames:
    """The corpus's publishers, matched in questions with their spelling variants."""

    names: Sequence[str]
    _keys: dict[str, str] = field(init=False, repr=False)
    _key_list: list[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._keys = {}
        # Two names of one key ("BBC", "BBC News"): the first in order stands for both.
        for name in sorted(self.names):
            self._keys.setdefault(_key(name), name)
        self._key_list = list(self._keys)

    def match(self, words: str) -> str | None:
        """The corpus source `words` name, allowing a letter or two of spelling."""
        key = _key(words)
        if not key:
            return None
        if key in self._keys:
            return self._keys[key]
        # Short names are told apart by a letter ("BBC", "CBC"): only long ones are fuzzy.
        if len(key) < 6:
            return None
        allowed = 1 if len(key) < 8 else 2
        best = process.extractOne(key, self._key_list, scorer=Levenshtein.distance,
                                  score_cutoff=allowed)
        return self._keys[best[0]] if best is not None else None

    def find(self, text: str) -> tuple[list[str], list[tuple[int, int]]]:
        """The sources a question restricts itself to ("according to Reuters", "what did the
        BBC say", "in Al Jazeera"), and where their names stand."""
        found: list[str] = []
        where: list[tuple[int, int]] = []
        if not self._keys:  # no publisher is known: none can be named
            return found, where
        spans = [match.span() for match in _WORD.finditer(text)]
        # Whether a cue stands before each word and after each word, read once per word
        # (each reading folds the text before or after it: up to the whole question).
        before = [_cued_before(text[:start]) for start, _ in spans]
        after = [_cued_after(text[end:]) for _, end in spans]
        taken = -1  # where the last name found ends: names do not overlap
        for i in range(len(spans)):
            if spans[i][0] < taken:
                continue
            named = self._name_at(text, spans, i, before, after)
            if named is None:
                continue
            name, end = named
            if name not in found:
                found.append(name)
            where.append((_cue_start(text, spans[i][0]), end))
            taken = end
        return found, where

    def _name_at(self, text: str, spans: list[tuple[int, int]], i: int, before: list[bool],
                 after: list[bool]) -> tuple[str, int] | None:
        """The publisher the words from the `i`th on name, and where its name ends: four words,
        then three, two, one, so "Voice of America" is not read as "America"."""
        for n in (4, 3, 2, 1):
            if i + n > len(spans):
                continue
            last = i + n - 1
            words = text[spans[i][0]:spans[last][1]]
            cued = before[i] or after[last]
            # A lone word is a publisher only where one is named ("in Reuters", not "Reuters").
            if not cued and n == 1:
                continue
            name = self.match(words)
            # Uncued words name a publisher only when spelled exactly as the corpus does.
            if name is None or not (cued or words == name):
                continue
            return name, spans[last][1]
        return None


def _cued_before(before: str) -> bool:
    """Whether the text before a word ends in a cue, "the" aside ("according to the")."""
    tail = fold(before).rstrip()
    if tail.endswith(" the") or tail == "the":
        tail = tail[:-3].rstrip()
    return any(tail == cue or tail.endswith(" " + cue) for cue in _BEFORE)


def _cued_after(after: str) -> bool:
    """Whether the text after a word starts with a cue ("said", "has reported")."""
    words = _WORD.findall(fold(after))
    if not words:
        return False
    if words[0] in _AFTER:
        return True
    return len(words) > 1 and words[0] in _HAVE and words[1] in _AFTER


def _cue_start(text: str, start: int) -> int:
    """Where "according to (the)" before a source name begins, to take it out with the name."""
    match = _CUE.search(text[:start])
    return match.start() if match else start


def without_names(text: str, where: list[tuple[int, int]]) -> str:
    """The question without the publishers' names (and their cues) at `where`."""
    # From the end, so the earlier spans still point at their words.
    for start, end in sorted(where, reverse=True):
        text = text[:start] + text[end:]
    # Spaced as if never written: no space before punctuation, no cue's comma left leading
    # ("According to Reuters, what ...") or doubled before the end ("..., per AP?").
    text = re.sub(r"\s+([?.!,;:])", r"\1", " ".join(text.split())).lstrip(" ,;:")
    return re.sub(r"[,;:]+([?.!])", r"\1", text)


def unknown_publisher(text: str, known_word: Callable[[str], bool] | None) -> str | None:
    """A publisher the question names for certain ("according to Foo News") that is not a
    word the articles use (`known_word`), so no corpus source; None when there is none."""
    match = _NAMED[0].search(text) or _NAMED[1].search(text)
    if match is None:
        return None
    name = match.group(1).strip(" .'")
    # Someone the articles name ("according to Smith") is a person quoted, not a publisher.
    if known_word is not None and not known_word(name):
        return name
    return None
