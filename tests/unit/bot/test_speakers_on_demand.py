"""Speakers are read per article when needed, not by walking the corpus: over the outlets
fixture's real index, wrapped so that the sentence spans the engine reads are recorded, an
ordinary answer reads the sentences of its quoted articles and of the passages it ranked, no
others; a question about a speaker (spelled right or a letter off) reads only articles that
name them besides those, and still finds their words; the PostgreSQL index finds the same."""

from __future__ import annotations

from typing import Any

import pytest

from bot.engine import Engine, said, speakers
from bot.engine.said import named_speakers, speaker_quotes, speakers_asked
from bot.engine.search import Retriever
from bot.engine.serving import Serving
from bot.engine.speakers import Speakers, article_speakers
from index.pg import build_pg_index
from index.sources import read_corpus
from tests.support.outlets import load_fixture, write_corpus
from tests.support.services import Postgres
from tests.support.workspace import make_settings

RANKED = 10  # the passages an answer ranks (Retriever.search's k): each one's sentences read


class Reading:
    """A real index version that records the passages whose sentence spans are read; its
    own memo, so nothing derived from the real index is reused."""

    def __init__(self, index: Any) -> None:
        self._index = index
        self.memo: dict[object, object] = {}
        self.spanned: set[int] = set()

    def sentence_spans(self, passage_id: int) -> Any:
        self.spanned.add(passage_id)
        return self._index.sentence_spans(passage_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._index, name)

    def passages_of(self, rows: set[int]) -> set[int]:
        return {p for row in rows for p in self._index.article_passages(row)}


@pytest.fixture
def reading(outlets):
    """An engine over the outlets index as `Reading` records it."""
    engine, settings = outlets
    index = Reading(engine.index)
    fresh = Engine(settings, encoder=engine.encoder)
    fresh._loader.serving = Serving(index, Retriever(index))
    return fresh, index


def rows_of(index: Reading, quotes) -> set[int]:
    return {index.by_article_id[q.article_id].row for q in quotes}


def naming(index: Reading, word: str) -> set[int]:
    """The articles whose text has the word."""
    return {row for row in index.articles if word in index.article_text(row).lower()}


def elsewhere(index: Reading, rows: set[int]) -> set[int]:
    """The passages outside the articles `rows` whose sentences were read."""
    return index.spanned - index.passages_of(rows)


def test_an_ordinary_answer_reads_only_its_quoted_articles_for_speakers(reading):
    engine, index = reading
    answer = engine.answer("How many bodies were recovered after the airport was retaken?")
    assert "48 bodies" in answer.quotes[0].text
    assert answer.quotes[0].speaker is not None
    assert answer.quotes[0].speaker.name == "Mohamed Kanounou"
    shown = rows_of(index, [*answer.quotes, *answer.also_reported])
    assert len(elsewhere(index, shown)) <= RANKED
    assert index.passage_count - len(index.passages_of(shown)) > RANKED  # many more unread


@pytest.mark.parametrize("question", ["What did Kanounou say?", "Kanounóu's words",
                                      "Kanunou's words", "Quotes from Kanunou"])
def test_a_speakers_words_are_found_reading_only_articles_that_name_them(reading, question):
    engine, index = reading
    assert not index.vocabulary.get("kanun")  # "Kanunou" is a letter off, in no article
    answer = engine.answer(question)
    said = [q for q in answer.quotes if q.speaker and q.speaker.name == "Mohamed Kanounou"]
    assert {q.source for q in said} >= {"Al Jazeera", "Anadolu Agency"}
    assert answer.quotes[0] in said
    named = naming(index, "kanounou")
    shown = rows_of(index, [*answer.quotes, *answer.also_reported])
    assert len(elsewhere(index, named | shown)) <= RANKED
    assert index.passage_count - len(index.passages_of(named | shown)) > RANKED


def test_a_speaker_question_within_a_publisher_reads_that_publishers_words(reading):
    engine, index = reading
    answer = engine.answer("What did Kanounou say?", sources=["Anadolu Agency"])
    assert answer.quotes and {q.source for q in answer.quotes} == {"Anadolu Agency"}
    assert answer.quotes[0].speaker is not None
    assert answer.quotes[0].speaker.name == "Mohamed Kanounou"
    assert answer.quotes[0].speaker.role == "army spokesman"
    anadolu = {row for row in naming(index, "kanounou")
               if index.articles[row].source == "Anadolu Agency"}
    shown = rows_of(index, [*answer.quotes, *answer.also_reported])
    assert len(elsewhere(index, anadolu | shown)) <= RANKED


def test_a_role_is_looked_up_when_no_name_is_asked(reading):
    engine, _ = reading
    answer = engine.answer("What did the spokesman say?")
    first = answer.quotes[0].speaker
    assert first is not None and "spokesman" in (first.role or "").lower()


def test_the_kept_speakers_are_bounded_and_read_again_when_dropped(reading, monkeypatch):
    engine, index = reading
    monkeypatch.setattr(speakers, "SPEAKER_ARTICLES", 1)
    for _ in range(2):
        answer = engine.answer("How many bodies were recovered after the airport was retaken?")
        assert answer.quotes[0].speaker is not None
        assert answer.quotes[0].speaker.name == "Mohamed Kanounou"
        assert len(index.memo["speakers"]) <= 2


@pytest.fixture(scope="module")
def pg_outlets(tmp_path_factory, encoder):
    """The outlets fixture built into PostgreSQL (a real server), and an engine over it."""
    server = Postgres.with_pgvector().start()
    settings = make_settings(tmp_path_factory.mktemp("pg-outlets"), index_backend="postgresql",
                             index_database_url=server.create_database("outlets"))
    write_corpus(load_fixture()["articles"], settings.corpus_dir)
    assert build_pg_index(read_corpus([settings.corpus_dir]), settings, encoder=encoder).written
    engine = Engine(settings, encoder=encoder)
    assert engine.load() and engine.index is not None
    assert engine.index.location.startswith("PostgreSQL")
    yield engine
    engine.index.close()
    server.stop()


@pytest.mark.parametrize("question", [
    "What did Kanounou say?", "Kanunou's words", "What did the spokesman say?",
    "How many bodies were recovered after the airport was retaken?"])
def test_the_postgresql_index_finds_the_same_speakers(outlets, pg_outlets, question):
    engine, _ = outlets
    faiss, pg = engine.answer(question), pg_outlets.answer(question)
    assert [(q.article_id, q.start, q.speaker) for q in [*pg.quotes, *pg.also_reported]] == [
        (q.article_id, q.start, q.speaker) for q in [*faiss.quotes, *faiss.also_reported]]
    assert any(q.speaker is not None for q in pg.quotes)


def test_a_role_in_more_passages_than_are_read_still_gives_the_closest_sentences(
        reading, monkeypatch):
    engine, index = reading
    question = "What did the spokesman say?"
    vector = engine.encoder.encode_query(question)
    everyone = Speakers({row: list(article_speakers(index, row)) for row in index.articles})
    closest = speaker_quotes(index, named_speakers(question, everyone), vector, 3)
    monkeypatch.setattr(said, "CANDIDATE_PASSAGES", 1)  # BM25's best passage alone is read
    found = speakers_asked(engine.retriever, question, vector=vector)
    assert [(q.article_id, q.start) for q in speaker_quotes(index, found, vector, 3)] == [
        (q.article_id, q.start) for q in closest]
