"""Build or update the index: read the corpus, embed what changed into one new segment, and
publish a version that shares every other segment with the live one (index.segment)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
import sqlite3
import time
from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import index.catalog as catalog
import index.publish as publish
import index.segment as segment
from index.catalog import RowIds
from index.chunk import CHUNKER_VERSION, Passage, passages
from index.encoders import Encoder, agrees, passage_encoder, resolve_model
from index.merge import merge_locked
from index.publish import Manifest
from index.settings import IndexSettings
from index.sources import Article, Corpus, Problem

log = logging.getLogger(__name__)
LEGACY_FORMAT = 1  # one catalog (vectors in it) per version: converted, not re-embedded


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

    def lines(self) -> list[str]:
        rate = self.embedded_passages / self.seconds if self.seconds else 0.0
        state = f"published version {self.version}" if self.written else "index already up to date"
        lines = [
            f"Articles: {len(self.new)} new, {len(self.changed)} changed, {self.unchanged} "
            f"unchanged, {len(self.removed)} removed, {self.skipped_files} skipped files",
            f"Passages: {self.passages} ({self.embedded_passages} embedded now, "
            f"{self.sentences} sentences)",
            f"Model: {self.model} (dimension {self.dimension}, {self.backend or 'unchanged'}), "
            "new segment's stores: "
            + (", ".join(f"{k} {v}" for k, v in self.index_kind.items()) or "none"),
            f"Time: {self.seconds:.1f} s, {rate:.1f} passages/s "
            f"({self.embedded_texts} texts encoded in {self.embed_seconds:.1f} s)",
            f"Index size on disk: {self.size_bytes / 1e6:.1f} MB in {self.segments} segments "
            f"({self.deleted_articles} deleted articles kept until a merge); {state}"
            if self.location is None else
            f"Index size in {self.location}: {self.size_bytes / 1e6:.1f} MB "
            f"({self.deleted_articles} retired articles kept for readers of the version "
            f"before); {state}",
        ]
        if self.converted:
            lines.insert(0, "Converted the index to segments (format "
                            f"{publish.FORMAT_VERSION}), re-embedding nothing")
        lines.extend(f"Merged: {merge}" for merge in self.merges)
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
class Live:
    """The live version a build updates: its live articles by id (row, fingerprint, segment
    folder) and the article rows it already leaves out."""

    folder: Path
    manifest: Manifest
    rows: dict[str, tuple[int, str, Path]]
    deleted: np.ndarray
    legacy: bool = False


@dataclass
class Plan:
    """What a build starts from: the corpus by article id, and the live version it updates
    (None: a full rebuild)."""

    current: dict[str, Article]
    fingerprint: str
    live: Live | None = None

    def up_to_date(self, summary: BuildSummary) -> bool:
        """Nothing changed since the live version, which is in today's format."""
        if self.live is None or summary.new or summary.changed or summary.removed:
            return False
        return not self.live.legacy and self.live.manifest.corpus_fingerprint == self.fingerprint

    def rebuild_all(self, summary: BuildSummary, reason: str) -> None:
        """Embed every article again, without the live version."""
        self.live = None
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
        if live is not None and plan.up_to_date(summary):
            _fill_from_manifest(summary, live.manifest, live.folder)
            summary.seconds = time.perf_counter() - started
            return summary
        to_embed = _materialize(corpus, plan, summary)
        if encoder is None:
            recorded = live.manifest.encoder_backend if live is not None else None
            encoder = passage_encoder(settings, index_dir, [a.text[:1500] for a in to_embed[:48]],
                                      backend=recorded if settings.encoder_backend == "auto"
                                      else None)
        probe = encoder.probe_vectors()
        if live is not None and not _agrees(live.folder, probe):
            plan.rebuild_all(summary, f"the current index's vectors disagree with "
                                      f"{encoder.backend}'s (another backend or precision)")
            to_embed = _materialize(corpus, plan, summary)
        summary.model, summary.dimension = encoder.name, encoder.dimension
        summary.backend = encoder.backend
        final = _write_version(index_dir, plan, corpus, to_embed, encoder, settings, summary,
                               progress, started)
        summary.size_bytes = publish.disk_bytes(final)
        publish.cleanup(index_dir, settings.keep_index_versions)
        if merge and settings.merge_factor:
            summary.merges = _merge_after(index_dir, settings)
        return summary


def _merge_after(index_dir: Path, settings: IndexSettings) -> list[str]:
    """The merges the policy asks for after a build, as summary lines; a merge that fails
    (or is interrupted) is a warning: the build is published, the next build merges."""
    try:
        return [m.line() for m in merge_locked(index_dir, settings)]
    except (Exception, KeyboardInterrupt) as err:
        log.warning("merging segments failed: %s", err)
        return [f"not merged ({type(err).__name__}: {err}); the build is published, the next "
                "build merges"]


def plan_build(corpus: Corpus, index_dir: Path, settings: IndexSettings, summary: BuildSummary,
               full: bool) -> Plan:
    """Compare the corpus with the live version: new, changed, removed and unchanged
    articles go into `summary`; the plan says which version the build updates."""
    plan = Plan({a.article_id: a for a in corpus.articles}, corpus_fingerprint(corpus.articles))
    folder = publish.current_version(index_dir)
    if full:
        summary.full_reason = "--full"
    elif folder is not None:
        manifest = _usable_manifest(folder, settings, summary)
        if manifest is not None:
            with publish.reading(folder):
                plan.live = _read_live(folder, manifest)
    old = plan.live.rows if plan.live is not None else {}
    current = plan.current
    summary.new = [a for a in current if a not in old]
    summary.changed = [a for a in current if a in old and old[a][1] != current[a].fingerprint]
    summary.removed = [a for a in old if a not in current]
    summary.unchanged = len(current) - len(summary.new) - len(summary.changed)
    return plan


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
    for entry in manifest.segments:
        path = folder / publish.SEGMENTS / entry["name"]
        with closing(catalog.connect(path / segment.CATALOG, readonly=True)) as conn:
            for row, aid, fingerprint in catalog.fingerprints(conn):
                if row not in gone:
                    rows[aid] = (row, fingerprint, path)
    return Live(folder, manifest, rows, deleted)


def _materialize(corpus: Corpus, plan: Plan, summary: BuildSummary) -> list[Article]:
    """The articles to embed, in corpus order of new then changed ones, with their texts."""
    wanted = [plan.current[a] for a in summary.new + summary.changed]
    stubs = [a.article_id for a in wanted if a.stub]
    if not stubs:
        return wanted
    full = corpus.materialize(stubs)
    return [full.get(a.article_id, a) for a in wanted]


def _write_version(index_dir: Path, plan: Plan, corpus: Corpus, to_embed: list[Article],
                   encoder: Encoder, settings: IndexSettings, summary: BuildSummary,
                   progress: bool, started: float) -> Path:
    """Write the new version into a staging folder and publish it; its folder."""
    name = publish.new_version_name()
    staging = publish.staging_dir(index_dir, name)
    root = staging / publish.SEGMENTS
    root.mkdir()
    try:
        entries, rows, ids, counts = _kept_segments(plan, root, settings, summary)
        live = plan.live
        deleted: defaultdict[Path, list[int]] = defaultdict(list)  # rows by segment folder
        for article_id in summary.changed + summary.removed:
            assert live is not None  # only a build that updates a version has these
            row, _, where = live.rows[article_id]
            rows.pop(article_id, None)
            deleted[where].append(row)
        by_name = {entry["name"]: entry for entry in entries}
        for where, gone in deleted.items():
            passages_gone, sentences_gone = _rows_of(where, gone)
            counts["passages"] -= passages_gone
            counts["sentences"] -= sentences_gone
            entry = by_name[where.name]
            entry["deleted_passages"] = int(entry.get("deleted_passages", 0)) + passages_gone
        summary.index_kind = {}
        if to_embed:
            info = _new_segment(root, to_embed, encoder, settings, summary, progress, ids, rows)
            entries.append(info.to_dict())
            counts["passages"] += info.passages
            counts["sentences"] += info.sentences
            summary.index_kind = info.index_kind
        all_deleted = np.unique(np.concatenate(
            [live.deleted if live is not None else np.zeros(0, np.int64)]
            + [np.asarray(g, np.int64) for g in deleted.values()])).astype(np.int64)
        np.save(staging / publish.DELETED, all_deleted)
        np.save(staging / publish.ORDER, np.array([rows[a.article_id] for a in corpus.articles],
                                                  np.int64))
        np.save(staging / publish.PROBE, encoder.probe_vectors())
        summary.articles, summary.passages = len(corpus.articles), counts["passages"]
        summary.sentences, summary.segments = counts["sentences"], len(entries)
        summary.deleted_articles = len(all_deleted)
        summary.seconds = time.perf_counter() - started
        # The backend the index chose stays recorded (a bot's fetch embeds with its question
        # encoder, which agrees with it); a full build records its own.
        recorded = live.manifest.encoder_backend if live is not None else None
        publish.write_manifest(staging, manifest_of(name, encoder, settings, summary,
                                                    plan.fingerprint, entries, ids, recorded))
        final = publish.publish(index_dir, staging, name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    summary.version, summary.written = name, True
    return final


def _rows_of(folder: Path, articles: list[int]) -> tuple[int, int]:
    """How many passages and sentences these articles of a segment have."""
    with np.load(folder / segment.TABLES) as tables:
        passages, sentences = tables["passages"], tables["sentences"]
    gone = passages[np.isin(passages[:, 1], articles), 0]
    return len(gone), int(np.isin(sentences[:, 1], gone).sum())


def _kept_segments(plan: Plan, root: Path, settings: IndexSettings, summary: BuildSummary
                   ) -> tuple[list[dict[str, Any]], dict[str, int], RowIds, dict[str, int]]:
    """Link (or, from a legacy version, convert) the live version's segments into `root`:
    their manifest entries, the rows of the live articles, the next free ids and the live
    row counts."""
    live = plan.live
    if live is None:
        return [], {}, RowIds(), {"passages": 0, "sentences": 0}
    counts = {"passages": live.manifest.passages or 0, "sentences": live.manifest.sentences}
    rows = {aid: row for aid, (row, _, _) in live.rows.items()}
    if live.legacy:
        info, ids = convert_legacy(live.folder, root / segment.new_name(), settings)
        counts = {"passages": info.passages, "sentences": info.sentences}
        summary.converted = True
        converted = root / info.name
        live.rows = {aid: (row, fp, converted) for aid, (row, fp, _) in live.rows.items()}
        return [info.to_dict()], rows, ids, counts
    entries = []
    for entry in live.manifest.segments:
        publish.share(live.folder / publish.SEGMENTS / entry["name"], root / entry["name"])
        entries.append(dict(entry))
    return entries, rows, RowIds.from_dict(live.manifest.next_ids), counts


def _new_segment(root: Path, articles: list[Article], encoder: Encoder, settings: IndexSettings,
                 summary: BuildSummary, progress: bool, ids: RowIds,
                 rows: dict[str, int]) -> segment.SegmentInfo:
    """Embed `articles` into a new segment under `root` (taking ids from `ids` and recording
    each article's row in `rows`); its manifest entry."""
    folder = root / segment.new_name()
    folder.mkdir()
    with closing(catalog.connect(folder / segment.CATALOG)) as conn:
        catalog.create(conn)
        passage_vectors, sentence_vectors = embed_articles(conn, articles, encoder, settings,
                                                           summary, progress, ids, rows)
        return segment.finish(folder, conn, passage_vectors, sentence_vectors, settings)


def embed_articles(conn: sqlite3.Connection, articles: list[Article], encoder: Encoder,
                   settings: IndexSettings, summary: BuildSummary, progress: bool, ids: RowIds,
                   rows: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Insert `articles` into the (created) catalog of `conn`, committed, with ids from `ids`
    (each article's row recorded in `rows`), and embed them: the passage and the sentence
    vectors in id order (a passage of one sentence lends it its vector). Both backends build
    through this, so their passages, sentences and vectors are the same."""
    chunks, texts = encoded_texts(articles, settings.max_passage_words)
    vectors = _encode_once(encoder, texts, progress, summary)
    added_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    passage_vectors: list[np.ndarray] = []
    sentence_vectors: list[np.ndarray] = []
    at = 0
    for article, article_passages in zip(articles, chunks, strict=True):
        rows[article.article_id] = ids.article
        for p in article_passages:
            passage_vectors.append(vectors[at])
            at += 1
            if len(p.sentences) > 1:
                sentence_vectors.extend(vectors[at:at + len(p.sentences)])
                at += len(p.sentences)
            else:
                sentence_vectors.extend([vectors[at - 1]] * len(p.sentences))
        summary.embedded_passages += len(article_passages)
        catalog.insert_article(conn, article, article_passages, added_at, ids)
    conn.commit()
    dimension = encoder.dimension
    return (np.asarray(passage_vectors, np.float32).reshape(-1, dimension),
            np.asarray(sentence_vectors, np.float32).reshape(-1, dimension))


def convert_legacy(old: Path, folder: Path, settings: IndexSettings
                   ) -> tuple[segment.SegmentInfo, RowIds]:
    """A segment holding every row of a format-1 version (one catalog with its vectors in
    it), ids kept: nothing is embedded again. Its entry and the next free ids."""
    folder.mkdir()
    source = old / segment.CATALOG
    with closing(catalog.connect(folder / segment.CATALOG)) as conn:
        catalog.create(conn)
        conn.execute("ATTACH DATABASE ? AS src", (f"file:{source}?mode=ro",))
        conn.execute(f"INSERT INTO articles ({catalog.ARTICLE_COLUMNS}) SELECT "
                     f"{catalog.ARTICLE_COLUMNS} FROM src.articles ORDER BY id")
        conn.execute("INSERT INTO passages (id, article, paragraph, start, end) "
                     "SELECT id, article, paragraph, start, end FROM src.passages ORDER BY id")
        conn.execute("INSERT INTO sentences (id, passage, start, end) "
                     "SELECT id, passage, start, end FROM src.sentences ORDER BY id")
        conn.execute("INSERT INTO passages_fts (rowid, text) "
                     "SELECT rowid, text FROM src.passages_fts ORDER BY rowid")
        dimension = int(publish.read_manifest(old).dimension)
        vectors = {}
        for table in ("passages", "sentences"):
            count = conn.execute(f"SELECT count(*) FROM src.{table}").fetchone()[0]
            matrix = np.empty((count, dimension), np.float32)
            for at, row in enumerate(conn.execute(f"SELECT vector FROM src.{table} ORDER BY id")):
                matrix[at] = np.frombuffer(row[0], np.float32)
            vectors[table] = matrix
        top = [conn.execute(f"SELECT coalesce(max(id), 0) FROM src.{t}").fetchone()[0]
               for t in ("articles", "passages", "sentences")]
        conn.commit()
        conn.execute("DETACH DATABASE src")
        info = segment.finish(folder, conn, vectors["passages"], vectors["sentences"], settings)
    return info, RowIds(top[0] + 1, top[1] + 1, top[2] + 1)


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


def _agrees(old_dir: Path, probe: np.ndarray) -> bool:
    """Whether the live index's passage encoder and this one give the same vectors."""
    if not (old_dir / publish.PROBE).exists():
        return True  # built before probes were recorded: by torch fp32
    return agrees(np.load(old_dir / publish.PROBE), probe)


def _usable_manifest(old_dir: Path, settings: IndexSettings,
                     summary: BuildSummary) -> Manifest | None:
    """The live index's manifest when it can be updated (or converted), else None (full
    rebuild, the reason in `summary`)."""
    try:
        manifest = publish.read_manifest(old_dir)
    except (OSError, ValueError):
        summary.full_reason = "the current index has no readable manifest"
        return None
    if manifest.format_version == LEGACY_FORMAT:
        if not (old_dir / segment.CATALOG).is_file():
            summary.full_reason = "the current index is missing files"
            return None
    elif manifest.format_version != publish.FORMAT_VERSION:
        summary.full_reason = "the current index has another format version"
        return None
    if manifest.model != resolve_model(settings.embedding_model, settings.models_dir)[0]:
        summary.full_reason = f"the current index was built with {manifest.model!r}"
        return None
    if manifest.chunking != chunking(settings):
        summary.full_reason = "passages are cut differently now (chunking settings or version)"
        return None
    missing = [e["name"] for e in manifest.segments
               if not (old_dir / publish.SEGMENTS / e["name"] / segment.TABLES).is_file()]
    if missing:
        summary.full_reason = f"the current index is missing segment {missing[0]}"
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


def _fill_from_manifest(summary: BuildSummary, manifest: Manifest, folder: Path) -> None:
    fill_summary(summary, manifest)
    summary.segments = len(manifest.segments)
    summary.deleted_articles = manifest.deleted_articles
    summary.size_bytes = publish.disk_bytes(folder)
