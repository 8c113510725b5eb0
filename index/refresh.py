"""Fetch the news, then rebuild the index: the one place where ingestion meets the build
(index/sources never imports index.build)."""

from __future__ import annotations

from index.build import build_index
from index.encoders import Encoder
from index.pg import build_pg_index
from index.settings import SourceSettings
from index.sources import SCAN_CACHE, FetchSummary, Ledger, fetch_locked, read_corpus

__all__ = ["fetch_and_build"]


def fetch_and_build(settings: SourceSettings, ledger: Ledger,
                    encoder: Encoder | None = None) -> FetchSummary:
    """Fetch, then build the index incrementally when anything was written (the bot's job).
    `encoder` is the passage encoder to embed with (the bot passes its engine's, so that a
    scheduled fetch loads no second model); None loads one as the build does."""
    summary = fetch_locked(settings, ledger)
    if summary.written:
        corpus = read_corpus([settings.corpus_dir],
                             follow_symlinks=settings.corpus_follow_symlinks,
                             scan_cache=settings.resolved_index_dir / SCAN_CACHE)
        if settings.index_backend == "postgresql":
            build_pg_index(corpus, settings, encoder=encoder)
        else:
            build_index(corpus, settings.resolved_index_dir, settings, encoder=encoder)
    return summary
