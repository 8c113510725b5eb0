"""The vector store: FAISS behind a small interface (add, search, save, load).

Vectors are stored as 8-bit scalar codes (`codec` "sq8": 384 bytes for 384 dimensions instead
of 1,536) or as float32 ("float"); the index re-ranks the candidates of an sq8 store with the
exact vectors it keeps on disk. Stores are read memory-mapped, so replicas on one machine share
the page cache and a reload does not copy them into memory.
"""

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
    def search(self, queries: np.ndarray, k: int,
               excluded: Exclusion | None = None) -> tuple[np.ndarray, np.ndarray]: ...
    def save(self, path: Path) -> None: ...
    def __len__(self) -> int: ...


class FaissStore:
    """Inner-product search over normalised vectors; ids are passage (or sentence) row ids."""

    def __init__(self, dimension: int, kind: str = "flat", hnsw_m: int = 32,
                 ef_search: int = 128, index: faiss.Index | None = None,
                 ef_construction: int = 80, codec: str = "float",
                 positional: bool = False) -> None:
        """`positional`: ids are the vectors' positions 0, 1, 2... in the order added (a
        segment's rows), so no id map is kept (it costs about 60 bytes a vector)."""
        self.dimension = dimension
        self.kind = kind
        self.codec = codec
        self.ef_search = ef_search
        if index is None:
            index = _base(dimension, kind, codec, hnsw_m, ef_construction)
            if not positional:
                index = faiss.IndexIDMap2(index)
        self.positional = not hasattr(index, "id_map")
        self.index: faiss.Index = index

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if not len(ids):
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        previous = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # building uses every core
        try:
            # sq8 learns each dimension's range from the first vectors added: a segment's
            # store is written once, from all its vectors, so the range fits them all.
            if not self.index.is_trained:
                self.index.train(vectors)
            if self.positional:
                expected = np.arange(len(self), len(self) + len(ids))
                if not np.array_equal(np.asarray(ids), expected):
                    raise ValueError("a positional store takes ids 0, 1, 2... in order")
                self.index.add(vectors)
            else:
                self.index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))
        finally:
            faiss.omp_set_num_threads(previous)

    def search(self, queries: np.ndarray, k: int, excluded: Exclusion | None = None,
               ef_search: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The `k` nearest ids (and scores) of each query; ids in `excluded` are skipped;
        `ef_search` replaces the store's HNSW candidate list for this search."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        k = max(1, min(k, len(self)))
        if len(self) == 0:
            return (np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64))
        faiss.omp_set_num_threads(1)  # per calling thread: see the module's first lines
        selector = excluded.selector if excluded is not None else None
        # The candidate list is set per search, not on the shared index: searches run in
        # parallel threads, and one may ask for a longer list (deleted rows to skip).
        if self.kind == "hnsw":
            params: faiss.SearchParameters = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                efSearch=ef_search or self.ef_search)
        else:
            params = faiss.SearchParameters()
        if selector is not None:
            params.sel = selector
        return self.index.search(queries, k, params=params)

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, ef_search: int = 128, mmap: bool = True) -> FaissStore:
        """A saved store; memory-mapped (the codes stay in the page cache) unless `mmap` is
        False."""
        index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC if mmap else 0)
        # Kind and codec are read back from the FAISS classes, not from the manifest, so a
        # store says what it is even when loaded on its own.
        mapped = hasattr(index, "id_map")
        base = faiss.downcast_index(cast(faiss.IndexIDMap2, index).index if mapped else index)
        kind = "hnsw" if isinstance(base, faiss.IndexHNSW) else "flat"
        codec = "sq8" if isinstance(base, faiss.IndexHNSWSQ | faiss.IndexScalarQuantizer) \
            else "float"
        return cls(index.d, kind, ef_search=ef_search, index=index, codec=codec)

    def reconstruct(self, vector_id: int) -> np.ndarray:
        """The stored vector of an id (decoded from sq8 codes: approximate)."""
        return cast(np.ndarray, self.index.reconstruct(int(vector_id)))

    def __len__(self) -> int:
        return int(self.index.ntotal)


class Exclusion:
    """Ids a search skips, as a FAISS selector built once and shared by every search (it is
    only read)."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = np.ascontiguousarray(ids, dtype=np.int64)
        # FAISS keeps a pointer to the batch, not a copy: it must live as long as the selector.
        self._batch = faiss.IDSelectorBatch(self.ids)
        self.selector = faiss.IDSelectorNot(self._batch)

    def __len__(self) -> int:
        return len(self.ids)


def _base(dimension: int, kind: str, codec: str, hnsw_m: int,
          ef_construction: int) -> faiss.Index:
    sq8 = faiss.ScalarQuantizer.QT_8bit
    # Inner product: the encoders' vectors are normalised, so it is the cosine.
    ip = faiss.METRIC_INNER_PRODUCT
    if kind == "hnsw":
        hnsw = (faiss.IndexHNSWSQ(dimension, sq8, hnsw_m, ip)  # type: ignore[arg-type]
                if codec == "sq8"
                else faiss.IndexHNSWFlat(dimension, hnsw_m, ip))
        hnsw.hnsw.efConstruction = ef_construction
        return hnsw
    return faiss.IndexScalarQuantizer(dimension, sq8, ip) if codec == "sq8" \
        else faiss.IndexFlatIP(dimension)


def choose_kind(setting: str, count: int, threshold: int) -> str:
    """Exact search below the threshold, HNSW above, unless the setting names one."""
    if setting in ("flat", "hnsw"):
        return setting
    return "hnsw" if count >= threshold else "flat"
