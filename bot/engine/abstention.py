"""Whether the articles answer at all (support against ABSTAIN_THRESHOLD), and, when they do
not, whether one article stands out enough to show its lead as "This may be related:"."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from bot.engine.lookups import lead
from bot.engine.quote import Quote
from bot.engine.ranking import title_stems
from bot.engine.search import QueryTerms
from bot.engine.text import stems, terms
from index import IndexView, primary_language, same_language
from index.encoders import MULTILINGUAL_MODEL
from index.settings import PACKAGED_MODEL

# Fitted (logistic, then the threshold) on the "fit" halves of the news benchmark's answerable
# and unanswerable questions and of SQuAD's questions about indexed and left-out articles,
# checked on the other halves: `python -m benchmarks.fit_support`. The news questions are split
# by a CRC32 of their article's id, SQuAD's by a CRC32 of the question's text, so no half sees
# the other's questions. The regression ran on standardised features but these are its raw
# weights (divided back by each feature's spread): they apply to the evidence as `support`
# computes it. Its bias is not used; the threshold (CALIBRATIONS) takes its place.
# The features overlap (confidence is itself a weighted sum of the similarities, coverage and
# the lexical ranking's agreement: `quote.confidence_score`), so one weight alone, such as
# confidence's negative one, says little: only the sum is calibrated. "unknown" (the share of
# the question's words no article has) is negative: a question in words the index lacks is
# likely about an article that is not there.
SUPPORT_WEIGHTS = {"confidence": -5.696, "confidence_margin": 3.241, "rare_coverage": 4.391,
                   "margin": 0.132, "sentence": 7.342, "unknown": -1.893, "reader": 0.0,
                   "reader_margin": 0.0}
# "reader" and "reader_margin" (the reader's probability for the best quote, and over another
# article's) are evidence the refit weighs; its refit with them (reader 2.04, margin -1.67)
# kept false abstention on the news fit half within 0.05 only at a threshold that abstained
# far less on questions the articles do not answer (docs/reader.md), so they stay at 0 here.
# Where the question's language differs from the quote's, no word evidence is shared (and the
# word evidence reads English only): the multilingual model's own calibration on dense
# evidence alone (`benchmarks.languages --fit`).
WORD_EVIDENCE_LANGUAGES = frozenset({"en"})
CROSS_LINGUAL_FEATURES = ("confidence", "confidence_margin", "sentence", "dense", "margin")
RELATED_TITLE_SHARE = 0.5  # of the question's rarity-weighted words the nearest title must hold

Scored = list[tuple[Quote, float, dict[str, float]]]


@dataclass(frozen=True)
class Calibration:
    """Support weights and the threshold below which the bot abstains, fitted for one model
    and one relation between the question's language and the quote's."""

    weights: Mapping[str, float]
    threshold: float


# 2.87: the highest support at which false abstention stayed within 5 % on every fit half
# (news, SQuAD alone, SQuAD among the BBC articles; news: 0.046). ABSTAIN_THRESHOLD
# overrides it: higher refuses more questions about missing articles at the price of refusing
# answerable ones (docs/benchmarks.md, "The trade-off").
CALIBRATIONS: dict[tuple[str, bool], Calibration] = {
    (PACKAGED_MODEL, False): Calibration(SUPPORT_WEIGHTS, 2.87),
    (MULTILINGUAL_MODEL, False): Calibration(SUPPORT_WEIGHTS, 2.87),
    # Fitted on XQuAD's ar, de, es, ru and zh questions over its paragraphs plus 100 BBC
    # articles (l2 = 1, false abstention <= 0.1 on the fit half); on the other half it
    # refused 0.80 of the questions about left-out articles and 0.065 of the answerable ones.
    (MULTILINGUAL_MODEL, True): Calibration(
        {"confidence": -10.273, "confidence_margin": 30.234, "sentence": 14.444,
         "dense": 5.507, "margin": 0.086}, 4.872),
}


def calibration(model: str, dense_only: bool = False) -> Calibration:
    """The calibration fitted for `model` (the packaged model's where none was), on all the
    evidence or (`dense_only`) on the vectors' alone."""
    return (CALIBRATIONS.get((model, dense_only)) or CALIBRATIONS.get((model, False))
            or CALIBRATIONS[(PACKAGED_MODEL, False)])


def dense_only(question_language: str | None, quote_language: str | None) -> bool:
    """Whether the support must rest on the vectors alone: the question is in another language
    than the quote, or in one whose words the word evidence does not read (its stemmer,
    stop words and weights are English's: an Arabic or Chinese question sharing words with an
    Arabic or Chinese quote would score as sharing none)."""
    if not same_language(question_language, quote_language):
        return True
    return question_language is not None and (
        primary_language(question_language) not in WORD_EVIDENCE_LANGUAGES)


def support(query: QueryTerms, scored: Scored, one_article: bool = False,
            weights: Mapping[str, float] = SUPPORT_WEIGHTS) -> dict[str, float]:
    """Evidence that the articles answer: the best quote's rank score and similarities, its
    margin over the best quote from another article (a real answer stands out; a merely
    similar article does not), and how much of the question's wording the quote holds, each
    word weighted by its rarity in English (wordfreq), which unlike the index's idf means the
    same in a small corpus and a large one; "support" is their weighted sum. In an index of
    `one_article`, the margin is over the next passage: there is no other article to stand out
    from (among several, no other article in the hits is itself a sign of a real answer)."""
    top, confidence, evidence = scored[0]
    # The margins are taken over other articles only: a second passage of the best quote's own
    # article agreeing with it is no sign that the answer stands out. With no rival at all
    # the margin is the whole score (a rival scoring 0).
    rivals = [(c, e) for q, c, e in scored[1:] if one_article or q.article_id != top.article_id]
    best_rank = max((e["rank"] for _, e in rivals), default=0.0)
    best_confidence = max((c for c, _ in rivals), default=0.0)
    best_reader = max((e.get("reader", 0.0) for _, e in rivals), default=0.0)
    found = {"margin": evidence["rank"] - best_rank,
             "confidence": confidence,
             "confidence_margin": confidence - best_confidence,
             "rare_coverage": rare_coverage(query, frozenset(stems(terms(top.text)))),
             # the reader's probability over the best another article's quote was given
             "reader_margin": evidence.get("reader", 0.0) - best_reader}
    # A feature the weights name but neither dict holds (the cross-lingual "dense" is in
    # `evidence`; an unread quote has no "reader") counts as 0.
    values = {**evidence, **found}
    found["support"] = sum(w * values.get(k, 0.0) for k, w in weights.items())
    return found


def rare_coverage(query: QueryTerms, text_stems: frozenset[str]) -> float:
    """Share of the question's words (any spelling the index knows) a text holds, each word
    weighted by its rarity in the question's language (English where wordfreq lacks it)."""
    weights: dict[str, float] = {}
    language = query.language if query.language in RARITY_LANGUAGES else "en"
    for word in terms(query.text):
        stem = stems([word])[0]
        # Two words of one stem ("talks", "talk") count once, at the rarer's weight.
        weights[stem] = max(weights.get(stem, 0.0), rarity(word, language))
    return query.coverage(text_stems, weights)


def related(index: IndexView, query: QueryTerms, scored: Scored) -> Quote | None:
    """The lead of the nearest article when its title holds most of the question's rare
    words (the question is about that article, though no sentence of it answers); None
    otherwise."""
    if not scored:
        return None
    info = index.by_article_id.get(scored[0][0].article_id)
    if info is None or rare_coverage(query, title_stems(index, info.row)) < RELATED_TITLE_SHARE:
        return None
    return lead(index, info.article_id)


RARITY_LANGUAGES = frozenset(
    "ar bg bn ca cs da de el en es fa fi fr he hi hu id it lt lv mk ms nb nl pl pt ro ru "
    "sk sl sv ta tr uk ur vi".split())  # wordfreq's "best" lists (zh, ja, ko need segmenters)


@functools.lru_cache(maxsize=200_000)
def rarity(word: str, language: str = "en") -> float:
    """0 for the commonest words of the language, up to 7 for words wordfreq has never seen."""
    # On the Zipf scale 7 is once in 100 words ("the", "of" and a few more reach it) and 0 a
    # word wordfreq never saw. Kept per word (lru_cache): questions reuse their words, and
    # every question's support reads each of them.
    from wordfreq import zipf_frequency

    return max(0.0, 7.0 - zipf_frequency(word, language))
