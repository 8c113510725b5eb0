"""Build or update the index: read the corpus, embed what changed, publish a new version."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index import catalog, publish
from index.chunk import CHUNKER_VERSION, Passage, passages
from index.encoders.backends import COMPATIBLE_MIN_COSINE, PROBES, min_cosine
from index.encoders.embed import Encoder, passage_encoder
from index.lexical import Bm25
from index.settings import IndexSettings
from index.sources.files import Article, Corpus, Problem
from index.store import FaissStore, choose_kind

PROBE_FILE = "probe.npy"  # the passage encoder's vectors of backends.PROBES


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
    digest = hashlib.sha256()
    for article in articles:
        digest.update(f"{article.article_id}\0{article.fingerprint}\n".encode())
    return digest.hexdigest()


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
        old_dir = publish.current_version(index_dir)
        old_manifest = _usable_manifest(old_dir, settings, summary) if not full else None
        if full:
            summary.full_reason = "--full"
        old_prints: dict[str, str] = {}
        if old_manifest is not None:
            with publish.reading(old_dir), closing(catalog.connect(old_dir / publish.CATALOG,
                                                                    readonly=True)) as conn:
                old_prints = catalog.fingerprints(conn)
        current = {a.article_id: a for a in corpus.articles}
        summary.new = [a for a in current if a not in old_prints]
        summary.changed = [a for a in current if a in old_prints and old_prints[a] !=
                           current[a].fingerprint]
        summary.removed = [a for a in old_prints if a not in current]
        summary.unchanged = len(current) - len(summary.new) - len(summary.changed)
        fingerprint = corpus_fingerprint(corpus.articles)
        if (old_manifest is not None and not summary.new and not summary.changed
                and not summary.removed and old_manifest.get("corpus_fingerprint") == fingerprint
                and old_manifest.get("index_kind") == store_kinds(settings, old_manifest)
                and (old_dir / publish.LEXICAL).exists()):  # else: written now, nothing embedded
            _fill_from_manifest(summary, old_manifest, old_dir)
            summary.seconds = time.perf_counter() - started
            return summary
        if encoder is None:
            sample = [a.text[:1500] for a in list(current.values())[:48]]  # passage-sized
            encoder = passage_encoder(settings, index_dir, sample)
        probe = encoder.encode(PROBES)
        if old_manifest is not None and not _agrees(old_dir, probe):
            old_manifest, old_prints = None, {}
            summary.full_reason = (f"the current index's vectors disagree with {encoder.backend}"
                                   "'s (another backend or precision)")
            summary.new, summary.changed, summary.removed = list(current), [], []
            summary.unchanged = 0
        to_embed = [current[a] for a in summary.new + summary.changed]
        summary.model, summary.dimension = encoder.name, encoder.dimension
        summary.backend = encoder.backend
        name = publish.new_version_name()
        staging = publish.staging_dir(index_dir, name)
        try:
            conn = catalog.connect(staging / publish.CATALOG)
            with closing(conn):
                if old_manifest is not None:
                    with publish.reading(old_dir), closing(catalog.connect(
                            old_dir / publish.CATALOG, readonly=True)) as source:
                        source.backup(conn)
                    conn.execute("PRAGMA foreign_keys = ON")
                catalog.create(conn)
                catalog.delete_articles(conn, summary.removed + summary.changed)
                _embed_and_insert(conn, to_embed, encoder, settings, summary, progress)
                catalog.set_positions(conn, [a.article_id for a in corpus.articles])
                conn.commit()
                counts = catalog.counts(conn)
                kind = store_kinds(settings, counts)
                for table, filename in (("passages", publish.PASSAGES),
                                        ("sentences", publish.SENTENCES)):
                    ids, vectors = catalog.vectors(conn, table, encoder.dimension)
                    store = FaissStore(encoder.dimension, kind[table], hnsw_m=settings.hnsw_m,
                                       ef_construction=settings.hnsw_ef_construction)
                    store.add(ids, vectors)
                    store.save(staging / filename)
                Bm25.from_catalog(conn).save(staging / publish.LEXICAL)
            summary.articles, summary.passages = counts["articles"], counts["passages"]
            summary.sentences, summary.index_kind = counts["sentences"], kind
            summary.seconds = time.perf_counter() - started
            np.save(staging / PROBE_FILE, probe)
            publish.write_manifest(staging, {
                "format_version": publish.FORMAT_VERSION,
                "version": name,
                "model": encoder.name,
                "dimension": encoder.dimension,
                "encoder_backend": encoder.backend,
                "index_kind": kind,
                "chunking": chunking(settings),
                "articles": summary.articles,
                "passages": summary.passages,
                "sentences": summary.sentences,
                "corpus_fingerprint": fingerprint,
                "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "build_seconds": round(summary.seconds, 3),
                "new_articles": summary.new,
                "changed_articles": summary.changed,
                "removed_articles": summary.removed,
            })
            final = publish.publish(index_dir, staging, name)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        summary.version, summary.written = name, True
        summary.size_bytes = _size(final)
        publish.cleanup(index_dir, settings.keep_index_versions)
        return summary


def chunking(settings: IndexSettings) -> dict[str, int]:
    """What decides how articles are cut into passages; a change means re-embedding."""
    return {"version": CHUNKER_VERSION, "max_passage_words": settings.max_passage_words}


def store_kinds(settings: IndexSettings, counts: dict) -> dict[str, str]:
    """Exact or approximate search for each vector store, by its size."""
    return {table: choose_kind(settings.index_kind, int(counts.get(table, 0)),
                               settings.hnsw_threshold) for table in ("passages", "sentences")}


def _agrees(old_dir: Path | None, probe: np.ndarray) -> bool:
    """Whether the live index's passage encoder and this one give the same vectors."""
    if old_dir is None or not (old_dir / PROBE_FILE).exists():
        return True  # built before probes were recorded: by torch fp32
    return min_cosine(np.load(old_dir / PROBE_FILE), probe) >= COMPATIBLE_MIN_COSINE


def _usable_manifest(old_dir: Path | None, settings: IndexSettings,
                     summary: BuildSummary) -> dict | None:
    """The live index's manifest when it can be updated in place, else None (full rebuild)."""
    if old_dir is None:
        return None
    try:
        manifest = publish.read_manifest(old_dir)
    except (OSError, ValueError):
        summary.full_reason = "the current index has no readable manifest"
        return None
    if manifest.get("format_version") != publish.FORMAT_VERSION:
        summary.full_reason = "the current index has another format version"
        return None
    from index.encoders.embed import resolve_model

    if manifest.get("model") != resolve_model(settings.embedding_model)[0]:
        summary.full_reason = f"the current index was built with {manifest.get('model')!r}"
        return None
    if manifest.get("chunking") != chunking(settings):
        summary.full_reason = "passages are cut differently now (chunking settings or version)"
        return None
    if not all((old_dir / f).is_file() for f in (publish.CATALOG, publish.PASSAGES)):
        summary.full_reason = "the current index is missing files"
        return None
    return manifest


def _embed_and_insert(conn: sqlite3.Connection, articles: list[Article], encoder: Encoder,
                      settings: IndexSettings, summary: BuildSummary, progress: bool) -> None:
    """Encode passages, plus the sentences of multi-sentence passages, in one batched call."""
    chunks: list[list[Passage]] = [passages(a.text, settings.max_passage_words) for a in articles]
    texts: list[str] = []
    for article, article_passages in zip(articles, chunks, strict=True):
        for p in article_passages:
            texts.append(article.text[p.start:p.end])
            if len(p.sentences) > 1:
                texts.extend(article.text[s.start:s.end] for s in p.sentences)
    embed_start = time.perf_counter()
    # A text that stands more than once (a repeated line, an article filed twice: 8 % of the
    # BBC pipeline's texts) is encoded once.
    unique = list(dict.fromkeys(texts))
    vectors = encoder.encode(unique, progress=progress)
    if len(unique) < len(texts):
        position = {text: i for i, text in enumerate(unique)}
        vectors = vectors[[position[text] for text in texts]]
    summary.embed_seconds = time.perf_counter() - embed_start
    summary.embedded_texts = len(unique)
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


def _fill_from_manifest(summary: BuildSummary, manifest: dict, folder: Path) -> None:
    summary.model = manifest.get("model", "")
    summary.backend = manifest.get("encoder_backend", "torch-fp32")
    summary.dimension = manifest.get("dimension", 0)
    summary.index_kind = manifest.get("index_kind") or {}
    summary.articles = manifest.get("articles", 0)
    summary.passages = manifest.get("passages", 0)
    summary.sentences = manifest.get("sentences", 0)
    summary.version = manifest.get("version")
    summary.size_bytes = _size(folder)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
