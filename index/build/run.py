"""Build or update the FAISS index: read the corpus, embed what changed into one new segment,
and publish a version that shares every other segment with the live one (index.segment)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

import index.publish as publish
from index.build.manifest import manifest_of
from index.build.plan import Plan, disagreement, materialize, plan_build, probe_agrees
from index.build.segments import all_deleted, build_encoder, kept_segments, new_segment, retire
from index.build.summary import BuildSummary, fill_from_folder
from index.encoders import Encoder
from index.merge import merge_locked
from index.settings import IndexSettings
from index.sources import Article, Corpus

log = logging.getLogger(__name__)


def build_index(
    corpus: Corpus,
    index_dir: Path,
    settings: IndexSettings,
    full: bool = False,
    progress: bool = False,
    encoder: Encoder | None = None,
    merge: bool = True,
) -> BuildSummary:
    """Publish a new index version for `corpus`: new and changed articles go into one new
    segment, changed and removed ones are marked deleted, every other segment is shared; then
    merge segments as MERGE_FACTOR says (unless `merge` is False)."""
    started = time.perf_counter()
    summary = BuildSummary(problems=corpus.problems, skipped_files=corpus.skipped_files)
    with publish.build_lock(index_dir):
        plan = plan_build(corpus, index_dir, settings, summary, full)
        live = plan.live
        if live is not None and plan.up_to_date():
            fill_from_folder(summary, live.manifest, live.folder)
            summary.seconds = time.perf_counter() - started
            return summary
        encoder, to_embed = _settle(corpus, plan, index_dir, settings, summary, encoder)
        summary.encoded_by(encoder)
        final = _write_version(index_dir, plan, corpus, to_embed, encoder, settings, summary,
                               progress, started)
        summary.size_bytes = publish.disk_bytes(final)
        publish.cleanup(index_dir, settings.keep_index_versions)
        if merge and settings.merge_factor:
            summary.merges = _merge_after(index_dir, settings)
        return summary


def _settle(corpus: Corpus, plan: Plan, index_dir: Path, settings: IndexSettings,
            summary: BuildSummary, encoder: Encoder | None) -> tuple[Encoder, list[Article]]:
    """The build's passage encoder and the articles it embeds: every article (a full
    rebuild) when the live version's vectors disagree with this encoder's, since the
    vectors of two encoders cannot share one index."""
    live = plan.live
    to_embed = materialize(corpus, plan.current, plan.changes)
    if encoder is None:
        recorded = live.manifest.encoder_backend if live is not None else None
        encoder = build_encoder(settings, index_dir, to_embed, recorded)
    probe = encoder.probe_vectors()
    if live is not None and not probe_agrees(live.folder, probe):
        plan.rebuild_all(summary, disagreement(encoder))
        to_embed = materialize(corpus, plan.current, plan.changes)
    return encoder, to_embed


def _merge_after(index_dir: Path, settings: IndexSettings) -> list[str]:
    """The merges the policy asks for after a build, as summary lines; a merge that fails
    (or is interrupted) is a warning: the build is published, the next build merges."""
    try:
        return [m.line() for m in merge_locked(index_dir, settings)]
    except (Exception, KeyboardInterrupt) as err:
        log.warning("merging segments failed: %s", err)
        return [f"not merged ({type(err).__name__}: {err}); the build is published, the next "
                "build merges"]


def _write_version(index_dir: Path, plan: Plan, corpus: Corpus, to_embed: list[Article],
                   encoder: Encoder, settings: IndexSettings, summary: BuildSummary,
                   progress: bool, started: float) -> Path:
    """Write the new version into a staging folder and publish it; its folder."""
    with publish.staging(index_dir) as stage:
        kept = kept_segments(plan, stage.segments, settings, summary)
        deleted = retire(plan, kept)
        summary.index_kind = {}
        if to_embed:
            info = new_segment(stage.segments, to_embed, encoder, settings, summary, progress,
                               kept)
            kept.add(info)
            summary.index_kind = info.index_kind
        gone = all_deleted(plan.live, deleted)
        np.save(stage.folder / publish.DELETED, gone)
        # The readers list articles in corpus order: each one's row, wherever it lives.
        order = [kept.rows[a.article_id] for a in corpus.articles]
        np.save(stage.folder / publish.ORDER, np.array(order, np.int64))
        np.save(stage.folder / publish.PROBE, encoder.probe_vectors())
        summary.articles, summary.passages = len(corpus.articles), kept.passages
        summary.sentences, summary.segments = kept.sentences, len(kept.entries)
        summary.deleted_articles = len(gone)
        summary.seconds = time.perf_counter() - started
        # The backend the index chose stays recorded (a bot's fetch embeds with its question
        # encoder, which agrees with it); a full build records its own.
        recorded = plan.live.manifest.encoder_backend if plan.live is not None else None
        final = stage.publish(manifest_of(stage.name, encoder, settings, summary,
                                          plan.fingerprint, kept.entries, kept.ids, recorded))
    summary.version, summary.written = stage.name, True
    return final
