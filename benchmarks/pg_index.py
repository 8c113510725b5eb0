"""Helpers for benchmarking the PostgreSQL index: an encoder that reuses a FAISS index's stored
vectors (so building the same corpus into PostgreSQL embeds nothing already embedded), the
index's size in the database, and 10 new article files to time an incremental build."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import numpy as np
import psycopg

from benchmarks.common import OUT, SHARED
from bot.settings import Settings
from index.encoders import Encoder, passage_encoder
from index.pg.build import build_pg_index
from index.pg.schema import SCHEMA
from index.publish import read_manifest
from index.sources import read_corpus

# The SQuAD + BBC index benchmarks.answer_quality caches (BBC size), and its corpus.
AQ = OUT / "aq-sentence-transformers_all-MiniLM-L6-v2"
CACHED = AQ / "squad5+bbc" / "index"
CORPUS = [AQ / "corpora" / "squad5", SHARED / "bbc_news.jsonl"]


class StoredVectors(Encoder):
    """The vectors a FAISS index stored for its passage and sentence texts; any other text
    (the probes, new articles) is encoded by `base`, the encoder the index was built with."""

    def __init__(self, base: Encoder, index_dir: Path) -> None:
        self.base = base
        for attr in ("name", "path", "backend", "dimension", "batch_size", "batch_tokens"):
            setattr(self, attr, getattr(base, attr))
        self.passage_prompt = base.passage_prompt
        self.known: dict[str, np.ndarray] = {}
        self.misses = 0
        version = index_dir / "versions" / (index_dir / "CURRENT").read_text().strip()
        for segment in sorted((version / "segments").iterdir()):
            self._read(segment)

    def _read(self, segment: Path) -> None:
        passages = np.load(segment / "passages.npy", mmap_mode="r")
        sentences = np.load(segment / "sentences.npy", mmap_mode="r")
        with closing(sqlite3.connect(segment / "catalog.sqlite")) as conn:
            texts = dict(conn.execute("SELECT id, text FROM articles"))
            rows = conn.execute("SELECT article, start, end FROM passages ORDER BY id")
            for i, (article, start, end) in enumerate(rows):
                self.known.setdefault(texts[article][start:end], np.asarray(passages[i]))
            rows = conn.execute("SELECT p.article, s.start, s.end FROM sentences s "
                                "JOIN passages p ON p.id = s.passage ORDER BY s.id")
            for i, (article, start, end) in enumerate(rows):
                self.known.setdefault(texts[article][start:end], np.asarray(sentences[i]))

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.known))
        if missing:
            self.misses += len(missing)
            self.known.update(zip(missing, self.base._encode(missing, progress), strict=True))
        return np.asarray([self.known[t] for t in texts], np.float32)


def database_sizes(url: str) -> tuple[float, float]:
    """(the whole database, the verbatim_index schema's tables with their indexes) in MB."""
    with closing(psycopg.connect(url)) as conn:
        row = conn.execute(
            "SELECT pg_database_size(current_database()), "
            "(SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            " JOIN pg_namespace n ON n.oid = c.relnamespace "
            " WHERE n.nspname = %s AND c.relkind = 'r')", (SCHEMA,)).fetchone()
    assert row is not None
    return int(row[0]) / 2**20, int(row[1]) / 2**20


def ten_new_articles(bbc: Path, folder: Path, count: int = 10, prefix: str = "new") -> Path:
    """`count` new article files (BBC texts under new ids `prefix`-NN, a new first line) in
    `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(bbc, encoding="utf-8") as handle:
        for i, line in zip(range(count), handle, strict=False):
            article = json.loads(line)
            text = f"Update {i + 1}: a later report.\n\n{article['text']}"
            (folder / f"{prefix}-{i + 1:02d}.jsonl").write_text(json.dumps(
                {"id": f"{prefix}-{i + 1:02d}", "title": f"Update: {article['title']}",
                 "text": text}) + "\n", encoding="utf-8")
    return folder


def faiss_encoder(index_dir: Path, settings: Settings) -> Encoder:
    """The encoder a FAISS index was built with (its recorded backend, so that its probe
    vectors agree with the index's)."""
    version = (index_dir / "CURRENT").read_text().strip()
    manifest = read_manifest(index_dir / "versions" / version)
    return passage_encoder(settings, index_dir, backend=manifest.encoder_backend)


def pg_settings(url: str, work: Path) -> Settings:
    return Settings(_env_file=None, index_backend="postgresql", index_database_url=url,
                    data_dir=work / "pg-build", index_dir=work / "no-index")


def build_pg(index_dir: Path, url: str, work: Path, corpus: Sequence[Path]) -> float:
    """The FAISS index's corpus built into the PostgreSQL index at `url`, reusing its vectors;
    prints and returns the build's seconds."""
    settings = pg_settings(url, work)
    encoder = StoredVectors(faiss_encoder(index_dir, settings), index_dir)
    started = time.perf_counter()
    summary = build_pg_index(read_corpus(corpus), settings, encoder=encoder)
    seconds = time.perf_counter() - started
    print(f"PostgreSQL index: {summary.passages} passages, {summary.sentences} sentences, "
          f"{encoder.misses} texts encoded, {seconds:.1f} s (copy + HNSW indexes)", flush=True)
    return seconds
