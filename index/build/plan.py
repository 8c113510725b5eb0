"""The plan of a build: the live version it updates (or none: a full rebuild, and why) and
its `Changes`; the reasons and steps both backends share."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import index.catalog as catalog
import index.publish as publish
import index.segment as segment
from index.build.changes import Changes, compare, corpus_fingerprint, everything, up_to_date
from index.build.legacy import LEGACY_FORMAT
from index.build.manifest import chunking
from index.build.summary import BuildSummary
from index.encoders import Encoder, agrees, resolve_model
from index.publish import Manifest
from index.settings import IndexSettings
from index.sources import Article, Corpus


@dataclass
class Live:
    """The live version a build updates: its live articles by id (row, fingerprint, segment
    folder) and the article rows it already leaves out."""

    folder: Path
    manifest: Manifest
    rows: dict[str, tuple[int, str, Path]]
    deleted: np.ndarray
    legacy: bool = False

    def fingerprints(self) -> dict[str, str]:
        """The fingerprint each live article had when it was embedded, by article id."""
        return {aid: fingerprint for aid, (_, fingerprint, _) in self.rows.items()}


@dataclass
class Plan:
    """What a build starts from: the corpus by article id, the live version it updates
    (None: a full rebuild) and what changed since."""

    current: dict[str, Article]
    fingerprint: str
    live: Live | None
    changes: Changes

    def up_to_date(self) -> bool:
        """Nothing changed since the live version, which is in today's format."""
        if self.live is None or self.live.legacy:
            return False
        return up_to_date(self.changes, self.live.manifest.corpus_fingerprint, self.fingerprint)

    def rebuild_all(self, summary: BuildSummary, reason: str) -> None:
        """Embed every article again, without the live version."""
        self.live = None
        self.changes = everything(self.current)
        summary.full_reason = reason
        summary.record(self.changes)


def plan_build(corpus: Corpus, index_dir: Path, settings: IndexSettings, summary: BuildSummary,
               full: bool) -> Plan:
    """Compare the corpus with the live version: new, changed, removed and unchanged
    articles go into `summary`; the plan says which version the build updates."""
    current = {a.article_id: a for a in corpus.articles}
    live = _live_version(index_dir, settings, summary, full)
    changes = compare(current, live.fingerprints() if live is not None else {})
    summary.record(changes)
    return Plan(current, corpus_fingerprint(corpus.articles), live, changes)


def _live_version(index_dir: Path, settings: IndexSettings, summary: BuildSummary,
                  full: bool) -> Live | None:
    """The live version the build updates, or None (a full rebuild: the reason goes into
    `summary`, except when there is no index yet)."""
    folder = publish.current_version(index_dir)
    if full:
        summary.full_reason = "--full"
        return None
    if folder is None:
        return None
    manifest = _usable_manifest(folder, settings, summary)
    if manifest is None:
        return None
    with publish.reading(folder):
        return _read_live(folder, manifest)


def _read_live(folder: Path, manifest: Manifest) -> Live:
    """The live articles of a version, from its segments' catalogs (or its one legacy one)."""
    if manifest.format_version == LEGACY_FORMAT:
        with closing(catalog.connect(folder / segment.CATALOG, readonly=True)) as conn:
            rows = {aid: (row, fingerprint, folder)
                    for row, aid, fingerprint in catalog.fingerprints(conn)}
        return Live(folder, manifest, rows, np.zeros(0, np.int64), legacy=True)
    deleted_file = folder / publish.DELETED
    deleted = np.load(deleted_file) if deleted_file.exists() else np.zeros(0, np.int64)
    gone = set(deleted.tolist())
    rows = {}
    # A segment never changes once written: an article that changed lives on as a deleted
    # row of an older segment, so only rows outside deleted.npy are the live ones.
    for entry in manifest.segments:
        path = folder / publish.SEGMENTS / entry["name"]
        with closing(catalog.connect(path / segment.CATALOG, readonly=True)) as conn:
            for row, aid, fingerprint in catalog.fingerprints(conn):
                if row not in gone:
                    rows[aid] = (row, fingerprint, path)
    return Live(folder, manifest, rows, deleted)


def _usable_manifest(old_dir: Path, settings: IndexSettings,
                     summary: BuildSummary) -> Manifest | None:
    """The live index's manifest when it can be updated (or converted), else None (full
    rebuild, the reason in `summary`)."""
    try:
        manifest = publish.read_manifest(old_dir)
    except (OSError, ValueError):
        summary.full_reason = "the current index has no readable manifest"
        return None
    reason = (_other_format(old_dir, manifest) or outdated(manifest, settings)
              or _missing_segment(old_dir, manifest))
    if reason is not None:
        summary.full_reason = reason
        return None
    return manifest


def _other_format(old_dir: Path, manifest: Manifest) -> str | None:
    """Why the live version's format cannot be updated or converted, or None."""
    if manifest.format_version == LEGACY_FORMAT:
        if not (old_dir / segment.CATALOG).is_file():
            return "the current index is missing files"
    elif manifest.format_version != publish.FORMAT_VERSION:
        return "the current index has another format version"
    return None


def _missing_segment(old_dir: Path, manifest: Manifest) -> str | None:
    """The reason when a segment the live manifest lists is not on disk, or None."""
    missing = [e["name"] for e in manifest.segments
               if not (old_dir / publish.SEGMENTS / e["name"] / segment.TABLES).is_file()]
    if missing:
        return f"the current index is missing segment {missing[0]}"
    return None


def outdated(manifest: Manifest, settings: IndexSettings) -> str | None:
    """Why the live version's vectors cannot be kept (another model, passages cut another
    way), for either backend; None when they can."""
    if manifest.model != resolve_model(settings.embedding_model, settings.models_dir)[0]:
        return f"the current index was built with {manifest.model!r}"
    if manifest.chunking != chunking(settings):
        return "passages are cut differently now (chunking settings or version)"
    return None


def disagreement(encoder: Encoder) -> str:
    """The full rebuild's reason when the live vectors and `encoder`'s differ."""
    return (f"the current index's vectors disagree with {encoder.backend}'s "
            "(another backend or precision)")


def probe_agrees(old_dir: Path, probe: np.ndarray) -> bool:
    """Whether the live index's passage encoder and this one give the same vectors."""
    if not (old_dir / publish.PROBE).exists():
        return True  # built before probes were recorded: by torch fp32
    return agrees(np.load(old_dir / publish.PROBE), probe)


def materialize(corpus: Corpus, current: Mapping[str, Article], changes: Changes
                ) -> list[Article]:
    """The articles to embed, in corpus order of new then changed ones, with their texts
    (an article the scan cache knew unchanged is a stub until then)."""
    wanted = [current[a] for a in changes.to_embed]
    stubs = [a.article_id for a in wanted if a.stub]
    if not stubs:
        return wanted
    full = corpus.materialize(stubs)
    return [full.get(a.article_id, a) for a in wanted]
