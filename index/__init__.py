"""Indexing: corpus files to a versioned index of immutable segments (FAISS + SQLite) on disk,
or to tables in PostgreSQL with pgvector (index.pg): build, merge, publish, read."""

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
from index.languages import detect as detect_language
from index.languages import primary as primary_language
from index.languages import same_language
from index.lexical import Bm25
from index.merge import MergeSummary, merge_index
from index.pg import PgIndex, PgSource, build_pg_index
from index.publish import (
    FORMAT_VERSION,
    MANIFEST,
    PROBE,
    SEGMENTS,
    IndexBusyError,
    Manifest,
    current_version,
    read_manifest,
)
from index.reader import REBUILD, ArticleInfo, IndexUnavailableError, LoadedIndex, load_index
from index.segment import CATALOG, LEXICAL, PASSAGES, SENTENCES, Segment, SegmentInfo
from index.store import FaissStore, VectorStore, choose_kind
from index.view import IndexView, Lexical

__all__ = [
    "CATALOG",
    "CHUNKER_VERSION",
    "FORMAT_VERSION",
    "LEXICAL",
    "MANIFEST",
    "PASSAGES",
    "PROBE",
    "REBUILD",
    "SEGMENTS",
    "SENTENCES",
    "ArticleInfo",
    "Bm25",
    "BuildSummary",
    "FaissStore",
    "IndexBusyError",
    "IndexUnavailableError",
    "IndexView",
    "Lexical",
    "LoadedIndex",
    "Manifest",
    "MergeSummary",
    "Passage",
    "PgIndex",
    "PgSource",
    "Segment",
    "SegmentInfo",
    "Span",
    "VectorStore",
    "build_index",
    "build_pg_index",
    "choose_kind",
    "current_version",
    "detect_language",
    "encoded_texts",
    "is_fragment",
    "load_index",
    "merge_index",
    "paragraphs",
    "passages",
    "primary_language",
    "read_manifest",
    "same_language",
    "sentences",
    "word_count",
]
