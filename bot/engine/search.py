"""Hybrid retrieval: dense passage and sentence vectors (FAISS) fused with BM25."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from bot.engine.answer_types import AnswerType, asked_type
from bot.engine.cosines import similarities
from bot.engine.dates import published_day
from bot.engine.filters import Filters
from bot.engine.periods import Period
from bot.engine.publishers import SourceNames
from bot.engine.text import stems, terms
from index import IndexView, same_language
from index import detect_language as detect

RRF_K = 60  # reciprocal-rank fusion's usual constant (Cormack et al. 2009): 1 / (60 + rank)
# BM25's idf (the formula below, with 0.5 smoothing dropped) of a term in 4 % of the passages:
# words that common are left out of the lexical search, unless nothing else is left.
COMMON_IDF = math.log(1 + (1 - 0.04 + 0.0) / 0.04)  # terms in more than ~4 % of passages
MODES = ("hybrid", "dense", "lexical")
MAX_VARIANTS = 4  # spellings of a word looked for besides its own
DEMONYM_ENDINGS = ("n", "an", "ian", "i", "ean")  # Libya(n), Iraq(i), Europ(ean): stems differ


@dataclass
class QueryTerms:
    """A question's content stems, their fuzzy spelling variants, and idf weights."""

    stems: list[str]
    variants: dict[str, list[str]] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)
    unknown: float = 0.0  # idf-weighted share of terms found nowhere in the index
    text: str = ""  # the question (or topic) as asked
    asked: AnswerType = AnswerType.ANY  # the kind of answer the question asks for
    language: str | None = None  # the question's language ("ar"), None when undecided

    def phrases(self, min_idf: float = 0.0) -> list[str]:
        """The question's terms and their variants, for BM25; terms in most passages (idf
        below `min_idf`) are left out unless nothing else is left: they rank little."""
        kept = [s for s in self.stems if self.idf.get(s, 0.0) >= min_idf] or self.stems
        return [alternative for stem in kept
                for alternative in (stem, *self.variants.get(stem, []))]

    def coverage(self, text_stems: set[str] | frozenset[str],
                 weights: Mapping[str, float] | None = None) -> float:
        """Share of the question's terms found (in any spelling) in a text, each weighted by
        its idf, or by `weights` (stem -> weight) when given."""
        total, groups = self._spellings if weights is None else self._grouped(weights)
        if total <= 0:
            return 0.0
        return sum(weight for weight, spellings in groups
                   if not spellings.isdisjoint(text_stems)) / total

    @functools.cached_property
    def _spellings(self) -> tuple[float, list[tuple[float, frozenset[str]]]]:
        """The idf total, and each term's weight with all its spellings (for `coverage`,
        which quoting calls for every sentence of every hit)."""
        return self._grouped(self.idf)

    def _grouped(self, weights: Mapping[str, float]
                 ) -> tuple[float, list[tuple[float, frozenset[str]]]]:
        """The weights' total, and each term's weight with all its spellings."""
        return sum(weights.values()), [
            (weight, frozenset((stem, *self.variants.get(stem, ()))))
            for stem, weight in weights.items()]


@dataclass
class Hit:
    """A passage ranked for a question."""

    passage_id: int
    score: float
    dense: float = 0.0
    sentence: float = 0.0
    lexical_rank: int | None = None


class Retriever:
    """Ranks passages of one loaded index for a question vector and its words."""

    def __init__(self, index: IndexView, dense_k: int = 50, lexical_k: int = 50) -> None:
        self.index = index
        self.dense_k = dense_k
        self.lexical_k = lexical_k
        self.doc_count = max(1, index.passage_count)
        self._variant_memo: dict[tuple[str, bool], list[str]] = {}  # questions share words
        self._languages: dict[int, str | None] = {}  # article row -> language

    def article_language(self, article_row: int) -> str | None:
        """An article's language: as declared (front matter, feed), else read off its first
        paragraphs once."""
        if article_row not in self._languages:
            declared = self.index.articles[article_row].language
            self._languages[article_row] = (declared or detect(
                self.index.article_text(article_row)[:1000]))
        return self._languages[article_row]

    def passage_language(self, passage_id: int) -> str | None:
        """The language of the article a passage belongs to."""
        return self.article_language(self.index.passage(passage_id)[0])

    def query_terms(self, question: str, loose: bool = False) -> QueryTerms:
        """The question's terms with their spelling variants in the index and idf weights;
        `loose` (for followed topics, a word or two typed once): only words the articles never
        use get variants, and those of five letters one more edit ("Lybia" for "Libya")."""
        words = terms(question)
        stemmed = list(dict.fromkeys(stems(words)))
        query = QueryTerms(stemmed, text=question, asked=asked_type(question),
                           language=detect(question))
        vocab = self.index.vocabulary
        for stem in stemmed:
            if loose and vocab.get(stem):  # a topic word the articles use is taken as typed
                people = [stem + end for end in DEMONYM_ENDINGS if vocab.get(stem + end)]
                if people:  # ("Libya", not "liber"), with its people's word ("Libyan")
                    query.variants[stem] = people
                continue
            # Shorter words and numbers have too many neighbours a letter away to guess.
            if len(stem) >= 5 and stem.isalpha():
                found = self._cached_variants(stem, loose)
                if found:
                    query.variants[stem] = found
        # BM25's idf (FTS5's formula), a word's frequency being its commonest spelling's, so a
        # misspelt question word weighs what the word it stands for weighs.
        missing = 0.0
        for stem in stemmed:
            df = max([vocab.get(stem, 0)] + [vocab.get(v, 0) for v in query.variants.get(stem, [])])
            query.idf[stem] = math.log(1 + (self.doc_count - df + 0.5) / (df + 0.5))
            missing += query.idf[stem] if df == 0 else 0.0
        total = sum(query.idf.values())
        query.unknown = missing / total if total else 0.0
        return query

    def _cached_variants(self, stem: str, loose: bool) -> list[str]:
        """`_variants`, kept for the Retriever's life (one index version: a new version gets
        a new Retriever); started over past 100,000 words so a long-running bot stays flat."""
        key = (stem, loose)
        found = self._variant_memo.get(key)
        if found is None:
            if len(self._variant_memo) > 100_000:
                self._variant_memo.clear()
            found = self._variant_memo[key] = self._variants(stem, loose)
        return found

    def _variants(self, stem: str, loose: bool = False) -> list[str]:
        """Spellings within a small edit distance in the index vocabulary (Hifter ~ Haftar)."""
        max_distance = 2 if len(stem) >= (5 if loose else 6) else 1
        spread = 1 if loose else max_distance  # a typo keeps a word's length, give or take one
        candidates: list[str] = []
        for length in range(len(stem) - spread, len(stem) + spread + 1):
            candidates.extend(self.index.terms_like(stem[0], length))
        found = process.extract(stem, [c for c in candidates if c != stem],
                                scorer=Levenshtein.distance, score_cutoff=max_distance,
                                limit=MAX_VARIANTS)
        return [term for term, _, _ in found]

    def search(self, vector: np.ndarray, query: QueryTerms, k: int = 10,
               mode: str = "hybrid", among: np.ndarray | None = None) -> list[Hit]:
        """Top passages by reciprocal-rank fusion of the dense and lexical rankings; with
        `among` (article rows), only those articles' passages."""
        hits: dict[int, Hit] = {}
        rankings: list[list[int]] = []
        if mode in ("hybrid", "dense"):
            rankings.append(self._dense_passages(vector, among, hits))
            rankings.append(self._dense_sentences(vector, among, hits))
        if mode in ("hybrid", "lexical") and query.stems:
            lexical_ids = self.lexical(query, among)
            if mode == "hybrid" and query.language is not None:
                # Words shared across languages ("de", names) are no lexical evidence: in
                # another language's passages only the dense rankings count.
                lexical_ids = [pid for pid in lexical_ids
                               if same_language(query.language, self.passage_language(pid))]
            for rank, pid in enumerate(lexical_ids):
                hits.setdefault(pid, Hit(pid, 0.0)).lexical_rank = rank
            rankings.append(lexical_ids)
        for ranking in rankings:
            for rank, pid in enumerate(ranking):
                hits[pid].score += 1.0 / (RRF_K + rank + 1)
        ordered = sorted(hits.values(), key=lambda h: h.score, reverse=True)[:k]
        self._fill_dense(ordered, vector)
        return ordered

    def _dense_passages(self, vector: np.ndarray, among: np.ndarray | None,
                        hits: dict[int, Hit]) -> list[int]:
        """Passage ids nearest the vector, best first; each hit gets its cosine."""
        if among is None:
            scores, ids = self.index.search_passages(vector, self.dense_k)
        else:
            scores, ids = self.index.search_within(vector, among, self.dense_k)
        scores = similarities(self.index, scores)
        dense_ids = [int(i) for i in ids]
        for pid, score in zip(dense_ids, scores, strict=True):
            hits.setdefault(pid, Hit(pid, 0.0)).dense = float(score)
        return dense_ids

    def _dense_sentences(self, vector: np.ndarray, among: np.ndarray | None,
                         hits: dict[int, Hit]) -> list[int]:
        """Passage ids by their best sentence's nearness to the vector, best first; each hit
        gets that sentence's cosine."""
        # Twice as many sentences as passages: a passage's several sentences often come back
        # together, and the ranking is of passages.
        if among is None:
            sscores, pids = self.index.search_sentences(vector, self.dense_k * 2)
        else:
            sscores, pids = self.index.search_within(vector, among, self.dense_k * 2, False)
        sscores = similarities(self.index, sscores)
        # Each passage once, at its best sentence's rank, with that sentence's score.
        first = np.sort(np.unique(pids, return_index=True)[1])
        best = dict(zip(pids[first].tolist(), sscores[first].tolist(), strict=True))
        for pid, score in best.items():
            hits.setdefault(pid, Hit(pid, 0.0)).sentence = score
        return list(best)

    def lexical(self, query: QueryTerms, among: np.ndarray | None = None) -> list[int]:
        """Passage ids by BM25 over the question's terms, best first (among some article rows
        only: the best of a longer list that belong to them)."""
        phrases = query.phrases(COMMON_IDF)
        if among is None:
            return self.index.lexical.search(phrases, self.lexical_k)
        allowed = set(among.tolist())
        # The index searches all passages: 20 times as many, for enough within the filter.
        found = self.index.lexical.search(phrases, self.lexical_k * 20)
        return [pid for pid in found if self.index.passage(pid)[0] in allowed][:self.lexical_k]

    @functools.cached_property
    def _dated(self) -> tuple[np.ndarray, np.ndarray]:
        """Dated articles' publication days (ordinals, sorted) and their rows."""
        days, rows = [], []
        facets = self.index.articles.facets()
        for row, published in zip(facets.rows.tolist(), facets.published, strict=True):
            day = published_day(published)
            if day is not None:
                days.append(day.toordinal())
                rows.append(row)
        order = np.argsort(np.asarray(days, np.int64), kind="stable")
        return np.asarray(days, np.int64)[order], np.asarray(rows, np.int64)[order]

    @functools.cached_property
    def _by_source(self) -> dict[str, np.ndarray]:
        rows: dict[str, list[int]] = {}
        facets = self.index.articles.facets()
        for row, source in zip(facets.rows.tolist(), facets.sources, strict=True):
            if source:
                rows.setdefault(source, []).append(row)
        return {name: np.asarray(found, np.int64) for name, found in rows.items()}

    @functools.cached_property
    def sources(self) -> SourceNames:
        """The publishers of the articles, for questions that name one."""
        return SourceNames(sorted(self._by_source))

    @property
    def has_dates(self) -> bool:
        return bool(len(self._dated[0]))

    def rows_within(self, filters: Filters) -> np.ndarray | None:
        """The article rows the filters allow (sorted); None when nothing is filtered."""
        if not filters.active:
            return None
        rows: np.ndarray | None = None
        if filters.period is not None:
            days, dated = self._dated
            start, end = filters.period.start, filters.period.end
            low = 0 if start is None else int(np.searchsorted(days, start.toordinal(), "left"))
            high = (len(days) if end is None
                    else int(np.searchsorted(days, end.toordinal(), "right")))
            rows = np.sort(dated[low:high])
        if filters.sources:
            chosen = np.unique(np.concatenate([self._by_source.get(name, np.zeros(0, np.int64))
                                               for name in filters.sources]))
            rows = chosen if rows is None else np.intersect1d(rows, chosen)
        return rows

    def nearest_dated(self, period: Period, count: int = 3) -> list[int]:
        """The rows of the dated articles published nearest to a period, nearest first."""
        days, rows = self._dated
        if not len(days):
            return []
        # An open end is a day no article is published on (before or after any ordinal).
        start = period.start.toordinal() if period.start else -(10 ** 9)
        end = period.end.toordinal() if period.end else 10 ** 9
        distance = np.maximum(start - days, 0) + np.maximum(days - end, 0)
        order = np.lexsort((-days, distance))[:count]
        return [int(r) for r in rows[order]]

    def uses_words(self, name: str) -> bool:
        """Whether the articles use every word of a name (a person they quote, say)."""
        words = stems(terms(name))
        vocab = self.index.vocabulary
        return bool(words) and all(vocab.get(w) for w in words)

    def _fill_dense(self, hits: list[Hit], vector: np.ndarray) -> None:
        """Cosines for hits found only lexically, so every hit carries dense evidence."""
        # 0.0 means "not found by that ranking": the rank score and the support need every
        # hit's similarities, not only those the dense searches happened to return.
        for hit in hits:
            if hit.dense == 0.0 or hit.sentence == 0.0:
                sentence_vectors = self.index.sentence_vectors(hit.passage_id)
                if len(sentence_vectors):
                    cos = similarities(self.index, sentence_vectors @ vector)
                    hit.sentence = max(hit.sentence, float(cos.max()))
                if hit.dense == 0.0:
                    hit.dense = float(similarities(
                        self.index, self.index.passage_vector(hit.passage_id) @ vector))
