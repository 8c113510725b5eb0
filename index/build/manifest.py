"""The manifest a build writes for its version (either backend), and the chunking it
records."""

from __future__ import annotations

import datetime as dt
from typing import Any

import index.publish as publish
from index.build.summary import BuildSummary
from index.catalog import RowIds
from index.chunk import CHUNKER_VERSION
from index.encoders import Encoder
from index.publish import Manifest
from index.settings import IndexSettings


def manifest_of(name: str, encoder: Encoder, settings: IndexSettings, summary: BuildSummary,
                fingerprint: str, entries: list[dict[str, Any]], ids: RowIds,
                backend: str | None = None) -> Manifest:
    """The manifest of the version `name` this build writes (`backend`: the passage
    encoder's backend the index recorded before, if any)."""
    return Manifest(
        format_version=publish.FORMAT_VERSION,
        version=name,
        model=encoder.name,
        dimension=encoder.dimension,
        encoder_backend=backend or encoder.backend,
        index_kind=summary.index_kind,
        chunking=chunking(settings),
        articles=summary.articles,
        passages=summary.passages,
        sentences=summary.sentences,
        corpus_fingerprint=fingerprint,
        built_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        build_seconds=round(summary.seconds, 3),
        new_articles=summary.new,
        changed_articles=summary.changed,
        removed_articles=summary.removed,
        segments=entries,
        deleted_articles=summary.deleted_articles,
        next_ids=ids.to_dict(),
    )


def chunking(settings: IndexSettings) -> dict[str, int]:
    """What decides how articles are cut into passages; a change means re-embedding."""
    return {"version": CHUNKER_VERSION, "max_passage_words": settings.max_passage_words}
