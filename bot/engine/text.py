"""The engine's words: folding, content words and their stems, the same way the index's FTS5
tokenizer (unicode61 with porter) makes them, so a question's words meet the index's.

Pure functions of text: retrieval, ranking, abstention, stories and topics all read words
through here, none of them needs a loaded index for it."""

from __future__ import annotations

import functools
import re
import threading
import unicodedata

import snowballstemmer

__all__ = ["STOPWORDS", "fold", "stems", "terms"]

STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further had
has have having he her here hers herself him himself his how i if in into is it its itself just
me more most my myself no nor not now of off on once only or other our ours ourselves out over
own same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up very was we were what when where which while who
whom why will with would you your yours yourself yourselves tell say said says please know
much many
anything something did does also
""".split())
# A word is a run of letters or digits in any script; "_" is a word character to `\w`, not to
# the index's tokenizer, hence the class without it.
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_LOCAL = threading.local()


def fold(text: str) -> str:
    """Lowercase and strip diacritics, like FTS5's unicode61 tokenizer."""
    # ASCII has no diacritics to strip: most questions skip the decomposition.
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def terms(text: str) -> list[str]:
    """Content words of a text, folded, in order, without duplicates or stop words."""
    # A dict keeps the words' order and drops repeats in one pass.
    seen: dict[str, None] = {}
    for token in _TOKEN.findall(fold(text)):
        if token in STOPWORDS or token in seen:
            continue
        # A lone letter matches nothing worth finding ("s" of "Reuters's"); a lone digit may be
        # the number asked about.
        if len(token) > 1 or token.isdigit():
            seen[token] = None
    return list(seen)


def stems(words: list[str]) -> list[str]:
    """Porter stems, as SQLite's FTS5 porter tokenizer makes them."""
    return [_stem(word) for word in words]


# Every question's words, every quote candidate's and every topic's go through here: the same
# words recur, so their stems are kept.
@functools.lru_cache(maxsize=500_000)
def _stem(word: str) -> str:
    stemmer = getattr(_LOCAL, "stemmer", None)
    # Snowball stemmers keep state between calls: one per thread.
    if stemmer is None:
        stemmer = _LOCAL.stemmer = snowballstemmer.stemmer("porter")
    return stemmer.stemWord(word)
