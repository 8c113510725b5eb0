"""The in-memory BM25 ranks like SQLite FTS5's bm25(), and finds what FTS5 missed."""

from __future__ import annotations

import random

from bot.engine.search import Retriever
from bot.engine.text import stems
from index.lexical import Bm25
from index.reader import load_index
from tests.support.workspace import build


def _fts5(conn, phrases: list[str], k: int) -> list[int]:
    query = " OR ".join(f'"{p}"' for p in phrases)
    return [r[0] for r in conn.execute(
        "SELECT rowid FROM passages_fts WHERE passages_fts MATCH ? ORDER BY rank LIMIT ?",
        (query, k))]


def test_rankings_equal_fts5_bm25(seed_settings, encoder):
    index = load_index(seed_settings.resolved_index_dir, encoder.name)
    conn = index.connection()
    # FTS5 stems query terms again: compare on terms that are their own stems.
    vocabulary = sorted(t for t in index.vocabulary if stems([t])[0] == t)
    rng = random.Random(7)
    compared = 0
    for size in (1, 2, 3, 5, 8) * 8:
        phrases = rng.sample(vocabulary, size)
        expected = _fts5(conn, phrases, 10)
        assert index.lexical.search(phrases, 10) == expected, phrases
        compared += bool(expected)
    assert compared >= 35  # the queries matched passages: the comparison is not vacuous
    assert index.lexical.search(["qasr", "qasr"], 3)[0] == _fts5(conn, ["qasr", "qasr"], 3)[0]
    index.close()


def test_a_stem_that_is_not_its_own_stem_is_found(workspace, encoder):
    (workspace.corpus_dir / "court.txt").write_text(
        "The former minister was accused of fraud by the prosecutors.\n\n"
        "The trial opens in March at the high court in the capital.\n")
    build(workspace, encoder)
    index = load_index(workspace.resolved_index_dir, encoder.name)
    retriever = Retriever(index)
    query = retriever.query_terms("Who was accused?")
    assert query.stems == ["accus"]
    # FTS5 would stem "accus" again, to "accu", and match nothing.
    assert _fts5(index.connection(), ["accus"], 5) == []
    found = retriever.lexical(query)
    assert len(found) == 1
    article, _, start, end = index.passage(found[0])
    assert "accused of fraud" in index.article_text(article)[start:end]
    index.close()


def test_stored_postings_match_those_read_from_the_catalog(workspace, encoder):
    for name, text in (("a.txt", "River levels rose after heavy rain.\n\n"
                                 "Rain is expected again on Friday, forecasters said.\n"),
                       ("b.txt", "Farmers said the rain came too late "
                                 "for the wheat harvest.\n")):
        (workspace.corpus_dir / name).write_text(text)
    build(workspace, encoder)
    index = load_index(workspace.resolved_index_dir, encoder.name)
    fresh = Bm25.from_catalog(index.connection())
    for phrases in (["rain"], ["rain", "wheat"], ["forecast", "friday"], ["absent"]):
        assert index.lexical.search(phrases, 5) == fresh.search(phrases, 5)
    assert len(index.lexical.search(["rain"], 5)) == 3
    assert index.lexical.document_frequency["rain"] == 3
    index.close()
