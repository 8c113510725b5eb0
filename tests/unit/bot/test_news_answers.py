"""Answers to questions as news readers ask them (issue 20): the kind of answer a question
asks for, and "This may be related:" when the bot abstains but one article's headline is
what the question is about. A small real index: the seed, an article about Libya's funds,
near misses."""

from __future__ import annotations

import shutil

import pytest

from bot import render
from bot.engine.answer import Engine
from bot.engine.answer_types import AnswerType, asked_type, holds_answer
from tests.support.texts import FUNDS, LEBANON, LIBERIA
from tests.support.workspace import SEED, build, make_settings

LEAD = "Libya has withdrawn $1bn in assets from the US"


@pytest.fixture(scope="module")
def settings(tmp_path_factory, encoder):
    made = make_settings(tmp_path_factory.mktemp("news-answers"))
    made.corpus_dir.mkdir()
    shutil.copy(SEED, made.corpus_dir / SEED.name)
    for name, text in (("funds.md", FUNDS), ("lebanon.md", LEBANON), ("liberia.md", LIBERIA)):
        (made.corpus_dir / name).write_text(text, encoding="utf-8")
    build(made, encoder)
    return made


def engine_with(settings, encoder, threshold: float) -> Engine:
    engine = Engine(settings.model_copy(update={"abstain_threshold": threshold}),
                    encoder=encoder)
    engine.load()
    return engine


def test_questions_say_what_kind_of_answer_they_want():
    cases = {
        "How much in unfrozen funds has Libya taken?": AnswerType.NUMBER,
        "By how much did shares fall?": AnswerType.NUMBER,
        "When did the airport fall?": AnswerType.DATE,
        "Where did Hifter's forces retreat after losing the airport?": AnswerType.PLACE,
        "Which city hosts the talks?": AnswerType.PLACE,
        "Who said the airport was liberated?": AnswerType.STATEMENT,
        "What did the spokesman say about the mines?": AnswerType.STATEMENT,
        "Who leads the militia?": AnswerType.PERSON,
        "Why did the militia leave?": AnswerType.REASON,
        "Tell me about the airport": AnswerType.ANY,
    }
    assert {q: asked_type(q) for q in cases} == cases


def test_a_sentence_holds_an_answer_the_question_does_not_already_name():
    question = "How much profit did Ask Jeeves make in 2004?"
    assert holds_answer(AnswerType.NUMBER, "Its $17m profit for the quarter.", question)
    assert not holds_answer(AnswerType.NUMBER, "Ask Jeeves made a profit in 2004.", question)
    where = "Where did the militia of Haftar go?"
    assert holds_answer(AnswerType.PLACE, "The militia fled towards Qasr Bin Ghashir.", where)
    assert not holds_answer(AnswerType.PLACE, "The Haftar militia fled at night.", where)
    assert holds_answer(AnswerType.STATEMENT, '"We won," the spokesman said.', "Who said so?")


def test_a_headline_question_answers_from_the_lead(settings, encoder):
    answer = engine_with(settings, encoder, settings.abstain_threshold).answer(
        "How much in unfrozen funds has Libya taken?")
    assert not answer.abstained
    assert LEAD in answer.quotes[0].text and answer.quotes[0].paragraph == 1


def test_an_abstention_shows_the_lead_of_the_article_it_names(settings, encoder):
    strict = engine_with(settings, encoder, 1e9)  # no support is enough: always abstains
    answer = strict.answer("How much in unfrozen funds has Libya taken?")
    assert answer.abstained and answer.related is not None
    assert answer.related.text.startswith(LEAD) and answer.related.paragraph == 1
    assert answer.to_json()["related"]["title"] == "Libya takes $1bn in unfrozen funds"
    shown = render.as_text(answer)
    assert "The articles do not answer that." in shown and "This may be related:" in shown
    html = render.answer_html(answer)[0]
    assert "This may be related:" in html and "<blockquote>" in html
    # A question no title speaks of gets no related article, only the nearest titles.
    other = strict.answer("What is the best recipe for sourdough bread?")
    assert other.abstained and other.related is None
    assert "This may be related:" not in render.as_text(other)
