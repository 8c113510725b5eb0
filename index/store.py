"""The vector store: FAISS behind a small interface (add, search, save, load)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, cast

import faiss
import numpy as np

# One query at a time is searched per thread (the bot answers questions in parallel threads);
# OpenMP fan-out per query made searches 3x slower on 2 cores.
faiss.omp_set_num_threads(1)


class VectorStore(Protocol):
    """What the index needs from a vector store; a server-backed store can replace FAISS."""

    kind: str

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...
    def save(self, path: Path) -> None: ...
    def __len__(self) -> int: ...


class FaissStore:
    """Inner-product search over normalised vectors; ids are passage (or sentence) row ids."""

    def __init__(self, dimension: int, kind: str = "flat", hnsw_m: int = 32,
                 ef_search: int = 128, index: faiss.Index | None = None,
                 ef_construction: int = 80) -> None:
        self.dimension = dimension
        self.kind = kind
        self.ef_search = ef_search
        if index is None:
            base: faiss.Index
            if kind == "hnsw":
                hnsw = faiss.IndexHNSWFlat(dimension, hnsw_m, faiss.METRIC_INNER_PRODUCT)
                hnsw.hnsw.efConstruction = ef_construction
                base = hnsw
            else:
                base = faiss.IndexFlatIP(dimension)
            index = faiss.IndexIDMap2(base)
        self.index: faiss.Index = index
        self._tune()

    def _tune(self) -> None:
        if self.kind == "hnsw":
            inner = cast(faiss.IndexIDMap2, self.index).index
            cast(faiss.IndexHNSW, faiss.downcast_index(inner)).hnsw.efSearch = self.ef_search

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if not len(ids):
            return
        previous = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # building uses every core
        try:
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32),
                                    np.asarray(ids, dtype=np.int64))
        finally:
            faiss.omp_set_num_threads(previous)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, len(self)))
        if len(self) == 0:
            return (np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64))
        return self.index.search(queries, k)

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, ef_search: int = 128) -> FaissStore:
        index = faiss.read_index(str(path))
        base = faiss.downcast_index(index.index) if hasattr(index, "index") else index
        kind = "hnsw" if isinstance(base, faiss.IndexHNSW) else "flat"
        return cls(index.d, kind, ef_search=ef_search, index=index)

    def __len__(self) -> int:
        return int(self.index.ntotal)


def choose_kind(setting: str, count: int, threshold: int) -> str:
    """Exact search below the threshold, HNSW above, unless the setting names one."""
    if setting in ("flat", "hnsw"):
        return setting
    return "hnsw" if count >= threshold else "flat"
