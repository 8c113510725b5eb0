"""The PostgreSQL index (INDEX_BACKEND=postgresql) against the FAISS index of the same corpus:
built by the same code, it answers with the same quotes and ranks BM25 alike; an incremental
build touches only the changed rows and publishes a version row a loaded engine picks up; an
unreachable or empty index database is a clear IndexUnavailableError.

PostgreSQL 16 with pgvector comes from the PyPI package `pgserver` (skipped without it)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import shutil

import httpx
import numpy as np
import psycopg
import pytest
from pydantic import ValidationError

from bot.chat import ArticleServer
from bot.engine.answer import UNAVAILABLE, Engine
from bot.state import State
from index import IndexUnavailableError, load_index
from index.cli import main as build_main
from index.pg import SCHEMA, PgSource, build_pg_index
from index.pg.schema import hnsw_ready
from index.settings import IndexSettings, describe_error
from index.sources import read_corpus
from tests.support.botproc import wait_until
from tests.support.services import Postgres, free_port, mirror_install, pgvector_bin
from tests.support.texts import FUNDS, LIBYA, QUESTION
from tests.support.workspace import SEED, build, make_settings

GENEVA = "Where did the ceasefire talks take place?"
QUESTIONS = [QUESTION, "Who retook Tripoli International Airport?",
             "Where did the ceasefire talks take place?", "How much money did Libya receive?",
             "Who won the football world cup in 2010?"]
PHRASES = [["tripoli", "qasr"], ["libya", "fund", "libya"], ["ceasefir", "talk", "geneva"],
           ["airport"], ["haftar", "forc", "south"], ["nowher"]]


@pytest.fixture(scope="module")
def server():
    pg = Postgres.with_pgvector().start()
    yield pg
    pg.stop()


def corpus_of(settings, *extra: tuple[str, str]) -> None:
    settings.corpus_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(SEED, settings.corpus_dir / SEED.name)
    for name, text in extra:
        (settings.corpus_dir / name).write_text(text, encoding="utf-8")


def pg_build(settings, encoder, **kwargs):
    return build_pg_index(read_corpus([settings.corpus_dir]), settings, encoder=encoder, **kwargs)


@pytest.fixture(scope="module")
def both(server, encoder, tmp_path_factory):
    """The seed article and two small ones, built into FAISS and into PostgreSQL."""
    tmp = tmp_path_factory.mktemp("pg-both")
    settings = make_settings(tmp, index_backend="postgresql",
                             index_database_url=server.create_database("faiss_and_pg"))
    corpus_of(settings, ("libya.md", LIBYA), ("funds.md", FUNDS))
    build(settings, encoder)
    summary = pg_build(settings, encoder)
    assert summary.written and len(summary.new) == 3
    return settings.model_copy(update={"index_backend": "faiss"}), settings


def test_both_backends_answer_with_the_same_quotes(both, encoder) -> None:
    faiss_settings, pg_settings = both
    faiss, pg = Engine(faiss_settings, encoder=encoder), Engine(pg_settings, encoder=encoder)
    assert faiss.load() and pg.load()
    assert pg.version == pg.index.manifest.version and pg.index.passage_count > 30
    for question in QUESTIONS:
        a, b = faiss.answer(question), pg.answer(question)
        assert [q.to_dict() for q in a.quotes] == [q.to_dict() for q in b.quotes], question
        assert (a.abstained, a.suggestions) == (b.abstained, b.suggestions), question
        assert a.evidence == b.evidence, question  # every feature, float for float
    first = pg.answer(QUESTION).quotes[0]
    assert "26 km" in first.text and first.paragraph == 11
    info = pg.index.by_article_id[first.article_id]
    assert pg.index.article_text(info.row)[first.start:first.end] == first.text
    assert pg.article_text(first.article_id).text == faiss.article_text(first.article_id).text
    assert not pg.load()  # the same version: nothing to reload


def test_the_read_surface_matches_the_faiss_index(both, encoder) -> None:
    faiss_settings, pg_settings = both
    fa = load_index(faiss_settings.resolved_index_dir, encoder.name)
    pg = PgSource(pg_settings.resolved_index_database_url).load(encoder.name)
    assert list(fa.articles) == list(pg.articles)
    for row in fa.articles:
        assert (dataclasses.replace(fa.articles[row], added_at="")
                == dataclasses.replace(pg.articles[row], added_at=""))
        assert fa.article_passages(row) == pg.article_passages(row)
    assert [a.article_id for a in pg.articles.values()] == list(fa.by_article_id)
    mine, theirs = pg.articles.facets(), fa.articles.facets()  # one query: no article walk
    assert np.array_equal(mine.rows, theirs.rows) and mine.rows.tolist() == list(fa.articles)
    assert np.array_equal(mine.positions, theirs.positions)
    assert (mine.published, mine.sources, mine.languages) == (
        theirs.published, theirs.sources, theirs.languages)
    assert any(mine.published) and any(mine.sources)
    assert (fa.passage_count, fa.sentence_count) == (pg.passage_count, pg.sentence_count)
    assert dict(fa.vocabulary.items()) == dict(pg.vocabulary.items())
    assert fa.terms_like("t", 7) == pg.terms_like("t", 7) and pg.terms_like("t", 7)
    for pid in fa.article_passages(fa.by_article_id[SEED.name].row):
        assert fa.passage(pid) == pg.passage(pid)
        assert np.array_equal(fa.sentence_spans(pid), pg.sentence_spans(pid))
        assert np.array_equal(fa.sentence_vectors(pid), pg.sentence_vectors(pid))
        assert np.array_equal(fa.passage_vector(pid), pg.passage_vector(pid))
    vector = encoder.encode_query(QUESTION)
    for search in ("search_passages", "search_sentences"):
        a, b = getattr(fa, search)(vector, 20), getattr(pg, search)(vector, 20)
        assert np.array_equal(a[1], b[1]) and np.array_equal(a[0], b[0]), search
    rows = np.array([fa.by_article_id["libya.md"].row])
    for passages in (True, False):
        a, b = fa.search_within(vector, rows, 5, passages), pg.search_within(vector, rows, 5,
                                                                             passages)
        assert np.array_equal(a[1], b[1]) and np.array_equal(a[0], b[0])
    assert np.array_equal(fa.probe, pg.probe) and pg.disk_bytes() > 0


def test_bm25_in_sql_ranks_as_the_faiss_index(both, encoder) -> None:
    faiss_settings, pg_settings = both
    fa = load_index(faiss_settings.resolved_index_dir, encoder.name)
    pg = PgSource(pg_settings.resolved_index_database_url).load(encoder.name)
    for phrases in PHRASES:
        for k in (1, 3, 50):
            assert fa.lexical.search(phrases, k) == pg.lexical.search(phrases, k), phrases
            a, b = fa.lexical.ranked(phrases, k), pg.lexical.ranked(phrases, k)
            assert np.array_equal(a[1], b[1]), phrases  # the same floats
    assert pg.lexical.search(PHRASES[0], 50)


def rows_of(url: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def test_an_incremental_build_changes_only_those_rows_and_publishes_a_version(
        server, encoder, tmp_path) -> None:
    settings = make_settings(tmp_path, index_backend="postgresql",
                             index_database_url=server.create_database("incremental"))
    url = settings.resolved_index_database_url
    corpus_of(settings, ("libya.md", LIBYA), ("funds.md", FUNDS))
    pg_build(settings, encoder)
    engine = Engine(settings, encoder=encoder)
    assert engine.load()
    before, old_index = engine.version, engine.index
    seed_rows = rows_of(url, f"SELECT id, added_in FROM {SCHEMA}.passages p WHERE article = "
                             f"(SELECT id FROM {SCHEMA}.articles WHERE article_id = %s)",
                        (SEED.name,))
    (settings.corpus_dir / "funds.md").write_text(FUNDS.replace("$1bn", "$2bn"),
                                                  encoding="utf-8")
    (settings.corpus_dir / "libya.md").unlink()
    summary = pg_build(settings, encoder)
    assert (summary.new, summary.changed, summary.removed) == ([], ["funds.md"], ["libya.md"])
    version = rows_of(url, f"SELECT max(id) FROM {SCHEMA}.versions")[0][0]
    added = rows_of(url, f"SELECT DISTINCT a.article_id, a.text FROM {SCHEMA}.passages p "
                         f"JOIN {SCHEMA}.articles a ON a.id = p.article WHERE p.added_in = %s",
                    (version,))
    assert [a for a, _ in added] == ["funds.md"] and "$2bn" in added[0][1]
    assert rows_of(url, f"SELECT count(*) FROM {SCHEMA}.passages WHERE added_in = %s",
                   (version,))[0][0] == summary.embedded_passages > 0
    assert summary.deleted_articles == 2  # retired, kept for readers of the version before
    live = rows_of(url, f"SELECT article_id, text FROM {SCHEMA}.articles "
                        "WHERE removed_in IS NULL ORDER BY id")
    assert [a for a, _ in live] == [SEED.name, "funds.md"] and "$2bn" in live[1][1]
    versions = rows_of(url, f"SELECT id, name FROM {SCHEMA}.versions ORDER BY id")
    assert len(versions) == 2 and versions[-1][1] == summary.version
    # The seed article's rows were not touched: same ids, inserted by the first version.
    assert rows_of(url, f"SELECT id, added_in FROM {SCHEMA}.passages p WHERE article = "
                        f"(SELECT id FROM {SCHEMA}.articles WHERE article_id = %s)",
                   (SEED.name,)) == seed_rows
    # The engine still serves the version before (its removed article included) until load().
    assert old_index.by_article_id.get("libya.md") is not None
    assert old_index.articles.facets().rows.tolist() == list(old_index.articles)
    assert engine.load() and engine.version == summary.version != before
    assert engine.index.by_article_id.get("libya.md") is None
    assert engine.answer(QUESTION).quotes[0].text.startswith("The Qasr Bin Ghashir area")
    funds = engine.index.by_article_id["funds.md"]
    assert "$2bn" in engine.index.article_text(funds.row)
    # The next build deletes the rows no kept version sees (KEEP_INDEX_VERSIONS=2).
    (settings.corpus_dir / "libya-again.md").write_text(LIBYA, encoding="utf-8")
    third = pg_build(settings, encoder)
    assert third.new == ["libya-again.md"] and third.deleted_articles == 0
    assert rows_of(url, f"SELECT count(*) FROM {SCHEMA}.articles")[0][0] == 3
    assert pg_build(settings, encoder).written is False  # up to date: no version row
    assert len(rows_of(url, f"SELECT id FROM {SCHEMA}.versions")) == 3


def test_the_incremental_index_still_ranks_as_the_faiss_index(server, encoder,
                                                                tmp_path) -> None:
    """Both indexes through the same changes: BM25 and the first quote stay equal."""
    settings = make_settings(tmp_path, index_backend="postgresql",
                             index_database_url=server.create_database("changes"))
    corpus_of(settings, ("libya.md", LIBYA), ("funds.md", FUNDS))
    build(settings, encoder)
    pg_build(settings, encoder)
    (settings.corpus_dir / "funds.md").write_text(FUNDS.replace("$1bn", "$2bn"),
                                                  encoding="utf-8")
    (settings.corpus_dir / "libya.md").unlink()
    build(settings, encoder)
    pg_build(settings, encoder)
    faiss = Engine(settings.model_copy(update={"index_backend": "faiss"}), encoder=encoder)
    pg = Engine(settings, encoder=encoder)
    assert faiss.load() and pg.load()
    for phrases in PHRASES:
        a, b = faiss.index.lexical.ranked(phrases, 50), pg.index.lexical.ranked(phrases, 50)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]), phrases
    for question in QUESTIONS:
        a, b = faiss.answer(question), pg.answer(question)
        assert [q.to_dict() for q in a.quotes] == [q.to_dict() for q in b.quotes], question


def test_an_unreachable_or_empty_index_database_is_a_clear_error(server, encoder,
                                                                 tmp_path) -> None:
    down = make_settings(tmp_path, index_backend="postgresql",
                         index_database_url=f"postgresql://u:secret@127.0.0.1:{free_port()}/x")
    engine = Engine(down, encoder=encoder)
    with pytest.raises(IndexUnavailableError) as err:
        engine.load()
    message = str(err.value)
    assert "INDEX_DATABASE_URL" in message and "python build_index.py" in message
    assert "unreachable" in message and "secret" not in message and not engine.ready
    empty = make_settings(tmp_path, index_backend="postgresql",
                          index_database_url=server.create_database("empty"))
    corpus_of(empty)
    engine = Engine(empty, encoder=encoder)
    with pytest.raises(IndexUnavailableError, match=r"No index in PostgreSQL .*INDEX_DATABASE_URL"
                                                    r".*python build_index.py"):
        engine.load()
    assert engine.answer(QUESTION).error  # unavailable, said so
    pg_build(empty, encoder)
    assert engine.load() and "26 km" in engine.answer(QUESTION).quotes[0].text  # recovered


def test_build_index_with_an_unreachable_database_exits_2(tmp_path, monkeypatch,
                                                          capsys) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "corpus").mkdir()
    shutil.copy(SEED, tmp_path / "corpus" / SEED.name)
    monkeypatch.setenv("INDEX_BACKEND", "postgresql")
    monkeypatch.setenv("INDEX_DATABASE_URL", f"postgresql://verbatim@127.0.0.1:{free_port()}/x")
    assert build_main(["--quiet"]) == 2
    err = capsys.readouterr().err
    assert "INDEX_DATABASE_URL" in err and "unreachable" in err


def test_the_backend_settings() -> None:
    assert IndexSettings(_env_file=None).index_backend == "faiss"
    with pytest.raises(ValidationError) as err:
        IndexSettings(_env_file=None, index_backend="postgresql", database_url=None)
    assert "INDEX_DATABASE_URL is required" in describe_error(err.value)
    state = IndexSettings(_env_file=None, index_backend="postgresql",
                          database_url="postgresql+psycopg://u:p@db/state")
    assert state.resolved_index_database_url == "postgresql://u:p@db/state"
    own = IndexSettings(_env_file=None, index_backend="postgresql",
                        database_url="sqlite:///state.sqlite3",
                        index_database_url="postgres://u@index/db")
    assert own.resolved_index_database_url == "postgresql://u@index/db"
    with pytest.raises(ValidationError, match="PostgreSQL URL"):
        IndexSettings(_env_file=None, index_database_url="sqlite:///x")
    with pytest.raises(ValidationError):
        IndexSettings(_env_file=None, index_backend="elastic")


def test_questions_read_the_read_url_and_builds_write_the_primary(server, encoder,
                                                                  tmp_path) -> None:
    """INDEX_DATABASE_READ_URL (a read replica): the bot's reader answers from it while
    INDEX_DATABASE_URL, where builds write, is unreachable; the build names the primary."""
    replica = server.create_database("read_replica")
    built = make_settings(tmp_path, index_backend="postgresql", index_database_url=replica)
    corpus_of(built)
    pg_build(built, encoder)
    primary_down = f"postgresql://u:secret@127.0.0.1:{free_port()}/primary"
    bot = built.model_copy(update={"index_database_url": primary_down,
                                   "index_database_read_url": replica})
    assert bot.resolved_index_read_url == replica and bot.index_read_setting == (
        "INDEX_DATABASE_READ_URL")
    engine = Engine(bot, encoder=encoder)
    assert engine.load() and "26 km" in engine.answer(QUESTION).quotes[0].text
    assert "INDEX_DATABASE_READ_URL" in engine.index.location
    with pytest.raises(IndexUnavailableError, match=r"/primary \(INDEX_DATABASE_URL\) is unr"):
        pg_build(bot, encoder)
    away = bot.model_copy(update={"index_database_read_url": primary_down})
    with pytest.raises(IndexUnavailableError, match=r"\(INDEX_DATABASE_READ_URL\) is unr"):
        Engine(away, encoder=encoder).load()
    default = IndexSettings(_env_file=None, index_backend="postgresql",
                            index_database_url="postgres://u@primary/db")
    assert default.resolved_index_read_url == "postgresql://u@primary/db"
    assert default.index_read_setting == "INDEX_DATABASE_URL"
    with pytest.raises(ValidationError, match="PostgreSQL URL"):
        IndexSettings(_env_file=None, index_database_read_url="sqlite:///x")


def test_a_database_gone_while_serving_is_the_unavailable_answer(server, encoder,
                                                                 tmp_path) -> None:
    """Connections refused and cut while an index is loaded: questions get the engine's
    UNAVAILABLE answer (not an exception), and are answered again once it is back."""
    settings = make_settings(tmp_path, index_backend="postgresql",
                             index_database_url=server.create_database("flaky"))
    corpus_of(settings)
    pg_build(settings, encoder)
    engine = Engine(settings, encoder=encoder)
    assert engine.load() and engine.answer(QUESTION).quotes
    server.sql("postgres", "ALTER DATABASE flaky ALLOW_CONNECTIONS false")
    server.sql("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = 'flaky'")
    gone = engine.answer(QUESTION)
    assert gone.abstained and gone.error == UNAVAILABLE and not gone.quotes
    with pytest.raises(IndexUnavailableError):
        engine.load()  # the reload check says so too, and the loaded version is kept
    server.sql("postgres", "ALTER DATABASE flaky ALLOW_CONNECTIONS true")
    assert "26 km" in engine.answer(QUESTION).quotes[0].text
    server.sql("postgres", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = 'flaky'")  # a restart: the dropped one is replaced
    assert "26 km" in engine.answer(QUESTION).quotes[0].text


def test_a_streaming_read_replica_serves_what_it_has_received(server, encoder,
                                                              tmp_path) -> None:
    """Builds write the primary, the bot reads a real hot standby (INDEX_DATABASE_READ_URL):
    while the standby lags (replay paused) the bot serves the version it sees, and moves to
    the new one once it is replayed."""
    primary = server.create_database("replicated")
    standby = Postgres.standby_of(server)
    try:
        settings = make_settings(tmp_path, index_backend="postgresql",
                                 index_database_url=primary,
                                 index_database_read_url=standby.database_url("replicated"))
        corpus_of(settings)
        pg_build(settings, encoder)
        engine = Engine(settings, encoder=encoder)
        wait_until(lambda: engine_loaded(engine), 30, "the standby never had the index")
        assert "26 km" in engine.answer(QUESTION).quotes[0].text
        assert f":{standby.port}/replicated (INDEX_DATABASE_READ_URL)" in engine.index.location
        first = engine.version
        standby.sql("postgres", "SELECT pg_wal_replay_pause()")
        (settings.corpus_dir / "libya.md").write_text(LIBYA, encoding="utf-8")
        assert pg_build(settings, encoder).written  # on the primary only, for now
        assert not engine.load() and engine.version == first
        assert "26 km" in engine.answer(QUESTION).quotes[0].text  # the lagging one still serves
        assert not any("Geneva" in q.text for q in engine.answer(GENEVA).quotes)
        standby.sql("postgres", "SELECT pg_wal_replay_resume()")
        wait_until(lambda: engine_loaded(engine), 30, "the standby never replayed the build")
        assert engine.version != first
        assert "Geneva" in engine.answer(GENEVA).quotes[0].text
    finally:
        standby.stop()


def engine_loaded(engine: Engine) -> bool:
    """Whether load() found a new version (False while there is none to load)."""
    try:
        return engine.load()
    except IndexUnavailableError:
        return False


def test_pgvector_that_cannot_be_had_is_a_clear_build_error(server, encoder,
                                                             tmp_path) -> None:
    """A role that may not create the extension: the build says who can (nothing written);
    HNSW needs pgvector 0.5.0."""
    server.sql("postgres", "CREATE ROLE weak LOGIN")
    server.create_database("no_vector")
    server.sql("no_vector", "GRANT CREATE ON DATABASE no_vector TO weak")
    settings = make_settings(tmp_path, index_backend="postgresql",
                             index_database_url=server.database_url("no_vector").replace(
                                 "verbatim@", "weak@"))
    corpus_of(settings)
    with pytest.raises(IndexUnavailableError, match=r"cannot create the pgvector extension "
                                                    r".*CREATE EXTENSION vector;"):
        pg_build(settings, encoder)
    assert server.sql("no_vector", f"SELECT to_regclass('{SCHEMA}.versions')") == [(None,)]
    server.sql("no_vector", "CREATE EXTENSION vector")  # an administrator, once
    assert pg_build(settings, encoder).written
    assert [hnsw_ready(v) for v in ("0.4.4", "0.5.0", "0.6", "0.10.1")] == [False, True, True,
                                                                            True]


def test_a_first_build_creates_the_hnsw_indexes_after_the_rows(server, encoder,
                                                                tmp_path) -> None:
    """A first build copies the rows into empty tables, then builds both HNSW graphs; a later
    build keeps them, and a nearest-neighbour query uses them."""
    settings = make_settings(tmp_path, index_backend="postgresql",
                             index_database_url=server.create_database("first_build"))
    url = settings.resolved_index_database_url
    corpus_of(settings, ("libya.md", LIBYA))
    pg_build(settings, encoder)
    hnsw = f"SELECT indexname FROM pg_indexes WHERE schemaname = '{SCHEMA}' " \
           "AND position('hnsw' in indexdef) > 0 ORDER BY 1"
    assert [r[0] for r in rows_of(url, hnsw)] == ["passages_embedding", "sentences_embedding"]
    corpus_of(settings, ("libya.md", LIBYA), ("funds.md", FUNDS))
    assert pg_build(settings, encoder).new == ["funds.md"]
    assert [r[0] for r in rows_of(url, hnsw)] == ["passages_embedding", "sentences_embedding"]
    with psycopg.connect(url) as conn:
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.execute(
            f"EXPLAIN SELECT id FROM {SCHEMA}.passages ORDER BY embedding <=> "
            f"(SELECT embedding FROM {SCHEMA}.passages LIMIT 1) LIMIT 5").fetchall())
    assert "passages_embedding" in plan
    engine = Engine(settings, encoder=encoder)
    assert engine.load()
    assert engine.answer(QUESTION).quotes  # answered through the rebuilt graphs


def test_the_article_page_on_the_postgresql_index_refuses_what_it_cannot_hold(
        both, encoder, tmp_path, caplog) -> None:
    """Issue 35, item 4: an id PostgreSQL refuses in a text parameter (a NUL) is a 404, not a
    500; an over-long URL is logged clipped, not whole."""
    _, pg_settings = both
    settings = pg_settings.model_copy(update={"telegram_webhook_port": free_port(),
                                              "telegram_webhook_listen": "127.0.0.1"})
    engine = Engine(settings, encoder=encoder)
    assert engine.load()
    state = State(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    state.migrate()
    long_id = "x" * 20_000

    async def fetch(*paths: str) -> list[int]:
        server = ArticleServer(engine, state, settings)
        server.start()
        try:
            base = f"http://127.0.0.1:{settings.telegram_webhook_port}"
            async with httpx.AsyncClient() as client:
                return [(await client.get(base + path)).status_code for path in paths]
        finally:
            server.stop()

    with caplog.at_level(logging.INFO):
        codes = asyncio.run(fetch("/a/%00", "/a/seed%00.md", "/a/" + long_id,
                                  f"/a/{SEED.name}"))
    state.close()
    assert codes == [404, 404, 404, 200]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    logged = [r.getMessage() for r in caplog.records
              if r.name.startswith("tornado") and "/a/xxx" in r.getMessage()]
    assert logged and all(len(line) < 1000 for line in logged), "the URL was logged whole"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as nobody")
def test_the_pgvector_server_starts_from_a_clone_only_root_may_enter(tmp_path) -> None:
    """Issue 35: cloned by root into a mode-0700 folder (its home, a `mktemp -d` folder),
    the clone's .venv holds the pgserver binaries that nobody, who runs the server, cannot
    reach; the server still starts, with pgvector."""
    clone = tmp_path / "clone"
    clone.mkdir(mode=0o700)
    # the clone's own .venv install: hard links, as cheap as a copy is faithful
    bindir = mirror_install(pgvector_bin(), clone / "site-packages", os.link)
    pg = Postgres(bindir).start()
    try:
        pg.sql("verbatim", "CREATE EXTENSION vector")
        assert pg.sql("verbatim", "SELECT '[3,4]'::vector <-> '[0,0]'::vector") == [(5.0,)]
    finally:
        pg.stop()
