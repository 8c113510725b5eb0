"""Indexing: corpus files to a versioned FAISS + SQLite index on disk (build, publish, read)."""

from index.build import BuildSummary, build_index, encoded_texts
from index.chunk import (
    CHUNKER_VERSION,
    Passage,
    Span,
    is_fragment,
    paragraphs,
    passages,
    sentences,
    word_count,
)
from index.lexical import Bm25
from index.publish import (
    CATALOG,
    FORMAT_VERSION,
    LEXICAL,
    MANIFEST,
    PASSAGES,
    PROBE,
    SENTENCES,
    IndexBusyError,
    Manifest,
    current_version,
    read_manifest,
)
from index.reader import REBUILD, ArticleInfo, IndexUnavailableError, LoadedIndex, load_index
from index.store import FaissStore, VectorStore, choose_kind

__all__ = [
    "CATALOG",
    "CHUNKER_VERSION",
    "FORMAT_VERSION",
    "LEXICAL",
    "MANIFEST",
    "PASSAGES",
    "PROBE",
    "REBUILD",
    "SENTENCES",
    "ArticleInfo",
    "Bm25",
    "BuildSummary",
    "FaissStore",
    "IndexBusyError",
    "IndexUnavailableError",
    "LoadedIndex",
    "Manifest",
    "Passage",
    "Span",
    "VectorStore",
    "build_index",
    "choose_kind",
    "current_version",
    "encoded_texts",
    "is_fragment",
    "load_index",
    "paragraphs",
    "passages",
    "read_manifest",
    "sentences",
    "word_count",
]
