"""Choosing the quote inside a retrieved passage: the best-ranked sentence (`bot.engine.ranking`),
widened only when a neighbour carries the question's terms, never a fragment alone; and its
confidence."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from bot.engine.ranking import PassageSentences, passage_sentences, rank_score
from bot.engine.search import Hit, QueryTerms
from bot.engine.speakers import Speaker
from index import IndexView, word_count

# A sentence under MIN_QUOTE_WORDS ("He denied it.") takes a neighbour to be read alone; a
# quote stays within MAX_QUOTE_SENTENCES and MAX_QUOTE_WORDS, short enough to read in a chat.
MIN_QUOTE_WORDS = 8
MAX_QUOTE_SENTENCES = 3
MAX_QUOTE_WORDS = 60
MIN_WIDEN_GAIN = 0.15  # share of the question's (idf-weighted) terms a neighbour must add
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
    language: str | None = None  # the article's ("en"), declared or read off its text
    speaker: Speaker | None = None  # who the quoted sentence says spoke, when it names them

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
                   passage_id=data.get("passage_id", 0), language=data.get("language"),
                   speaker=_speaker(data.get("speaker")))


def _speaker(data: object) -> Speaker | None:
    """A stored quote's speaker (None when it had none or it is unreadable)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
        return None
    role = data.get("role")
    return Speaker(data["name"], int(data.get("start") or 0), int(data.get("end") or 0),
                   role if isinstance(role, str) else None, _offset(data.get("role_start")),
                   _offset(data.get("role_end")))


def _offset(value: object) -> int | None:
    return value if isinstance(value, int) else None


def confidence_score(dense: float, sentence: float, quote_coverage: float,
                     lexical_top: bool) -> float:
    """Evidence (0..1) that a quote answers: similarity of its passage and best sentence, the
    idf-weighted share of the question's terms the quote holds, and whether the lexical ranking
    agrees (passage in its top 3). Weights fitted on half of the SQuAD abstention benchmark
    and checked on the other half (benchmarks/answer_quality.py)."""
    return 0.32 * dense + 0.31 * sentence + 0.23 * quote_coverage + 0.14 * lexical_top


def widen(text: str, spans: list[tuple[int, int]], stem_sets: list[frozenset[str]],
           fragment: list[bool], query: QueryTerms, lo: int, hi: int) -> tuple[int, int]:
    """Add a neighbouring sentence only when it carries question terms the quote lacks
    (up to MAX_QUOTE_SENTENCES and MAX_QUOTE_WORDS): a longer quote has to earn it."""
    # Greedy: each round takes the side that adds most of the question, until neither adds
    # MIN_WIDEN_GAIN within the limits.
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


def best_quote(index: IndexView, query: QueryTerms, vector: np.ndarray, hit: Hit,
               found: PassageSentences | None = None) -> tuple[Quote, float, dict[str, float]]:
    """The passage's best-ranked sentence (with a neighbour when it is too short or when it
    carries more of the question), its paragraph, a confidence and the evidence ("rank" is the
    rank score answers are ordered by). `found`: the passage's sentences already ranked (and
    read), else ranked here."""
    if found is None:
        found = passage_sentences(index, query, vector, hit)
    text, spans, scores = found.text, found.spans, found.scores()
    best = int(np.argmax(scores))
    lo = hi = best
    # Too short to stand alone: grow towards the better-ranked neighbour (after, on a tie).
    while word_count(text[spans[lo][0]:spans[hi][1]]) < MIN_QUOTE_WORDS:
        if hi + 1 < len(spans) and (lo == 0 or scores[hi + 1] >= scores[lo - 1]):
            hi += 1
        elif lo > 0:
            lo -= 1
        else:
            break
    lo, hi = widen(text, spans, found.stem_sets, found.fragment, query, lo, hi)
    start, end = spans[lo][0], spans[hi][1]
    quote_cover = max(found.covers[lo:hi + 1])
    # "rank" and "lexical_top" are the best sentence's own (what ranked it); the coverage,
    # cosine, kind and reader figures are the best of the sentences actually quoted.
    chosen = found.features[best]
    evidence = {"dense": hit.dense, "sentence": hit.sentence, "quote_coverage": quote_cover,
                "lexical_top": chosen["lexical_top"], "rrf": hit.score,
                "passage_coverage": query.coverage(set().union(*found.stem_sets)),
                "unknown": query.unknown, "typed": float(any(found.typed[lo:hi + 1])),
                "quote_cosine": max(found.cosines[lo:hi + 1]), "title_coverage": chosen["title"],
                "rank": rank_score(chosen),
                "reader": max(f["reader"] for f in found.features[lo:hi + 1])}
    confidence = confidence_score(hit.dense, hit.sentence, quote_cover,
                                  bool(chosen["lexical_top"]))
    info = index.articles[found.article_row]
    quote = Quote(text=text[start:end], article_id=info.article_id, title=info.title,
                  source=info.source, url=info.url, published=info.published,
                  paragraph=found.paragraph[lo] + 1, start=start, end=end,
                  score=round(confidence, 4), passage_id=hit.passage_id)
    return quote, confidence, evidence
