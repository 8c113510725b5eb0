"""BM25 over the passages of every segment, with corpus-wide statistics.

Each segment stores its postings (`Postings`: term frequencies and passage lengths, read once
from the segment catalog's FTS5 index). `Bm25` scores a question over all live segments with
the document frequencies, passage count and mean length summed over them, deleted passages
left out, so the ranking equals that of one index built from the same articles.

The tokens, lengths and formula are FTS5's own (`bm25()`: k1 1.2, b 0.75, idf clamped at
1e-6), so one segment ranks as `ORDER BY rank` does, with two differences: no SQL query per
question, and terms are looked up as stored. FTS5 would stem a query term again, and a stem is
not always its own stem ("accus" becomes "accu"), so such terms matched nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

# FTS5's bm25() constants, so that one segment ranks as `ORDER BY rank` would; MIN_IDF is its
# clamp for terms in more than half the passages, whose idf would be negative.
K1 = 1.2
B = 0.75
MIN_IDF = 1e-6


# The postings are held in memory as compressed-row arrays (one slice of `docs` and `frequency`
# per term) rather than queried from FTS5 per question: a question's BM25 then costs a few
# array slices per segment, and the statistics can be summed over segments, which one FTS5
# table per segment cannot do.
class Postings:
    """One segment's postings: for each term, the passage rows (positions in the segment's
    id order) holding it and how often; and every passage's length in tokens."""

    def __init__(self, terms: list[str], indptr: np.ndarray, docs: np.ndarray,
                 frequency: np.ndarray, lengths: np.ndarray, passage_ids: np.ndarray) -> None:
        self.terms = {term: i for i, term in enumerate(terms)}
        self.indptr, self.docs, self.frequency = indptr, docs, frequency
        self.lengths, self.passage_ids = lengths, passage_ids

    @classmethod
    def from_catalog(cls, conn: sqlite3.Connection) -> Postings:
        """Read every token instance of the catalog's FTS5 table (about 1.5 s per million)."""
        conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.passages_instances "
                     "USING fts5vocab(main, passages_fts, instance)")
        passage_ids = np.fromiter((r[0] for r in conn.execute(
            "SELECT id FROM passages ORDER BY id")), np.int64)
        vocabulary: dict[str, int] = {}
        term_parts, rowid_parts = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        cursor = conn.execute("SELECT term, doc FROM temp.passages_instances")
        while rows := cursor.fetchmany(1 << 18):  # in chunks: a list of tuples is ~100 B each
            term_parts.append(np.fromiter(
                (vocabulary.setdefault(term, len(vocabulary)) for term, _ in rows), np.int64,
                len(rows)))
            rowid_parts.append(np.fromiter((doc for _, doc in rows), np.int64, len(rows)))
        term_ids, rowids = np.concatenate(term_parts), np.concatenate(rowid_parts)
        # FTS5 names passages by rowid (the passage id); the arrays index them by row.
        positions = np.searchsorted(passage_ids, rowids)
        # Grouped by term, then by passage: each term's postings become one contiguous slice.
        order = np.lexsort((positions, term_ids))
        term_ids, positions = term_ids[order], positions[order]
        # One entry per (term, passage): its first instance, with the run length as frequency.
        first = np.ones(len(order), dtype=bool)
        first[1:] = (term_ids[1:] != term_ids[:-1]) | (positions[1:] != positions[:-1])
        starts = np.flatnonzero(first)
        frequency = np.diff(np.append(starts, len(order))).astype(np.float32)
        # A passage's length is its count of token instances, as FTS5's bm25() counts it.
        lengths = np.bincount(positions, minlength=len(passage_ids)).astype(np.float32)
        # indptr[t]:indptr[t + 1] is term t's slice (its first entry and one past its last).
        indptr = np.searchsorted(term_ids[starts], np.arange(len(vocabulary) + 1))
        return cls(list(vocabulary), indptr, positions[starts].astype(np.int32), frequency,
                   lengths, passage_ids)

    def save(self, path: Path) -> None:
        with path.open("wb") as handle:
            np.savez(handle, terms=np.frombuffer("\n".join(self.terms).encode(), np.uint8),
                     indptr=self.indptr, docs=self.docs, frequency=self.frequency,
                     lengths=self.lengths, passage_ids=self.passage_ids)

    @classmethod
    def load(cls, path: Path) -> Postings:
        with np.load(path) as data:
            text = data["terms"].tobytes().decode()
            return cls(text.split("\n") if text else [], data["indptr"], data["docs"],
                       data["frequency"], data["lengths"], data["passage_ids"])

    def live_frequency(self, live: np.ndarray | None) -> dict[str, int]:
        """How many live passages hold each term (FTS5's fts5vocab `doc` column)."""
        if live is None:
            counts = np.diff(self.indptr)
        else:
            # Running count of live entries: a term's live passages are the difference of
            # the counts at the two ends of its slice, for every term in one pass.
            marks = np.concatenate([[0], np.cumsum(live[self.docs], dtype=np.int64)])
            counts = marks[self.indptr[1:]] - marks[self.indptr[:-1]]
        return {term: int(counts[i]) for term, i in self.terms.items() if counts[i]}


def live_size(part: Postings, live: np.ndarray | None) -> tuple[int, float]:
    """Live passages of a part, and their total length in tokens."""
    if live is None:
        return len(part.lengths), float(part.lengths.sum())
    return int(live.sum()), float(part.lengths[live].sum())


class Frequencies(Mapping[str, int]):
    """Document frequencies summed over segments, term by term when asked (no merged copy:
    a reload costs the new segment, not the vocabulary)."""

    def __init__(self, parts: Sequence[dict[str, int]]) -> None:
        self.parts = list(parts)

    def __getitem__(self, term: str) -> int:
        total = sum(part.get(term, 0) for part in self.parts)
        if not total:
            raise KeyError(term)
        return total

    def get(self, term: str, default: Any = None) -> Any:
        total = sum(part.get(term, 0) for part in self.parts)
        return total or default

    def __contains__(self, term: object) -> bool:
        return any(part.get(term, 0) for part in self.parts)  # type: ignore[call-overload]

    def __iter__(self) -> Iterator[str]:
        seen: set[str] = set()
        for part in self.parts:
            for term in part:
                if term not in seen:
                    seen.add(term)
                    yield term

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Bm25:
    """BM25 over several segments' postings; `live[i]` marks segment i's live passages
    (None: all of them)."""

    def __init__(self, parts: Sequence[Postings],
                 live: Sequence[np.ndarray | None] | None = None,
                 frequencies: Sequence[dict[str, int]] | None = None,
                 sizes: Sequence[tuple[int, float]] | None = None) -> None:
        """`frequencies[i]` and `sizes[i]` (live passages, their total length) of part i
        may be given (remembered per segment); else they are computed."""
        self.parts = list(parts)
        self.live = list(live) if live is not None else [None] * len(self.parts)
        per_part = frequencies or [p.live_frequency(m) for p, m in zip(self.parts, self.live,
                                                                       strict=True)]
        sizes = sizes or [live_size(p, m) for p, m in zip(self.parts, self.live, strict=True)]
        # Passage count and mean length over every live passage of every segment: the idf and
        # length norm one index of the same articles would use. The floors keep an empty
        # index from dividing by zero.
        self.count = max(sum(n for n, _ in sizes), 1)
        self.mean_length = max(sum(t for _, t in sizes) / self.count, 1e-9)
        self.document_frequency = Frequencies(per_part)

    @classmethod
    def from_catalog(cls, conn: sqlite3.Connection) -> Bm25:
        """BM25 over one catalog's passages."""
        return cls([Postings.from_catalog(conn)])

    def idf(self, term: str) -> float:
        hits = self.document_frequency.get(term, 0)
        return max(float(np.log((self.count - hits + 0.5) / (hits + 0.5))), MIN_IDF)

    def search(self, phrases: list[str], k: int) -> list[int]:
        """Passage ids by the sum of each phrase's BM25 score (phrases that occur twice count
        twice, as in an FTS5 OR query), best first; ties in passage id order."""
        return [int(p) for p in self.ranked(phrases, k)[0]]

    def ranked(self, phrases: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """The passage ids `search` gives, and their scores."""
        ids_parts, score_parts = [], []
        for part, live in zip(self.parts, self.live, strict=True):
            # One entry per phrase, repeats kept: a phrase asked twice scores twice.
            found = [part.terms[p] for p in phrases if p in part.terms]
            if not found:
                continue
            # The idf comes from the statistics of all segments, not this one's.
            idf: dict[int, float] = {}
            for phrase in phrases:
                term = part.terms.get(phrase)
                if term is not None:
                    idf[term] = self.idf(phrase)
            docs = np.concatenate([part.docs[part.indptr[t]:part.indptr[t + 1]] for t in found])
            tf = np.concatenate([part.frequency[part.indptr[t]:part.indptr[t + 1]]
                                 for t in found]).astype(np.float64)
            weights = np.concatenate([np.full(part.indptr[t + 1] - part.indptr[t], idf[t])
                                      for t in found])
            norm = K1 * (1 - B + B * part.lengths[docs] / self.mean_length)
            scores = weights * tf * (K1 + 1) / (tf + norm)
            # Deleted passages stay in the postings until a merge rewrites the segment.
            if live is not None:
                keep = live[docs]
                docs, scores = docs[keep], scores[keep]
            # A passage holding several phrases gets the sum of their scores.
            rows, inverse = np.unique(docs, return_inverse=True)
            ids_parts.append(part.passage_ids[rows])
            score_parts.append(np.bincount(inverse, weights=scores))
        if not ids_parts:
            return np.zeros(0, np.int64), np.zeros(0)
        passages, totals = np.concatenate(ids_parts), np.concatenate(score_parts)
        # The k best, and every passage tied with the last of them, so that the sort below
        # breaks those ties by passage id whichever segment they came from.
        if len(totals) > k:
            keep = totals >= np.partition(totals, len(totals) - k)[len(totals) - k]
            passages, totals = passages[keep], totals[keep]
        # Best score first, ties in passage id order: the same order over any segmentation.
        order = np.lexsort((passages, -totals))[:k]
        return passages[order], totals[order]
