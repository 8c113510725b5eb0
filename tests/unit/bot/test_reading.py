"""The reader's stage in the engine (bot/engine/reading.py), with the shipped reader on the seed
article: it reads the best-ranked sentences of an English question with their neighbours in
the same paragraph and the title, its probability ranks them, its time is reported apart; a
question in another language, or READER=false, is ranked without it."""

import pytest

from bot.engine import Engine
from bot.engine.ranking import passage_sentences
from bot.engine.reading import best_sentences, candidate, ranked_and_read
from reader import load_reader

QUESTION = "How far is Qasr Bin Ghashir from Tripoli?"


@pytest.fixture(scope="module")
def reader():
    found = load_reader()
    assert found is not None, "the shipped reader must load and pass its probes"
    return found


def _passages(engine: Engine, question: str):
    retriever = engine.retriever
    query = retriever.query_terms(question)
    vector = engine.encoder.encode_query(question)
    return query, vector, retriever.search(vector, query, k=10)


def test_the_reader_reads_the_best_ranked_sentences_and_weighs_in(seed_engine, reader):
    query, vector, hits = _passages(seed_engine, QUESTION)
    found, read_ms = ranked_and_read(seed_engine.index, query, vector, hits, reader)
    read = [(i, j) for i, passage in enumerate(found)
            for j, features in enumerate(passage.features) if features["reader"] > 0]
    # exactly the best-ranked sentences (as ranked before the reader), no more than it reads
    unread = [passage_sentences(seed_engine.index, query, vector, hit) for hit in hits]
    assert sorted(read) == sorted(best_sentences(unread, reader.max_candidates))
    assert 0 < len(read) <= reader.max_candidates and read_ms > 0
    # the sentence that answers reads as more likely to answer than the others read
    answering = [(found[i].features[j]["reader"], found[i].text[slice(*found[i].spans[j])])
                 for i, j in read]
    best = max(answering)[1]
    assert "26 km" in best, answering


def test_a_candidate_is_read_with_its_neighbours_in_its_own_paragraph_only(seed_engine):
    query, vector, hits = _passages(seed_engine, QUESTION)
    passage = next(p for p in (passage_sentences(seed_engine.index, query, vector, h)
                               for h in hits) if len(p.spans) > 1)
    for j in range(len(passage.spans)):
        read = candidate(seed_engine.index, passage, j)
        assert read.sentence == passage.text[slice(*passage.spans[j])]
        before_same = j > 0 and passage.paragraph[j - 1] == passage.paragraph[j]
        after_same = j + 1 < len(passage.spans) and passage.paragraph[j + 1] == passage.paragraph[j]
        assert read.before == (passage.text[slice(*passage.spans[j - 1])] if before_same else "")
        assert read.after == (passage.text[slice(*passage.spans[j + 1])] if after_same else "")
        assert read.title == seed_engine.index.articles[passage.article_row].title


def test_answers_report_the_readers_time_and_evidence(seed_engine):
    answer = seed_engine.answer(QUESTION)
    assert "26 km" in answer.quotes[0].text
    assert answer.timings["read_ms"] > 0
    assert answer.timings["read_ms"] <= answer.timings["select_ms"]  # its share of the stage
    assert answer.evidence["reader"] > 0
    assert answer.to_json()["timings"]["read_ms"] > 0


def test_questions_in_another_language_and_reader_off_are_ranked_without_it(seed_settings,
                                                                            encoder):
    engine = Engine(seed_settings, encoder=encoder)
    engine.load()
    french = engine.answer("À quelle distance de Tripoli se trouve Qasr Bin Ghashir ?")
    assert french.question_language == "fr" and french.evidence.get("reader", 0.0) == 0.0
    off = Engine(seed_settings.model_copy(update={"reader": False}), encoder=encoder)
    off.load()
    assert off.reader is None
    answer = off.answer(QUESTION)
    assert answer.evidence["reader"] == 0.0 and "26 km" in answer.quotes[0].text
