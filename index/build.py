"""Build or update the index: read the corpus, embed what changed, publish a new version."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import sqlite3
import time
from collections.abc import Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import index.catalog as catalog
import index.publish as publish
from index.chunk import CHUNKER_VERSION, Passage, passages
from index.encoders import Encoder, agrees, passage_encoder, resolve_model
from index.lexical import Bm25
from index.publish import Manifest
from index.settings import IndexSettings
from index.sources import Article, Corpus, Problem
from index.store import FaissStore, choose_kind


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

    def lines(self) -> list[str]:
        rate = self.embedded_passages / self.seconds if self.seconds else 0.0
        state = f"published version {self.version}" if self.written else "index already up to date"
        lines = [
            f"Articles: {len(self.new)} new, {len(self.changed)} changed, {self.unchanged} "
            f"unchanged, {len(self.removed)} removed, {self.skipped_files} skipped files",
            f"Passages: {self.passages} ({self.embedded_passages} embedded now, "
            f"{self.sentences} sentences)",
            f"Model: {self.model} (dimension {self.dimension}, {self.backend or 'unchanged'}), "
            "stores: "
            + ", ".join(f"{k} {v}" for k, v in self.index_kind.items()),
            f"Time: {self.seconds:.1f} s, {rate:.1f} passages/s "
            f"({self.embedded_texts} texts encoded in {self.embed_seconds:.1f} s)",
            f"Index size on disk: {self.size_bytes / 1e6:.1f} MB; {state}",
        ]
        if self.full_reason:
            lines.insert(0, f"Full rebuild: {self.full_reason}")
        return lines


def corpus_fingerprint(articles: list[Article]) -> str:
    """One hash of every article's id and fingerprint, in corpus order."""
    digest = hashlib.sha256()
    for article in articles:
        digest.update(f"{article.article_id}\0{article.fingerprint}\n".encode())
    return digest.hexdigest()


@dataclass
class Plan:
    """What a build starts from: the corpus by article id, and the live version it updates
    (None: a full rebuild)."""

    current: dict[str, Article]
    fingerprint: str
    old_dir: Path | None = None
    old_manifest: Manifest | None = None

    @property
    def previous(self) -> tuple[Path, Manifest] | None:
        """The live version's folder and manifest when this build updates it."""
        if self.old_dir is None or self.old_manifest is None:
            return None
        return self.old_dir, self.old_manifest

    def up_to_date(self, summary: BuildSummary, settings: IndexSettings) -> bool:
        """Nothing changed, and the live version already has every file this build writes."""
        if self.previous is None or summary.new or summary.changed or summary.removed:
            return False
        folder, manifest = self.previous
        return (manifest.corpus_fingerprint == self.fingerprint
                and manifest.index_kind == store_kinds(settings, manifest.counts())
                and (folder / publish.LEXICAL).exists())  # else: written now, nothing embedded

    def sample(self) -> list[str]:
        """Passage-sized texts to time the encoders on."""
        return [a.text[:1500] for a in list(self.current.values())[:48]]

    def rebuild_all(self, summary: BuildSummary, reason: str) -> None:
        """Embed every article again, without the live version."""
        self.old_dir, self.old_manifest = None, None
        summary.full_reason = reason
        summary.new, summary.changed, summary.removed = list(self.current), [], []
        summary.unchanged = 0


def build_index(
    corpus: Corpus,
    index_dir: Path,
    settings: IndexSettings,
    full: bool = False,
    progress: bool = False,
    encoder: Encoder | None = None,
) -> BuildSummary:
    """Publish a new index version for `corpus`, re-embedding only new or changed articles."""
    started = time.perf_counter()
    summary = BuildSummary(problems=corpus.problems, skipped_files=corpus.skipped_files)
    with publish.build_lock(index_dir):
        plan = plan_build(corpus, index_dir, settings, summary, full)
        previous = plan.previous
        if previous is not None and plan.up_to_date(summary, settings):
            _fill_from_manifest(summary, previous[1], previous[0])
            summary.seconds = time.perf_counter() - started
            return summary
        if encoder is None:
            encoder = passage_encoder(settings, index_dir, plan.sample())
        probe = encoder.probe_vectors()
        if previous is not None and not _agrees(previous[0], probe):
            plan.rebuild_all(summary, f"the current index's vectors disagree with "
                                      f"{encoder.backend}'s (another backend or precision)")
        summary.model, summary.dimension = encoder.name, encoder.dimension
        summary.backend = encoder.backend
        final = _write_version(index_dir, plan, corpus, encoder, settings, summary, progress,
                               started)
        summary.size_bytes = _size(final)
        publish.cleanup(index_dir, settings.keep_index_versions)
        return summary


def plan_build(corpus: Corpus, index_dir: Path, settings: IndexSettings, summary: BuildSummary,
               full: bool) -> Plan:
    """Compare the corpus with the live version: new, changed, removed and unchanged
    articles go into `summary`; the plan says which version the build updates."""
    plan = Plan({a.article_id: a for a in corpus.articles}, corpus_fingerprint(corpus.articles))
    plan.old_dir = publish.current_version(index_dir)
    if full:
        summary.full_reason = "--full"
    elif plan.old_dir is not None:
        plan.old_manifest = _usable_manifest(plan.old_dir, settings, summary)
    old_prints: dict[str, str] = {}
    if plan.previous is not None:
        folder = plan.previous[0]
        with publish.reading(folder), closing(catalog.connect(folder / publish.CATALOG,
                                                              readonly=True)) as conn:
            old_prints = catalog.fingerprints(conn)
    current = plan.current
    summary.new = [a for a in current if a not in old_prints]
    summary.changed = [a for a in current if a in old_prints and old_prints[a] !=
                       current[a].fingerprint]
    summary.removed = [a for a in old_prints if a not in current]
    summary.unchanged = len(current) - len(summary.new) - len(summary.changed)
    return plan


def _write_version(index_dir: Path, plan: Plan, corpus: Corpus, encoder: Encoder,
                   settings: IndexSettings, summary: BuildSummary, progress: bool,
                   started: float) -> Path:
    """Write the new version into a staging folder and publish it; its folder."""
    name = publish.new_version_name()
    staging = publish.staging_dir(index_dir, name)
    try:
        with closing(catalog.connect(staging / publish.CATALOG)) as conn:
            counts = _write_catalog(conn, plan, corpus, encoder, settings, summary, progress)
            kind = store_kinds(settings, counts)
            write_stores(conn, staging, encoder.dimension, kind, settings)
            Bm25.from_catalog(conn).save(staging / publish.LEXICAL)
        summary.articles, summary.passages = counts["articles"], counts["passages"]
        summary.sentences, summary.index_kind = counts["sentences"], kind
        summary.seconds = time.perf_counter() - started
        np.save(staging / publish.PROBE, encoder.probe_vectors())
        publish.write_manifest(staging, manifest_of(name, encoder, settings, summary,
                                                    plan.fingerprint))
        final = publish.publish(index_dir, staging, name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    summary.version, summary.written = name, True
    return final


def _write_catalog(conn: sqlite3.Connection, plan: Plan, corpus: Corpus, encoder: Encoder,
                   settings: IndexSettings, summary: BuildSummary,
                   progress: bool) -> dict[str, int]:
    """The new catalog: the live one copied, changed and removed articles deleted, new and
    changed ones embedded and inserted; its row counts."""
    if plan.previous is not None:
        folder = plan.previous[0]
        with publish.reading(folder), closing(catalog.connect(
                folder / publish.CATALOG, readonly=True)) as source:
            source.backup(conn)
        conn.execute("PRAGMA foreign_keys = ON")
    catalog.create(conn)
    catalog.delete_articles(conn, summary.removed + summary.changed)
    to_embed = [plan.current[a] for a in summary.new + summary.changed]
    _embed_and_insert(conn, to_embed, encoder, settings, summary, progress)
    catalog.set_positions(conn, [a.article_id for a in corpus.articles])
    conn.commit()
    return catalog.counts(conn)


def write_stores(conn: sqlite3.Connection, folder: Path, dimension: int, kind: dict[str, str],
                 settings: IndexSettings) -> None:
    """The FAISS stores of the catalog's passage and sentence vectors, saved into `folder`."""
    for table, filename in (("passages", publish.PASSAGES), ("sentences", publish.SENTENCES)):
        ids, vectors = catalog.vectors(conn, table, dimension)
        store = FaissStore(dimension, kind[table], hnsw_m=settings.hnsw_m,
                           ef_construction=settings.hnsw_ef_construction)
        store.add(ids, vectors)
        store.save(folder / filename)


def manifest_of(name: str, encoder: Encoder, settings: IndexSettings, summary: BuildSummary,
                fingerprint: str) -> Manifest:
    """The manifest of the version `name` this build writes."""
    return Manifest(
        format_version=publish.FORMAT_VERSION,
        version=name,
        model=encoder.name,
        dimension=encoder.dimension,
        encoder_backend=encoder.backend,
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
    )


def chunking(settings: IndexSettings) -> dict[str, int]:
    """What decides how articles are cut into passages; a change means re-embedding."""
    return {"version": CHUNKER_VERSION, "max_passage_words": settings.max_passage_words}


def store_kinds(settings: IndexSettings, counts: Mapping[str, int]) -> dict[str, str]:
    """Exact or approximate search for each vector store, by its size."""
    return {table: choose_kind(settings.index_kind, int(counts.get(table, 0)),
                               settings.hnsw_threshold) for table in ("passages", "sentences")}


def _agrees(old_dir: Path, probe: np.ndarray) -> bool:
    """Whether the live index's passage encoder and this one give the same vectors."""
    if not (old_dir / publish.PROBE).exists():
        return True  # built before probes were recorded: by torch fp32
    return agrees(np.load(old_dir / publish.PROBE), probe)


def _usable_manifest(old_dir: Path, settings: IndexSettings,
                     summary: BuildSummary) -> Manifest | None:
    """The live index's manifest when it can be updated in place, else None (full rebuild)."""
    try:
        manifest = publish.read_manifest(old_dir)
    except (OSError, ValueError):
        summary.full_reason = "the current index has no readable manifest"
        return None
    if manifest.format_version != publish.FORMAT_VERSION:
        summary.full_reason = "the current index has another format version"
        return None
    if manifest.model != resolve_model(settings.embedding_model)[0]:
        summary.full_reason = f"the current index was built with {manifest.model!r}"
        return None
    if manifest.chunking != chunking(settings):
        summary.full_reason = "passages are cut differently now (chunking settings or version)"
        return None
    if not all((old_dir / f).is_file() for f in (publish.CATALOG, publish.PASSAGES)):
        summary.full_reason = "the current index is missing files"
        return None
    return manifest


def encoded_texts(articles: list[Article], max_words: int) -> tuple[list[list[Passage]], list[str]]:
    """Each article's passages, and the texts a build encodes for them, in order: each
    passage, followed by its sentences when it has more than one."""
    chunks = [passages(a.text, max_words) for a in articles]
    texts: list[str] = []
    for article, article_passages in zip(articles, chunks, strict=True):
        for p in article_passages:
            texts.append(article.text[p.start:p.end])
            if len(p.sentences) > 1:
                texts.extend(article.text[s.start:s.end] for s in p.sentences)
    return chunks, texts


def _encode_once(encoder: Encoder, texts: list[str], progress: bool,
                 summary: BuildSummary) -> np.ndarray:
    """The vectors of `texts`; a text that stands more than once (a repeated line, an article
    filed twice: 8 % of the BBC pipeline's texts) is encoded once."""
    embed_start = time.perf_counter()
    unique = list(dict.fromkeys(texts))
    vectors = encoder.encode(unique, progress=progress)
    if len(unique) < len(texts):
        position = {text: i for i, text in enumerate(unique)}
        vectors = vectors[[position[text] for text in texts]]
    summary.embed_seconds = time.perf_counter() - embed_start
    summary.embedded_texts = len(unique)
    return vectors


def _embed_and_insert(conn: sqlite3.Connection, articles: list[Article], encoder: Encoder,
                      settings: IndexSettings, summary: BuildSummary, progress: bool) -> None:
    """Encode passages, plus the sentences of multi-sentence passages, in one batched call."""
    chunks, texts = encoded_texts(articles, settings.max_passage_words)
    vectors = _encode_once(encoder, texts, progress, summary)
    added_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    row = 0
    for article, article_passages in zip(articles, chunks, strict=True):
        passage_vectors, sentence_vectors = [], []
        for p in article_passages:
            passage_vectors.append(vectors[row])
            row += 1
            if len(p.sentences) > 1:
                sentence_vectors.append(vectors[row:row + len(p.sentences)])
                row += len(p.sentences)
            else:
                sentence_vectors.append(passage_vectors[-1][None, :])
        summary.embedded_passages += len(article_passages)
        catalog.insert_article(conn, article, article_passages,
                               np.asarray(passage_vectors).reshape(-1, encoder.dimension),
                               sentence_vectors, added_at)


def _fill_from_manifest(summary: BuildSummary, manifest: Manifest, folder: Path) -> None:
    summary.model = manifest.model or ""
    summary.backend = manifest.encoder_backend or "torch-fp32"
    summary.dimension = manifest.dimension
    summary.index_kind = manifest.index_kind or {}
    summary.articles = manifest.articles
    summary.passages = manifest.passages or 0
    summary.sentences = manifest.sentences
    summary.version = manifest.version
    summary.size_bytes = _size(folder)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
