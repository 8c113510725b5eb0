"""BM25 over the passages in memory, read from the catalog's FTS5 index.

The tokens, document lengths and formula are FTS5's own (`bm25()`: k1 1.2, b 0.75, idf
clamped at 1e-6), so the ranking is the one `ORDER BY rank` gives, with two differences: no
SQL query per question, and terms are looked up as stored. FTS5 would stem a query term again,
and a stem is not always its own stem ("accus" becomes "accu"), so such terms matched nothing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

K1 = 1.2
B = 0.75
MIN_IDF = 1e-6


class Bm25:
    """Postings of every term (passage positions and BM25 term weights) in flat arrays."""

    def __init__(self, terms: list[str], indptr: np.ndarray, docs: np.ndarray,
                 weights: np.ndarray, idf: np.ndarray, passage_ids: np.ndarray) -> None:
        self.terms = {term: i for i, term in enumerate(terms)}
        self.indptr, self.docs, self.weights = indptr, docs, weights
        self.idf, self.passage_ids = idf, passage_ids

    @property
    def document_frequency(self) -> dict[str, int]:
        """How many passages hold each term (FTS5's fts5vocab `doc` column)."""
        counts = np.diff(self.indptr)
        return {term: int(counts[i]) for term, i in self.terms.items()}

    @classmethod
    def from_catalog(cls, conn: sqlite3.Connection) -> Bm25:
        """Read every token instance of the catalog's FTS5 table (about 1.5 s per million)."""
        conn.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.passages_instances "
                     "USING fts5vocab(main, passages_fts, instance)")
        vocabulary: dict[str, int] = {}
        term_parts, rowid_parts = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        cursor = conn.execute("SELECT term, doc FROM temp.passages_instances")
        while rows := cursor.fetchmany(1 << 18):  # in chunks: a list of tuples is ~100 B each
            term_parts.append(np.fromiter(
                (vocabulary.setdefault(term, len(vocabulary)) for term, _ in rows), np.int64,
                len(rows)))
            rowid_parts.append(np.fromiter((doc for _, doc in rows), np.int64, len(rows)))
        term_ids, rowids = np.concatenate(term_parts), np.concatenate(rowid_parts)
        passage_ids = np.unique(rowids)
        positions = np.searchsorted(passage_ids, rowids)
        order = np.lexsort((positions, term_ids))
        term_ids, positions = term_ids[order], positions[order]
        # One entry per (term, passage): its first instance, with the run length as frequency.
        first = np.ones(len(order), dtype=bool)
        first[1:] = (term_ids[1:] != term_ids[:-1]) | (positions[1:] != positions[:-1])
        starts = np.flatnonzero(first)
        frequency = np.diff(np.append(starts, len(order))).astype(np.float64)
        docs = positions[starts]
        lengths = np.bincount(positions, minlength=len(passage_ids)).astype(np.float64)
        # FTS5 counts every row, even one without tokens, in the row count and mean length.
        count = max(len(passage_ids), conn.execute(
            "SELECT count(*) FROM passages_fts_docsize").fetchone()[0], 1)
        mean_length = max(lengths.sum() / count, 1e-9)
        norm = K1 * (1 - B + B * lengths[docs] / mean_length)
        weights = frequency * (K1 + 1) / (frequency + norm)
        indptr = np.searchsorted(term_ids[starts], np.arange(len(vocabulary) + 1))
        hits = np.diff(indptr).astype(np.float64)
        idf = np.maximum(np.log((count - hits + 0.5) / (hits + 0.5)), MIN_IDF)
        return cls(list(vocabulary), indptr, docs.astype(np.int32), weights.astype(np.float32),
                   idf, passage_ids)

    def save(self, path: Path) -> None:
        with path.open("wb") as handle:
            np.savez(handle, terms=np.frombuffer("\n".join(self.terms).encode(), np.uint8),
                     indptr=self.indptr, docs=self.docs, weights=self.weights, idf=self.idf,
                     passage_ids=self.passage_ids)

    @classmethod
    def load(cls, path: Path) -> Bm25:
        with np.load(path) as data:
            text = data["terms"].tobytes().decode()
            return cls(text.split("\n") if text else [], data["indptr"], data["docs"],
                       data["weights"], data["idf"], data["passage_ids"])

    def search(self, phrases: list[str], k: int) -> list[int]:
        """Passage ids by the sum of each phrase's BM25 score (phrases that occur twice count
        twice, as in an FTS5 OR query), best first; ties in passage order."""
        found = [self.terms[p] for p in phrases if p in self.terms]
        if not found:
            return []
        docs = np.concatenate([self.docs[self.indptr[t]:self.indptr[t + 1]] for t in found])
        scores = np.concatenate([self.weights[self.indptr[t]:self.indptr[t + 1]] * self.idf[t]
                                 for t in found])
        passages, inverse = np.unique(docs, return_inverse=True)
        totals = np.bincount(inverse, weights=scores)
        if len(totals) > k:  # the k best, and every passage tied with the last of them
            keep = totals >= np.partition(totals, len(totals) - k)[len(totals) - k]
            passages, totals = passages[keep], totals[keep]
        order = np.lexsort((passages, -totals))[:k]
        return [int(self.passage_ids[p]) for p in passages[order]]

