"""What the engine reads of one index version, whichever backend holds it: the FAISS segments
on disk (index.reader.LoadedIndex) or the tables in PostgreSQL (index.pg.PgIndex).

Passage ids, article rows and offsets mean the same in both; every text is an article's stored
text, and a quote is `article_text(row)[start:end]`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import NamedTuple, Protocol

import numpy as np

from index.publish import Manifest
from index.segment import ArticleInfo

__all__ = ["ArticlesInOrder", "Facets", "IndexView", "Lexical"]


class Facets(NamedTuple):
    """Every live article's row, corpus position, date, publisher and language, in corpus
    order: what filters, the newest-first order and stories need of all the articles, without
    their titles or texts (one query with the PostgreSQL index)."""

    rows: np.ndarray
    positions: np.ndarray
    published: list[str | None]
    sources: list[str | None]
    languages: list[str | None]

    @classmethod
    def of(cls, infos: Iterator[ArticleInfo] | list[ArticleInfo]) -> Facets:
        found = sorted(infos, key=lambda a: a.position)
        return cls(np.array([a.row for a in found], np.int64),
                   np.array([a.position for a in found], np.int64),
                   [a.published for a in found], [a.source for a in found],
                   [a.language for a in found])


class ArticlesInOrder(Mapping[int, ArticleInfo]):
    """A version's live articles by row, iterated in corpus order (`order`: the rows, 8 bytes
    an article); each backend says how one article's record is read (`_read`)."""

    def __init__(self, order: np.ndarray) -> None:
        self.order = order
        self._sorted = np.sort(order)
        self._positions = np.argsort(order, kind="stable")

    def position(self, row: int) -> int | None:
        """The row's place in corpus order; None when the version does not hold it."""
        at = int(np.searchsorted(self._sorted, row))
        if at >= len(self._sorted) or self._sorted[at] != row:
            return None
        return int(self._positions[at])

    def _read(self, row: int, position: int) -> ArticleInfo | None:
        raise NotImplementedError

    def facets(self) -> Facets:
        """The live articles' rows, positions, dates, publishers and languages."""
        return Facets.of(list(self.values()))

    def __getitem__(self, row: int) -> ArticleInfo:
        position = self.position(int(row))
        found = None if position is None else self._read(int(row), position)
        if found is None:
            raise KeyError(row)
        return found

    def __contains__(self, row: object) -> bool:
        return isinstance(row, int | np.integer) and self.position(int(row)) is not None

    def __iter__(self) -> Iterator[int]:
        return (int(r) for r in self.order)

    def __len__(self) -> int:
        return len(self.order)


class Lexical(Protocol):
    """BM25 over the version's live passages (index.lexical.Bm25's ranking)."""

    def search(self, phrases: list[str], k: int) -> list[int]:
        """Passage ids by the sum of each phrase's BM25 score, best first; ties by id."""
        ...

    def ranked(self, phrases: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """The passage ids `search` gives, and their scores."""
        ...


class IndexView(Protocol):
    """One index version as the engine and the article page read it."""

    memo: dict[object, object]  # per-version caches of derived values (quoting)

    @property
    def manifest(self) -> Manifest: ...

    @property
    def version(self) -> str: ...

    @property
    def location(self) -> str:
        """Where the index is, for messages (a folder, a database without its password)."""
        ...

    @property
    def probe(self) -> np.ndarray | None:
        """The passage encoder's vectors of the probe sentences (index.encoders)."""
        ...

    @property
    def articles(self) -> ArticlesInOrder:
        """Live articles by row, iterated in corpus order."""
        ...

    @property
    def by_article_id(self) -> Mapping[str, ArticleInfo]: ...

    @property
    def lexical(self) -> Lexical: ...

    @property
    def vocabulary(self) -> Mapping[str, int]:
        """Live terms (as stored: porter stems) and how many live passages hold each."""
        ...

    @property
    def passage_count(self) -> int: ...

    @property
    def sentence_count(self) -> int: ...

    def terms_like(self, first: str, length: int) -> list[str]:
        """Live alphabetic terms starting with `first`, of `length` letters."""
        ...

    def article_text(self, article_row: int) -> str: ...

    def passage(self, passage_id: int) -> tuple[int, int, int, int]:
        """(article row, paragraph, start, end) of a passage."""
        ...

    def passage_vector(self, passage_id: int) -> np.ndarray: ...

    def sentence_spans(self, passage_id: int) -> np.ndarray:
        """(start, end) of each of a passage's sentences, in order."""
        ...

    def sentence_vectors(self, passage_id: int) -> np.ndarray: ...

    def article_passages(self, article_row: int) -> list[int]: ...

    def search_passages(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The `k` live passages nearest to `vector`: (cosines, passage ids), best first."""
        ...

    def search_sentences(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The `k` live sentences nearest to `vector`: (cosines, their passage ids)."""
        ...

    def search_within(self, vector: np.ndarray, article_rows: np.ndarray, k: int,
                      passages: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """`search_passages` (or `search_sentences`) among some live articles only."""
        ...

    def disk_bytes(self) -> int: ...

    def close(self) -> None: ...
