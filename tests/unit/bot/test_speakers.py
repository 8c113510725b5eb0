"""Who said it: the speaker a sentence names, read off real sentences of the seed article and
the outlets fixture (name and role exact slices of the article), shown with the quote, and
questions about a speaker answered with that speaker's words."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.engine.said import named_speakers
from bot.engine.speakers import Said, Speaker, Speakers, find_speaker
from bot.render import answer_html, as_text
from index import sentences
from tests.support.outlets import load_fixture
from tests.support.workspace import ROOT, SEED

SEED_TEXT = SEED.read_text(encoding="utf-8")
ARTICLES = {a["id"]: a["text"] for a in load_fixture()["articles"]}


def speaker_of(text: str, words: str) -> tuple[str, str | None] | None:
    """(name, role) of the sentence of `text` holding `words`, checking both are slices of it
    at their offsets."""
    (span,) = [s for s in sentences(text) if words in text[s.start:s.end]]
    found = find_speaker(text, span.start, span.end)
    if found is None:
        return None
    assert text[found.start:found.end] == found.name
    assert span.start <= found.start < found.end <= span.end
    if found.role is not None:
        assert found.role_start is not None and found.role_end is not None
        assert text[found.role_start:found.role_end] == found.role
    return found.name, found.role


@pytest.mark.parametrize(("words", "expected"), [
    ("completely liberated", ("Mohamed Kanounou", "spokesman for the al-Wefaq government forces")),
    ("as saying that their forces", ("Mustafa Al-Mujai", "a spokesman for the media center for "
                                     "the operation of the anger volcano")),
    ("holed up in the airport", ("Al-Mujai", None)),
    ("launched violent raids", ("Nasser Shedeed", "Al-Jazeera correspondent")),
    ("upper hand", ("Mevlüt Çavuşoوlu", "Turkish Foreign Minister")),
    ("Russian prisoners", ("Sergey Lavrov", "Russian Foreign Minister")),
])
def test_the_seed_articles_speakers_are_read_off_its_sentences(words, expected):
    assert speaker_of(SEED_TEXT, words) == expected


@pytest.mark.parametrize("words", [
    "The military source said",  # nobody named
    "Those sources said",  # a determiner is no name
    "Russian Foreign Ministry said in a statement",  # an institution
    "the media center for Operation Volcano of Anger declared",  # "Anger" is no speaker
    "Turkish media reported",
    "According to Egyptian media sources",
    "The United Nations announced on Monday",
])
def test_sentences_that_name_no_speaker_have_none(words):
    assert speaker_of(SEED_TEXT, words) is None


@pytest.mark.parametrize(("article", "words", "expected"), [
    ("aljazeera/airport", "48 bodies", ("Mohamed Kanounou",
                                           "a spokesman for the government forces")),
    ("anadolu/airport", "told reporters", ("Mohamed Kanounou", "army spokesman")),
    ("courier/flood", "Anna Lind", ("Anna Lind", "Governor")),
    ("business/port", "Piet Maris", ("Piet Maris", "Chief executive")),
])
def test_the_outlets_speakers_are_read_off_their_sentences(article, words, expected):
    assert speaker_of(ARTICLES[article], words) == expected


@pytest.mark.parametrize("sentence", [
    "The Libyan army said on Wednesday it had recaptured the airport.",
    "Police said on Monday that the road was closed.",
    "A government spokesman said at least 45 bodies had been found.",
    "Officials said regular flights to Tunis would start next month.",
    "He said Turkey would keep supporting the government.",
    "Haftar's forces withdrew towards Tarhuna, witnesses said.",
    '"The talks will resume," said on Monday a source close to the delegations.',
    "According to Reuters, the talks collapsed.",
    "Prosecutors said he had steered contracts worth 2.4 million to a company.",  # plural noun
    "Dorrit Shipyards said on Tuesday it would cut 300 jobs.",  # a company
    "Steelmaker Halvard said on Tuesday it would shed nearly 1,000 jobs.",
    "Le ministre a déclaré lundi que les pourparlers reprendraient.",
    "وقال المتحدث باسم القوات إن المطار تحرر بالكامل.",
])
def test_no_speaker_is_made_up(sentence):
    assert find_speaker(sentence) is None


@pytest.mark.parametrize(("sentence", "name", "role"), [
    ('"We will not stop," Governor Anna Lind told Reuters.', "Anna Lind", "Governor"),
    ("According to Piet Maris, chief executive of the port, traffic rose.", "Piet Maris",
     "chief executive of the port"),
    ("Kanounou (al-Wefaq spokesman) said the airport was taken.", "Kanounou",
     "al-Wefaq spokesman"),
    ('"It is over," said Marta Quell.', "Marta Quell", None),
])
def test_the_usual_attributions_are_read(sentence, name, role):
    found = find_speaker(sentence)
    assert found is not None and (found.name, found.role) == (name, role)


def test_what_did_kanounou_say_answers_with_his_words(seed_engine):
    answer = seed_engine.answer("What did Kanounou say?")
    assert not answer.abstained
    first = answer.quotes[0]
    assert first.text.startswith('"Our forces have completely liberated Tripoli')
    assert first.speaker is not None and first.speaker.name == "Mohamed Kanounou"
    assert SEED_TEXT[first.start:first.end] == first.text
    data = answer.to_json()["quotes"][0]["speaker"]
    assert (data["name"], data["role"]) == ("Mohamed Kanounou",
                                            "spokesman for the al-Wefaq government forces")
    assert ("— Mohamed Kanounou (spokesman for the al-Wefaq government forces) · "
            in as_text(answer))
    assert ("— Mohamed Kanounou (spokesman for the al-Wefaq government forces) · "
            in answer_html(answer)[0])


@pytest.mark.parametrize("question", ["what did kanounóu say?", "Kanounou's words on the airport",
                                      "What did Mohamed Kanounou tell reporters?",
                                      "What did Kanunou say?"])
def test_a_speaker_is_matched_leniently(seed_engine, question):
    first = seed_engine.answer(question).quotes[0]
    assert first.speaker is not None and first.speaker.name == "Mohamed Kanounou"


def test_what_did_the_minister_say_finds_the_ministers(seed_engine):
    answer = seed_engine.answer("What did the foreign minister say?")
    assert answer.quotes[0].speaker is not None
    assert "Foreign Minister" in (answer.quotes[0].speaker.role or "")


def test_an_answer_quoting_a_speaker_names_them(outlets):
    engine, _ = outlets
    answer = engine.answer("How many bodies were recovered after the airport was retaken?")
    assert "48 bodies" in answer.quotes[0].text
    assert answer.quotes[0].speaker is not None
    assert answer.quotes[0].speaker.name == "Mohamed Kanounou"


def test_compare_says_which_outlets_quote_the_same_speaker(outlets):
    engine, _ = outlets
    compared = engine.compare("What did Kanounou say about the fighters killed at the airport?")
    sources = {q.source for q in compared.quotes if q.speaker is not None}
    assert {"Al Jazeera", "Anadolu Agency"} <= sources
    text = as_text(compared)
    assert "Mohamed Kanounou (a spokesman for the government forces), via Al Jazeera and " \
           "Anadolu Agency" in text or "Mohamed Kanounou (army spokesman), via Anadolu Agency " \
           "and Al Jazeera" in text


def test_the_speaker_is_in_the_json_of_the_command_line(outlets):
    _, settings = outlets
    env = {**os.environ, "INDEX_DIR": str(settings.resolved_index_dir),
           "DATA_DIR": str(settings.data_dir)}
    result = subprocess.run([sys.executable, "-m", "bot", "compare", "What did Kanounou say?",
                             "--json"], capture_output=True, text=True, cwd=ROOT, env=env,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    said = [q["speaker"] for q in json.loads(result.stdout)["quotes"] if q["speaker"]]
    assert {(s["name"], s["role"]) for s in said} >= {
        ("Mohamed Kanounou", "army spokesman"),
        ("Mohamed Kanounou", "a spokesman for the government forces")}


def test_each_outlets_words_of_the_speaker_come_first_and_once(outlets):
    engine, _ = outlets
    answer = engine.answer("What did Kanounou say?")
    assert {q.source for q in answer.quotes[:2]} == {"Al Jazeera", "Anadolu Agency"}
    shown = [(q.article_id, q.start) for q in [*answer.quotes, *answer.also_reported]]
    assert len(shown) == len(set(shown))


def test_a_stored_quote_keeps_its_speaker(seed_engine):
    from bot.engine import Quote

    quote = seed_engine.answer("What did Kanounou say?").quotes[0]
    assert Quote.from_dict(quote.to_dict()) == quote
    assert Quote.from_dict({**quote.to_dict(), "speaker": None}).speaker is None


SPOKEN = Speakers({0: [Said(0, 0, 0, 10, Speaker("Norman Lamont", 0, 13, "Chancellor")),
                        Said(0, 0, 20, 30, Speaker("Microsoft", 20, 29)),
                        Said(0, 0, 40, 50, Speaker("Kanounou", 40, 48, "spokesman"))]})


@pytest.mark.parametrize(("question", "speakers"), [
    ("What is the original meaning of the word Norman?", []),  # a word, not someone's words
    ("What name comes from the English words Normans?", []),
    ("Which theorem constrains Microsoft, according to the space hierarchy theorem?", []),
    ("How large was the audience Microsoft said it could reach?", []),
    ("What did Microsoft announce that it would rename Sky Drive to?", []),
    ("What did Norman Lamont say about taxes?", ["Norman Lamont"]),
    ("Quotes from the spokesman?", ["Kanounou"]),
    ("Microsoft's comments on the merger", ["Microsoft"]),
])
def test_only_who_a_question_asks_about_picks_speeches(question, speakers):
    assert [s.speaker.name for s in named_speakers(question, SPOKEN)] == speakers
