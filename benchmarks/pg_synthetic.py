"""A synthetic PostgreSQL index of about a million passages, for benchmarks/scale.py.

The BBC articles of an index built at BBC size are copied under new ids (`syn001-<id>`, ...)
until the index holds the passages asked for: their passages, sentences and BM25 postings with
them, each copied vector moved by a small noise vector (one of NOISE_ROWS, chosen by row and
copy) so that no two rows are equal, the term counts recounted, the HNSW graphs built once over
all rows. Then build_index's own builder publishes a version over a corpus file holding the
same copies, so the copies are ordinary unchanged articles to every later build (adding 10
articles to it is the real incremental build). Growing it takes about an hour on 2 cores; the
server's data folder is kept (`--synthetic-dir`) and reused by the next run.

    .venv/bin/python -m benchmarks.pg_synthetic [--passages 1000000] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import numpy as np
import psycopg

from benchmarks.common import OUT, SHARED
from benchmarks.pg_index import CACHED, CORPUS, build_pg, faiss_encoder, pg_settings
from bot.settings import Settings
from index.pg.build import build_pg_index
from index.pg.schema import SCHEMA, create_hnsw, drop_hnsw, vector_text
from index.sources import SCAN_CACHE, read_corpus
from tests.support.services import Postgres, pgserver_bin

S = SCHEMA
NOISE_ROWS = 997  # noise vectors; row r of copy c takes number (31 r + c) mod NOISE_ROWS
NOISE_SD = 0.02  # per dimension: a copy's cosine to its original is about 0.93
GROWN = "grown.json"  # in the data folder, once a growth finished: what it holds


def synthetic_corpus(bbc: Path, folder: Path, copies: int) -> Path:
    """One JSONL file of `copies` copies of the BBC articles under new ids (same texts)."""
    out = folder / "synthetic.jsonl"
    with open(bbc, encoding="utf-8") as handle:
        articles = [json.loads(line) for line in handle if line.strip()]
    folder.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as handle:
        for copy in range(1, copies + 1):
            for article in articles:
                handle.write(json.dumps({**article, "id": f"syn{copy:03d}-{article['id']}"})
                             + "\n")
    return out


def copies_for(url: str, bbc_ids: list[str], passages: int) -> int:
    """How many copies of the BBC articles bring the index to `passages` passages."""
    with closing(psycopg.connect(url)) as conn:
        total, bbc = conn.execute(
            f"SELECT count(*), count(*) FILTER (WHERE a.article_id = ANY(%s)) "
            f"FROM {S}.passages p JOIN {S}.articles a ON a.id = p.article "
            "WHERE a.removed_in IS NULL", (bbc_ids,)).fetchone() or (0, 0)
    return max(0, math.ceil((passages - int(total)) / max(int(bbc), 1)))


def grow(url: str, bbc_ids: list[str], copies: int, corpus_name: str, m: int,
         ef_construction: int) -> dict[str, float]:
    """Copy the live BBC articles' rows `copies` times (see the module's docstring); the
    seconds of each step."""
    seconds: dict[str, float] = {}
    with closing(psycopg.connect(url, autocommit=True)) as conn:
        conn.execute("SET session_replication_role = replica")  # no per-row FK checks
        conn.execute("SET maintenance_work_mem = '10GB'")
        conn.execute("SET max_parallel_maintenance_workers = 1")
        row = conn.execute(f"SELECT (SELECT max(id) FROM {S}.versions), "
                           f"(SELECT max(id) FROM {S}.articles), "
                           f"(SELECT max(id) FROM {S}.passages), "
                           f"(SELECT max(id) FROM {S}.sentences), "
                           f"(SELECT dimension FROM {S}.versions ORDER BY id DESC LIMIT 1)"
                           ).fetchone()
        assert row is not None
        version, articles, passages, sentences, dimension = (int(v) for v in row)
        params = {"v": version + 1, "a": articles, "p": passages, "s": sentences,
                  "n": NOISE_ROWS, "path": corpus_name}
        conn.execute("CREATE TEMP TABLE base AS SELECT id FROM "
                     f"{S}.articles WHERE removed_in IS NULL AND article_id = ANY(%s)",
                     (bbc_ids,))
        conn.execute("CREATE TEMP TABLE copies AS SELECT generate_series(1, %s) AS c",
                     (copies,))
        _noise(conn, dimension)
        drop_hnsw(conn)
        conn.execute(f"ALTER TABLE {S}.postings DROP CONSTRAINT IF EXISTS postings_pkey")
        conn.execute(f"DROP INDEX IF EXISTS {S}.postings_passage")
        steps = _copy_steps()
        for name, sql in steps.items():
            started = time.perf_counter()
            for statement in sql.split(";"):
                conn.execute(statement, params if "%(" in statement else None)
            seconds[name] = time.perf_counter() - started
            print(f"  {name}: {seconds[name]:.0f} s", flush=True)
        started = time.perf_counter()
        create_hnsw(conn, m, ef_construction)
        seconds["HNSW indexes"] = time.perf_counter() - started
        print(f"  HNSW indexes: {seconds['HNSW indexes']:.0f} s", flush=True)
        conn.execute(f"ANALYZE {S}.articles, {S}.passages, {S}.sentences, {S}.postings, "
                     f"{S}.terms")
    return seconds


def _noise(conn: psycopg.Connection, dimension: int) -> None:
    """The temporary table of NOISE_ROWS small random vectors."""
    conn.execute(f"CREATE TEMP TABLE noise (k integer PRIMARY KEY, v vector({dimension}))")
    rng = np.random.default_rng(0)
    with conn.cursor().copy("COPY noise (k, v) FROM STDIN") as copy:
        for k in range(NOISE_ROWS):
            copy.write_row((k, vector_text(rng.normal(0, NOISE_SD, dimension)
                                           .astype(np.float32))))


def _copy_steps() -> dict[str, str]:
    """The statements that copy the base articles' rows (parameters: %(v)s the new version,
    %(a)s/%(p)s/%(s)s the id offsets, %(n)s the noise rows, %(path)s the corpus file)."""
    return {
        "articles": f"""INSERT INTO {S}.articles (id, article_id, path, title, source, url,
            published, language, meta, text, fingerprint, added_at, added_in)
            SELECT a.id + c.c * %(a)s, 'syn' || lpad(c.c::text, 3, '0') || '-' ||
                   a.article_id, %(path)s, a.title, a.source, a.url, a.published,
                   a.language, a.meta, a.text, a.fingerprint, a.added_at, %(v)s
            FROM {S}.articles a JOIN base b ON b.id = a.id CROSS JOIN copies c""",
        "passages": f"""INSERT INTO {S}.passages (id, article, paragraph, start, "end",
            length, added_in, embedding)
            SELECT p.id + c.c * %(p)s, p.article + c.c * %(a)s, p.paragraph, p.start,
                   p."end", p.length, %(v)s, p.embedding + n.v
            FROM {S}.passages p JOIN base b ON b.id = p.article CROSS JOIN copies c
            JOIN noise n ON n.k = (p.id * 31 + c.c) %% %(n)s""",
        "sentences": f"""INSERT INTO {S}.sentences (id, passage, article, start, "end",
            added_in, embedding)
            SELECT s.id + c.c * %(s)s, s.passage + c.c * %(p)s, s.article + c.c * %(a)s,
                   s.start, s."end", %(v)s, s.embedding + n.v
            FROM {S}.sentences s JOIN base b ON b.id = s.article CROSS JOIN copies c
            JOIN noise n ON n.k = (s.id * 31 + c.c) %% %(n)s""",
        "postings": f"""INSERT INTO {S}.postings (term, passage, frequency)
            SELECT po.term, po.passage + c.c * %(p)s, po.frequency
            FROM {S}.postings po JOIN {S}.passages p ON p.id = po.passage
            JOIN base b ON b.id = p.article CROSS JOIN copies c""",
        "postings indexes": f"""ALTER TABLE {S}.postings ADD PRIMARY KEY (term, passage);
            CREATE INDEX postings_passage ON {S}.postings (passage)""",
        "term counts": f"""DELETE FROM {S}.terms;
            INSERT INTO {S}.terms (term, documents)
            SELECT term, count(*) FROM {S}.postings GROUP BY term""",
    }


def publish(url: str, corpus: Sequence[Path], work: Path, faiss_index: Path) -> float:
    """build_index's builder over `corpus` (the copies unchanged: nothing embedded; the
    articles an earlier run added retired); its seconds. The scan cache lands where
    build_index.py's does for this index (work/no-index)."""
    settings = pg_settings(url, work)
    encoder = faiss_encoder(faiss_index, settings)
    started = time.perf_counter()
    summary = build_pg_index(
        read_corpus(corpus, scan_cache=settings.resolved_index_dir / SCAN_CACHE), settings,
        encoder=encoder)
    seconds = time.perf_counter() - started
    assert not summary.changed, f"{len(summary.changed)} copies read as changed"
    print(f"published: {summary.articles} articles, {summary.passages} passages, "
          f"{summary.sentences} sentences ({len(summary.new)} new, {len(summary.removed)} "
          f"removed), {seconds:.1f} s", flush=True)
    return seconds


def bbc_ids(bbc: Path) -> list[str]:
    with open(bbc, encoding="utf-8") as handle:
        return [str(json.loads(line)["id"]) for line in handle if line.strip()]


def grown_index(passages: int, folder: Path | None, bbc: Path = SHARED / "bbc_news.jsonl",
                index_dir: Path = CACHED) -> tuple[Postgres, str, list[Path]]:
    """A started server (data kept in `folder`) holding the synthetic index of about
    `passages` passages, grown there on first use (see the module docstring); its URL and
    its corpus (the SQuAD + BBC corpus and the copies' file)."""
    folder = folder or OUT / f"pg-synthetic-{passages}"
    server = Postgres.kept_in(folder, pgserver_bin()).start()
    url = server.database_url("verbatim")
    copies_file = folder / "corpus" / "synthetic.jsonl"
    if not (folder / GROWN).exists():
        print(f"growing a synthetic index of {passages} passages in {folder}", flush=True)
        server.sql("verbatim", "DROP SCHEMA IF EXISTS verbatim_index CASCADE")  # one cut short
        server.sql("postgres", "ALTER DATABASE verbatim SET maintenance_work_mem = '4GB'")
        build_pg(index_dir, url, folder / "work", CORPUS)
        ids = bbc_ids(bbc)
        copies = copies_for(url, ids, passages)
        synthetic_corpus(bbc, copies_file.parent, copies)
        settings = Settings(_env_file=None)
        seconds = grow(url, ids, copies, copies_file.name, settings.hnsw_m,
                       settings.hnsw_ef_construction)
        (folder / GROWN).write_text(json.dumps({"passages": passages, "copies": copies,
                                                "seconds": seconds}))
    return server, url, [*CORPUS, copies_file]



def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--passages", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args(argv)
    server, _, _ = grown_index(args.passages, args.dir)
    server.stop()


if __name__ == "__main__":
    main()
