"""Choosing the quote inside a retrieved passage: the best sentence, widened only when a
neighbour carries the question's terms, never a fragment alone; and its confidence."""

from __future__ import annotations

import bisect
import functools
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bot.engine.search import Hit, QueryTerms, stems, terms
from index import LoadedIndex, is_fragment, paragraphs, word_count

MIN_QUOTE_WORDS = 8
MAX_QUOTE_SENTENCES = 3
MAX_QUOTE_WORDS = 60
MIN_WIDEN_GAIN = 0.15  # share of the question's (idf-weighted) terms a neighbour must add
MEMO_LIMIT = 300_000  # cached sentence stems per index version before the cache starts over
MIN_STANDALONE_WORDS = 4  # a shorter text (a heading) never stands alone as a quote


@dataclass
class Quote:
    """A verbatim slice `text[start:end]` of a stored article, with its source and paragraph."""

    text: str
    article_id: str
    title: str
    source: str | None
    url: str | None
    published: str | None
    paragraph: int
    start: int
    end: int
    score: float
    passage_id: int = field(default=0, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """All fields by name (as stored in the state database and push payloads)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Quote:
        """The quote a `to_dict` (or an older stored dict) describes; unknown keys are ignored."""
        return cls(text=data["text"], article_id=data["article_id"], title=data["title"],
                   source=data.get("source"), url=data.get("url"),
                   published=data.get("published"), paragraph=data["paragraph"],
                   start=data["start"], end=data["end"], score=data.get("score", 0.0),
                   passage_id=data.get("passage_id", 0))


def confidence_score(dense: float, sentence: float, quote_coverage: float,
                     lexical_top: bool) -> float:
    """Evidence (0..1) that a quote answers: similarity of its passage and best sentence, the
    idf-weighted share of the question's terms the quote holds, and whether the lexical ranking
    agrees (passage in its top 3). Weights fitted on half of the SQuAD abstention benchmark
    and checked on the other half (benchmarks/answer_quality.py)."""
    return 0.32 * dense + 0.31 * sentence + 0.23 * quote_coverage + 0.14 * lexical_top


def support(question: str, scored: list[tuple[Quote, float, dict[str, float]]]
            ) -> dict[str, float]:
    """Evidence that the articles answer at all, for abstention: the best quote's confidence,
    its margin over the best quote from another article (a real answer stands out; a merely
    similar article does not), and how much of the question's wording the quote holds, each
    word weighted by its rarity in English (wordfreq), which unlike the index's idf means the
    same in a small corpus and a large one. Weights fitted on half the SQuAD abstention
    benchmark and checked on the other half (benchmarks/answer_quality.py)."""
    top, confidence, _ = scored[0]
    second = next((c for q, c, _ in scored[1:] if q.article_id != top.article_id), 0.0)
    weights = {word: rarity(word) for word in terms(question)}
    total = sum(weights.values())
    found = set(stems(terms(top.text)))
    held = sum(w for word, w in weights.items() if stems([word])[0] in found) / total \
        if total > 0 else 0.0
    margin = confidence - second
    return {"margin": margin, "rare_coverage": held,
            "support": confidence + margin + 0.8 * held}


@functools.lru_cache(maxsize=200_000)
def rarity(word: str) -> float:
    """0 for the commonest English words, up to 7 for words wordfreq has never seen."""
    from wordfreq import zipf_frequency

    return max(0.0, 7.0 - zipf_frequency(word, "en"))


def widen(text: str, spans: list[tuple[int, int]], stem_sets: list[frozenset[str]],
           fragment: list[bool], query: QueryTerms, lo: int, hi: int) -> tuple[int, int]:
    """Add a neighbouring sentence only when it carries question terms the quote lacks
    (up to MAX_QUOTE_SENTENCES and MAX_QUOTE_WORDS): a longer quote has to earn it."""
    while hi - lo + 1 < MAX_QUOTE_SENTENCES:
        have = set().union(*stem_sets[lo:hi + 1])
        base = query.coverage(have)
        options = []
        for side in (lo - 1, hi + 1):
            if 0 <= side < len(spans) and not fragment[side]:
                gain = query.coverage(have | stem_sets[side]) - base
                new_lo, new_hi = min(lo, side), max(hi, side)
                words = word_count(text[spans[new_lo][0]:spans[new_hi][1]])
                if gain >= MIN_WIDEN_GAIN and words <= MAX_QUOTE_WORDS:
                    options.append((gain, new_lo, new_hi))
        if not options:
            break
        _, lo, hi = max(options)
    return lo, hi


def best_quote(index: LoadedIndex, query: QueryTerms, vector: np.ndarray,
                hit: Hit) -> tuple[Quote, float, dict[str, float]]:
    """The passage's best sentence (with a neighbour when it is too short or when it carries
    more of the question), its paragraph counted from the quote's own offset, a confidence."""
    article_row, _, p_start, p_end = index.passage(hit.passage_id)
    text = index.article_text(article_row)
    first, last = index.sentences_of.get(hit.passage_id, (0, 0))
    spans = [(int(s), int(e)) for s, e in index.sentence_table[first:last, 2:4]] or [
        (p_start, p_end)]
    cosines = (index.sentence_vectors[first:last] @ vector if last > first
               else np.zeros(len(spans)))
    stem_sets = [_sentence_stems(index, article_row, text, s, e) for s, e in spans]
    covers = [query.coverage(found) for found in stem_sets]
    starts, fragments = _paragraphs(index, article_row, text)
    fragment = [fragments[_containing(starts, s)] for s, _ in spans]
    scores = [float(c) + 0.3 * cov - (10.0 if frag else 0.0)  # never a fragment alone
              for c, cov, frag in zip(cosines, covers, fragment, strict=True)]
    best = int(np.argmax(scores))
    lo = hi = best
    while word_count(text[spans[lo][0]:spans[hi][1]]) < MIN_QUOTE_WORDS:
        if hi + 1 < len(spans) and (lo == 0 or scores[hi + 1] >= scores[lo - 1]):
            hi += 1
        elif lo > 0:
            lo -= 1
        else:
            break
    lo, hi = widen(text, spans, stem_sets, fragment, query, lo, hi)
    paragraph = _containing(starts, spans[lo][0]) + 1
    start, end = spans[lo][0], spans[hi][1]
    quote_cover = max(covers[lo:hi + 1])
    lexical_top = hit.lexical_rank is not None and hit.lexical_rank < 3
    evidence = {"dense": hit.dense, "sentence": hit.sentence, "quote_coverage": quote_cover,
                "lexical_top": float(lexical_top), "rrf": hit.score,
                "passage_coverage": query.coverage(set().union(*stem_sets)),
                "unknown": query.unknown}
    confidence = confidence_score(hit.dense, hit.sentence, quote_cover, lexical_top)
    info = index.articles[article_row]
    quote = Quote(text=text[start:end], article_id=info.article_id, title=info.title,
                  source=info.source, url=info.url, published=info.published,
                  paragraph=paragraph, start=start, end=end, score=round(confidence, 4),
                  passage_id=hit.passage_id)
    return quote, confidence, evidence


def _sentence_stems(index: LoadedIndex, article_row: int, text: str, start: int,
                    end: int) -> frozenset[str]:
    """A sentence's stems, computed once per index version (the same sentences come back)."""
    key = ("stems", article_row, start)
    found = index.memo.get(key)
    if found is None:
        if len(index.memo) > MEMO_LIMIT:
            index.memo.clear()
        found = index.memo[key] = frozenset(stems(terms(text[start:end])))
    return found  # type: ignore[return-value]


def _paragraphs(index: LoadedIndex, article_row: int,
                text: str) -> tuple[list[int], list[bool]]:
    """Where an article's paragraphs start and which are fragments, once per index version."""
    key = ("paragraphs", article_row)
    found = index.memo.get(key)
    if found is None:
        paras = paragraphs(text)
        found = index.memo[key] = ([p.start for p in paras],
                                   [is_fragment(text, p) for p in paras])
    return found  # type: ignore[return-value]


def _containing(starts: list[int], offset: int) -> int:
    """The index of the paragraph that holds `offset` (the last starting at or before it)."""
    return max(0, bisect.bisect_right(starts, offset) - 1)
