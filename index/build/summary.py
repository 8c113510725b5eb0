"""What a build did: the figures of its closing summary (either backend)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import index.publish as publish
from index.build.changes import Changes
from index.encoders import Encoder
from index.publish import Manifest
from index.sources import Problem


@dataclass
class BuildSummary:
    """What a build did, for the closing summary and for tests."""

    new: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped_files: int = 0
    articles: int = 0
    passages: int = 0
    sentences: int = 0
    embedded_passages: int = 0
    embedded_texts: int = 0
    embed_seconds: float = 0.0
    seconds: float = 0.0
    model: str = ""
    backend: str = ""
    dimension: int = 0
    index_kind: dict[str, str] = field(default_factory=dict)
    size_bytes: int = 0
    version: str | None = None
    written: bool = False
    full_reason: str | None = None
    segments: int = 0
    deleted_articles: int = 0
    converted: bool = False
    merges: list[str] = field(default_factory=list)
    location: str | None = None  # where a PostgreSQL index is (None: the FAISS index)

    def record(self, changes: Changes) -> None:
        """Report these changes (the last diff the build settled on)."""
        self.new, self.changed = list(changes.new), list(changes.changed)
        self.removed, self.unchanged = list(changes.removed), changes.unchanged

    def encoded_by(self, encoder: Encoder) -> None:
        """Report the passage encoder the build embeds with."""
        self.model, self.dimension = encoder.name, encoder.dimension
        self.backend = encoder.backend

    def lines(self) -> list[str]:
        state = f"published version {self.version}" if self.written else "index already up to date"
        lines = [
            f"Articles: {len(self.new)} new, {len(self.changed)} changed, {self.unchanged} "
            f"unchanged, {len(self.removed)} removed, {self.skipped_files} skipped files",
            f"Passages: {self.passages} ({self.embedded_passages} embedded now, "
            f"{self.sentences} sentences)",
            self._model_line(),
            self._time_line(),
            self._size_line(state),
        ]
        if self.converted:
            lines.insert(0, "Converted the index to segments (format "
                            f"{publish.FORMAT_VERSION}), re-embedding nothing")
        lines.extend(f"Merged: {merge}" for merge in self.merges)
        if self.full_reason:
            lines.insert(0, f"Full rebuild: {self.full_reason}")
        return lines

    def _model_line(self) -> str:
        stores = ", ".join(f"{k} {v}" for k, v in self.index_kind.items()) or "none"
        return (f"Model: {self.model} (dimension {self.dimension}, "
                f"{self.backend or 'unchanged'}), new segment's stores: {stores}")

    def _time_line(self) -> str:
        rate = self.embedded_passages / self.seconds if self.seconds else 0.0
        return (f"Time: {self.seconds:.1f} s, {rate:.1f} passages/s "
                f"({self.embedded_texts} texts encoded in {self.embed_seconds:.1f} s)")

    def _size_line(self, state: str) -> str:
        megabytes = self.size_bytes / 1e6
        if self.location is None:
            return (f"Index size on disk: {megabytes:.1f} MB in {self.segments} segments "
                    f"({self.deleted_articles} deleted articles kept until a merge); {state}")
        return (f"Index size in {self.location}: {megabytes:.1f} MB "
                f"({self.deleted_articles} retired articles kept for readers of the version "
                f"before); {state}")


def fill_summary(summary: BuildSummary, manifest: Manifest) -> None:
    """The summary's figures of an index version that was already up to date (any
    backend): model, encoder, sizes and version as its manifest records them."""
    summary.model = manifest.model or ""
    summary.backend = manifest.encoder_backend or "torch-fp32"
    summary.dimension = manifest.dimension
    summary.index_kind = manifest.index_kind or {}
    summary.articles = manifest.articles
    summary.passages = manifest.passages or 0
    summary.sentences = manifest.sentences
    summary.version = manifest.version


def fill_from_folder(summary: BuildSummary, manifest: Manifest, folder: Path) -> None:
    """`fill_summary` for the FAISS index's live version in `folder`, with its segments,
    deletions and size on disk."""
    fill_summary(summary, manifest)
    summary.segments = len(manifest.segments)
    summary.deleted_articles = manifest.deleted_articles
    summary.size_bytes = publish.disk_bytes(folder)
