"""Build or update the PostgreSQL index: one transaction per build under an advisory lock.

New and changed articles are chunked, embedded and tokenised by the FAISS build's own code
(index.build.embed_articles into an in-memory catalog, whose FTS5 index gives the BM25
postings), so passages, sentences, vectors and term statistics are the same; changed and
removed articles are retired (`removed_in`); the version row is inserted last, and the commit
publishes it. Rows no kept version sees any more are deleted.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import psycopg

import index.catalog as catalog
import index.publish as publish
from index.build import (
    BuildSummary,
    Changes,
    build_encoder,
    compare,
    corpus_fingerprint,
    disagreement,
    embed_articles,
    everything,
    fill_summary,
    manifest_of,
    materialize,
    outdated,
    up_to_date,
)
from index.catalog import RowIds
from index.encoders import Encoder, agrees
from index.lexical import Postings
from index.pg.schema import (
    LOCK_KEY,
    SCHEMA,
    IndexDatabaseError,
    connect,
    create_hnsw,
    create_tables,
    drop_hnsw,
    drop_rows,
    has_tables,
    load_array,
    save_array,
    short,
    vector_text,
    where,
)
from index.publish import Manifest
from index.settings import IndexSettings
from index.sources import Article, Corpus

BACKEND = "postgresql"
S = SCHEMA


@dataclass
class Newest:
    """The newest published version: its id, manifest, probe vectors and live articles by
    article id (row, fingerprint)."""

    id: int
    manifest: Manifest
    probe: np.ndarray | None
    rows: dict[str, tuple[int, str]]

    def fingerprints(self) -> dict[str, str]:
        """The fingerprint each live article had when it was embedded, by article id."""
        return {aid: fingerprint for aid, (_, fingerprint) in self.rows.items()}


def build_pg_index(corpus: Corpus, settings: IndexSettings, full: bool = False,
                   progress: bool = False, encoder: Encoder | None = None) -> BuildSummary:
    """Publish a new version of the PostgreSQL index for `corpus` (INDEX_DATABASE_URL), or
    nothing when it is up to date; builds wait for each other (pg_advisory_xact_lock)."""
    started = time.perf_counter()
    url = settings.resolved_index_database_url
    if url is None:
        raise IndexDatabaseError("INDEX_DATABASE_URL is not set (INDEX_BACKEND=postgresql)")
    summary = BuildSummary(problems=corpus.problems, skipped_files=corpus.skipped_files)
    summary.location = f"PostgreSQL {where(url)}"
    with closing(connect(url, autocommit=False)) as conn:
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
                _build_locked(conn, corpus, settings, summary, full, progress, encoder,
                              started)
        except psycopg.Error as err:
            raise IndexDatabaseError(
                f"The index database {where(url)} (INDEX_DATABASE_URL) refused the build "
                f"({short(err)}); nothing was published.") from err
    return summary


def _build_locked(conn: psycopg.Connection, corpus: Corpus, settings: IndexSettings,
                  summary: BuildSummary, full: bool, progress: bool,
                  encoder: Encoder | None, started: float) -> None:
    newest = newest_version(conn)
    current = {a.article_id: a for a in corpus.articles}
    fingerprint = corpus_fingerprint(corpus.articles)
    old, changes = _plan(current, newest, settings, summary, full)
    if (newest is not None and summary.full_reason is None
            and up_to_date(changes, newest.manifest.corpus_fingerprint, fingerprint)):
        _fill_from(summary, newest.manifest, conn)
        summary.seconds = time.perf_counter() - started
        return
    to_embed = materialize(corpus, current, changes)
    if encoder is None:
        encoder = _encoder(settings, newest, to_embed)
    probe = encoder.probe_vectors()
    if (newest is not None and old and newest.probe is not None
            and not agrees(newest.probe, probe)):
        # Vectors of two encoders cannot share one index: embed everything again.
        old, changes = _rebuild_all(current, summary, disagreement(encoder))
        to_embed = materialize(corpus, current, changes)
    _prepare_tables(conn, newest, encoder, settings)
    version = _one(conn, f"SELECT coalesce(max(id), 0) + 1 FROM {S}.versions")
    _retire(conn, version, _retired_rows(old, changes, newest))
    rows = {aid: row for aid, (row, _) in old.items() if aid in current}
    ids = _next_ids(conn, newest)
    summary.encoded_by(encoder)
    if to_embed:
        _insert_bulk(conn, to_embed, encoder, settings, summary, progress, ids, rows, version)
    order = np.array([rows[a.article_id] for a in corpus.articles], np.int64)
    _purge(conn, version, settings.keep_index_versions)
    _publish(conn, version, newest, encoder, settings, summary, fingerprint, ids, order,
             probe, started)


def _encoder(settings: IndexSettings, newest: Newest | None, to_embed: list[Article]
             ) -> Encoder:
    """The passage encoder, keeping the backend the index recorded (ENCODER_BACKEND=auto)."""
    recorded = newest.manifest.encoder_backend if newest is not None else None
    return build_encoder(settings, settings.resolved_index_dir, to_embed, recorded)


def _prepare_tables(conn: psycopg.Connection, newest: Newest | None, encoder: Encoder,
                    settings: IndexSettings) -> None:
    """The tables for `encoder`'s vectors: emptied for another model (the vector columns
    change size), created when missing."""
    if newest is not None and newest.manifest.dimension != encoder.dimension:
        drop_rows(conn)
    if not has_tables(conn, "passages"):
        create_tables(conn, encoder.dimension, settings.hnsw_m, settings.hnsw_ef_construction)


def _retired_rows(old: dict[str, tuple[int, str]], changes: Changes,
                  newest: Newest | None) -> list[int] | None:
    """The article rows the new version retires: those of the changed and removed articles;
    None (every live row) on a full rebuild over a published version, whose `old` is empty."""
    if old or newest is None:
        return [old[a][0] for a in changes.retired]
    return None


def _insert_bulk(conn: psycopg.Connection, articles: list[Article], encoder: Encoder,
                 settings: IndexSettings, summary: BuildSummary, progress: bool, ids: RowIds,
                 rows: dict[str, int], version: int) -> None:
    """`_insert`; into empty tables (a first build, another model) the rows first, then the
    HNSW graphs in one CREATE INDEX each, instead of one graph insert per row (~50 rows/s)."""
    bulk = not _one(conn, f"SELECT count(*) FROM (SELECT 1 FROM {S}.passages LIMIT 1) p")
    if bulk:
        drop_hnsw(conn)
    _insert(conn, articles, encoder, settings, summary, progress, ids, rows, version)
    if bulk:
        create_hnsw(conn, settings.hnsw_m, settings.hnsw_ef_construction)


def newest_version(conn: psycopg.Connection) -> Newest | None:
    """The newest published version and its live articles; None before the first build."""
    if not has_tables(conn):
        return None
    row = conn.execute(f"SELECT id, manifest, probe FROM {S}.versions "
                       "ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        return None
    live = conn.execute(f"SELECT id, article_id, fingerprint FROM {S}.articles "
                        "WHERE removed_in IS NULL").fetchall()
    return Newest(int(row[0]), Manifest.from_dict(row[1]), load_array(row[2]),
                  {aid: (int(r), fp) for r, aid, fp in live})


def _plan(current: dict[str, Article], newest: Newest | None, settings: IndexSettings,
          summary: BuildSummary, full: bool) -> tuple[dict[str, tuple[int, str]], Changes]:
    """New, changed, removed and unchanged articles into `summary`; the live articles the
    build keeps or retires (none: a full rebuild, which retires every live one) and the
    changes."""
    reason = "--full" if full else None
    if newest is not None and reason is None:
        reason = outdated(newest.manifest, settings)
    if reason is not None:
        return _rebuild_all(current, summary, reason)
    old = newest.rows if newest is not None else {}
    changes = compare(current, newest.fingerprints() if newest is not None else {})
    summary.record(changes)
    return old, changes


def _rebuild_all(current: dict[str, Article], summary: BuildSummary,
                 reason: str) -> tuple[dict[str, tuple[int, str]], Changes]:
    summary.full_reason = reason
    changes = everything(current)
    summary.record(changes)
    return {}, changes


def _retire(conn: psycopg.Connection, version: int, rows: list[int] | None) -> None:
    """Retire these article rows (None: every live one) from `version` on, and take their
    passages out of the term statistics."""
    chosen = "removed_in IS NULL" if rows is None else "id = ANY(%(rows)s)"
    params = {"rows": rows or [], "version": version}
    if rows is not None and not rows:
        return
    conn.execute(f"""
        UPDATE {S}.terms t SET documents = t.documents - gone.n
        FROM (SELECT po.term, count(*) AS n FROM {S}.postings po
              JOIN {S}.passages p ON p.id = po.passage
              WHERE p.article IN (SELECT id FROM {S}.articles WHERE {chosen})
              GROUP BY po.term) gone
        WHERE t.term = gone.term""", params)
    conn.execute(f"DELETE FROM {S}.terms WHERE documents <= 0")
    conn.execute(f"UPDATE {S}.articles SET removed_in = %(version)s WHERE {chosen}",
                 params)


def _next_ids(conn: psycopg.Connection, newest: Newest | None) -> RowIds:
    """The first free id of each table: never one a version handed out before."""
    recorded = RowIds.from_dict(newest.manifest.next_ids) if newest is not None else RowIds()
    found = [_one(conn, f"SELECT coalesce(max(id), 0) + 1 FROM {S}.{t}")
             for t in ("articles", "passages", "sentences")]
    return RowIds(max(recorded.article, found[0]), max(recorded.passage, found[1]),
                  max(recorded.sentence, found[2]))


def _insert(conn: psycopg.Connection, articles: list[Article], encoder: Encoder,
            settings: IndexSettings, summary: BuildSummary, progress: bool, ids: RowIds,
            rows: dict[str, int], version: int) -> None:
    """Chunk, embed and tokenise `articles` as the FAISS build does, and copy the rows in."""
    first_passage = ids.passage
    with closing(catalog.connect(Path(":memory:"))) as lite:
        catalog.create(lite)
        passage_vectors, sentence_vectors = embed_articles(lite, articles, encoder, settings,
                                                           summary, progress, ids, rows)
        postings = Postings.from_catalog(lite)
        _copy_articles(conn, lite, version)
        passages = lite.execute("SELECT id, article, paragraph, start, end FROM passages "
                                "ORDER BY id").fetchall()
        with conn.cursor().copy(f'COPY {S}.passages (id, article, paragraph, start, "end", '
                                "length, added_in, embedding) FROM STDIN") as copy:
            for (pid, article, paragraph, start, end), length, vector in zip(
                    passages, postings.lengths, passage_vectors, strict=True):
                copy.write_row((pid, article, paragraph, start, end, int(length), version,
                                vector_text(vector)))
        sentences = lite.execute("SELECT s.id, s.passage, p.article, s.start, s.end "
                                 "FROM sentences s JOIN passages p ON p.id = s.passage "
                                 "ORDER BY s.id").fetchall()
        with conn.cursor().copy(f'COPY {S}.sentences (id, passage, article, start, "end", '
                                "added_in, embedding) FROM STDIN") as copy:
            for row, vector in zip(sentences, sentence_vectors, strict=True):
                copy.write_row((*tuple(row), version, vector_text(vector)))
    _copy_postings(conn, postings)
    conn.execute(f"""
        INSERT INTO {S}.terms (term, documents)
        SELECT term, count(*) FROM {S}.postings WHERE passage >= %s GROUP BY term
        ON CONFLICT (term) DO UPDATE SET documents = {S}.terms.documents + EXCLUDED.documents
        """, (first_passage,))


def _copy_articles(conn: psycopg.Connection, lite: sqlite3.Connection, version: int) -> None:
    cursor = lite.execute(f"SELECT {catalog.ARTICLE_COLUMNS} FROM articles ORDER BY id")
    with conn.cursor().copy(f"COPY {S}.articles ({catalog.ARTICLE_COLUMNS}, added_in) "
                            "FROM STDIN") as copy:
        for row in cursor:
            copy.write_row((*tuple(row), version))


def _copy_postings(conn: psycopg.Connection, postings: Postings) -> None:
    """(term, passage, frequency) for every posting of the new passages."""
    with conn.cursor().copy(f"COPY {S}.postings (term, passage, frequency) FROM STDIN") as copy:
        for term, t in postings.terms.items():
            start, end = int(postings.indptr[t]), int(postings.indptr[t + 1])
            for doc, frequency in zip(postings.docs[start:end].tolist(),
                                      postings.frequency[start:end].tolist(), strict=True):
                copy.write_row((term, int(postings.passage_ids[doc]), int(frequency)))


def _publish(conn: psycopg.Connection, version: int, newest: Newest | None, encoder: Encoder,
             settings: IndexSettings, summary: BuildSummary, fingerprint: str, ids: RowIds,
             order: np.ndarray, probe: np.ndarray, started: float) -> None:
    """Insert the version row (the commit publishes it)."""
    passages, total_length = conn.execute(
        f"SELECT count(*), coalesce(sum(p.length), 0) FROM {S}.passages p "
        f"JOIN {S}.articles a ON a.id = p.article WHERE a.removed_in IS NULL").fetchone() or (0, 0)
    sentences = _one(conn, f"SELECT count(*) FROM {S}.sentences s JOIN {S}.articles a "
                           "ON a.id = s.article WHERE a.removed_in IS NULL")
    summary.articles, summary.passages, summary.sentences = len(order), passages, sentences
    summary.deleted_articles = _one(conn, f"SELECT count(*) FROM {S}.articles "
                                          "WHERE removed_in IS NOT NULL")
    summary.index_kind = {"passages": "hnsw", "sentences": "hnsw"}
    summary.seconds = time.perf_counter() - started
    name = publish.new_version_name()
    # An updated index keeps the backend it recorded (its vectors agree with it); a full
    # rebuild records its own.
    recorded = None
    if newest is not None and summary.full_reason is None:
        recorded = newest.manifest.encoder_backend
    manifest = dataclasses.replace(
        manifest_of(name, encoder, settings, summary, fingerprint, [], ids, recorded),
        extra={"backend": BACKEND})
    conn.execute(
        f"INSERT INTO {S}.versions (id, name, model, dimension, manifest, probe, "
        "article_order, passages, sentences, total_length) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (version, name, encoder.name, encoder.dimension, json.dumps(manifest.to_dict()),
         save_array(probe), order.astype("<i8").tobytes(), passages, sentences,
         int(total_length)))
    summary.version, summary.written = name, True
    summary.size_bytes = disk_bytes(conn)


def _purge(conn: psycopg.Connection, version: int, keep: int) -> None:
    """Delete the rows no kept version sees (`version` and the newest `keep` - 1 before it):
    those retired at or before the oldest kept one; and the corpus order of versions no
    longer kept."""
    kept = [version] + [r[0] for r in conn.execute(
        f"SELECT id FROM {S}.versions ORDER BY id DESC LIMIT %s", (keep - 1,)).fetchall()]
    oldest = min(kept)
    conn.execute(f"DELETE FROM {S}.articles WHERE removed_in <= %s", (oldest,))
    conn.execute(f"UPDATE {S}.versions SET article_order = NULL "
                 "WHERE id < %s AND article_order IS NOT NULL", (oldest,))


def disk_bytes(conn: psycopg.Connection) -> int:
    """Bytes the index's tables and their indexes take."""
    return _one(conn, "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint "
                      "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                      "WHERE n.nspname = %s AND c.relkind = 'r'", (SCHEMA,))


def _fill_from(summary: BuildSummary, manifest: Manifest, conn: psycopg.Connection) -> None:
    fill_summary(summary, manifest)
    summary.deleted_articles = _one(conn, f"SELECT count(*) FROM {S}.articles "
                                          "WHERE removed_in IS NOT NULL")
    summary.size_bytes = disk_bytes(conn)


def _one(conn: psycopg.Connection, query: str, params: tuple = ()) -> int:
    row = conn.execute(query, params).fetchone()
    return int(row[0]) if row else 0
