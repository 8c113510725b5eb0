"""The same fact in every outlet's own words: the best sentence of each other publisher of the
first quote's story ("Also reported by"), one quote per publisher for /compare, and where those
quotes disagree on a number, a date or a name, read off the quotes as they stand."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from rapidfuzz.distance import Levenshtein

from bot.engine.quote import Quote, best_quote
from bot.engine.search import QueryTerms, Retriever
from bot.engine.stories import Stories

__all__ = ["ALSO_CONFIDENCE", "also_reported", "disagreements", "one_per_source"]

ALSO_CONFIDENCE = 0.35  # an outlet's sentence is shown when it answers this well on its own
# (on the outlets fixture, which it was chosen on: the other outlets' answering sentences score
# 0.36-0.60, those of the same story that answer something close but else 0.30)
_UNITS = ("two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
          "sixteen seventeen eighteen nineteen").split()  # "one" is rarely a count ("one of")
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_WORD_VALUES = {word: float(i) for i, word in enumerate(_UNITS, 2)} | {
    word: float(10 * i) for i, word in enumerate(_TENS, 2)}
_SPELLED = (rf"(?:{'|'.join(_TENS)})(?:-(?:one|{'|'.join(_UNITS[:8])}))?|"
            rf"(?:{'|'.join(_UNITS[8:])})")  # "fourteen", "forty-two": a count spelled out
# (from ten: "two sides", "three days" are seldom the figure outlets disagree on)
_NUMBER = re.compile(
    r"(?:(?:more than|fewer than|less than|at least|about|some|nearly|almost|over|up to|"
    r"around|roughly) )?(?:(?<![\w.])\d[\d,]*(?:\.\d+)?|\b(?:" + _SPELLED + r"))"
    r"(?: (?:million|billion|thousand))?(?![\w-])", re.IGNORECASE)
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9}
_DAY = re.compile(r"\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]{3,}\b")


def also_reported(retriever: Retriever, stories: Stories, query: QueryTerms,
                  vector: np.ndarray, first: Quote) -> list[Quote]:
    """Each other publisher of the first quote's story, by its sentence that best answers the
    question, when that answers it well enough on its own; in the story's order."""
    story = stories.by_article.get(first.article_id)
    if story is None:
        return []
    index = retriever.index
    shown: set[str | None] = {first.source}
    found: list[Quote] = []
    for article_id in story.article_ids:
        info = index.by_article_id.get(article_id)
        if info is None or info.source in shown:
            continue
        best = _best_in(retriever, query, vector, info.row)
        if best is not None and best[1] >= ALSO_CONFIDENCE:
            shown.add(info.source)
            found.append(best[0])
    return found


def _best_in(retriever: Retriever, query: QueryTerms, vector: np.ndarray,
             row: int) -> tuple[Quote, float] | None:
    """An article's best-ranked quote for the question, with its confidence."""
    index = retriever.index
    hits = retriever.search(vector, query, k=3, among=np.array([row], np.int64))
    candidates = [best_quote(index, query, vector, hit) for hit in hits]
    if not candidates:
        return None
    # The rank score picks the sentence, as for answers; the confidence, on one 0..1 scale
    # for every article, decides whether it is shown (ALSO_CONFIDENCE).
    quote, confidence, _ = max(candidates, key=lambda c: c[2]["rank"])
    quote.language = retriever.passage_language(quote.passage_id)
    return quote, confidence


def one_per_source(quotes: Sequence[Quote]) -> list[Quote]:
    """The first quote of each publisher, in order (quotes without a source are left out)."""
    seen: set[str] = set()
    kept = []
    for quote in quotes:
        if quote.source and quote.source not in seen:
            seen.add(quote.source)
            kept.append(quote)
    return kept


def disagreements(quotes: Sequence[Quote]) -> list[tuple[str, list[tuple[str, str]]]]:
    """Where the outlets' quotes differ, as they word it: ("numbers", [(words, source)...]),
    ("days", ...), ("spellings", ...). A kind is named only when two quotes or more have it
    and not all of them say the same."""
    found = []
    numbers = [(q, [m.group() for m in _NUMBER.finditer(q.text) if not _is_year(m.group())])
               for q in quotes]
    numbers = [(q, said) for q, said in numbers if said]
    # Compared by value, so "40" and "forty" agree; shown as each outlet words them.
    if len(numbers) >= 2 and len({frozenset(map(_value, said)) for _, said in numbers}) > 1:
        found.append(("numbers", [(", ".join(said), q.source or "") for q, said in numbers]))
    days = [(q, sorted(set(_DAY.findall(q.text)))) for q in quotes]
    days = [(q, said) for q, said in days if said]
    if len(days) >= 2 and len({tuple(said) for _, said in days}) > 1:
        found.append(("days", [(", ".join(said), q.source or "") for q, said in days]))
    spellings = _spellings(quotes)
    if spellings:
        found.append(("spellings", spellings))
    return found


def _is_year(words: str) -> bool:
    """Whether a number is a year ("2011"): a date, not a count, so it is not compared."""
    return bool(re.fullmatch(r"(?:19|20)\d{2}", words))


def _value(words: str) -> float:
    """The number a phrase says ("more than 40" is 40, "2.4 million" 2,400,000)."""
    digits = re.search(r"\d[\d,]*(?:\.\d+)?", words)
    if digits:
        value = float(digits.group().replace(",", ""))
    else:  # spelled out: "fourteen", "forty-two"
        value = sum(_WORD_VALUES.get(part, 1.0 if part == "one" else 0.0)
                    for part in re.findall(r"[a-z]+", words.lower()))
    scale = next((s for name, s in _SCALE.items() if name in words.lower()), 1.0)
    return value * scale


def _spellings(quotes: Sequence[Quote]) -> list[tuple[str, str]]:
    """A name spelled two ways by two outlets ("Haftar" / "Hifter"): the first such pair."""
    names = [(q, set(_NAME.findall(q.text))) for q in quotes]
    for i, (first, mine) in enumerate(names):
        for second, theirs in names[i + 1:]:
            for name in sorted(mine - theirs):
                other = next((t for t in sorted(theirs - mine)
                              if Levenshtein.distance(name, t) <= 2 and name[0] == t[0]), None)
                if other is not None:
                    return [(name, first.source or ""), (other, second.source or "")]
    return []
