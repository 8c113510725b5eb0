"""Topic matching for follows (issue 20), through Engine.topic and Engine.match_topic over a
small real index: the seed, an article about Libya from title to last line, and near misses
(Tripoli in Lebanon, elections in Liberia, ceasefire talks in Libya)."""

from __future__ import annotations

import shutil

import pytest

from bot.engine.answer import Engine
from tests.support.texts import FUNDS, LEBANON, LIBERIA, LIBYA
from tests.support.workspace import SEED, build, make_settings

ARTICLES = {"funds.md": FUNDS, "lebanon.md": LEBANON, "liberia.md": LIBERIA,
            "libya-talks.md": LIBYA}
NEW = tuple(ARTICLES)  # the articles a push could be about (the seed is the baseline)
LEAD = ("Libya has withdrawn $1bn in assets from the US, assets which had previously been "
        "frozen for almost 20 years, the Libyan central bank has said.")


@pytest.fixture(scope="module")
def engine(tmp_path_factory, encoder) -> Engine:
    settings = make_settings(tmp_path_factory.mktemp("topics"))
    settings.corpus_dir.mkdir()
    shutil.copy(SEED, settings.corpus_dir / SEED.name)
    for name, text in ARTICLES.items():
        (settings.corpus_dir / name).write_text(text, encoding="utf-8")
    build(settings, encoder)
    engine = Engine(settings, encoder=encoder)
    engine.load()
    return engine


def matches(engine: Engine, text: str, threshold: float | None = None) -> dict[str, str]:
    """The new articles the topic matches, with the quoted sentence of each."""
    if threshold is None:
        threshold = engine.settings.follow_threshold
    topic = engine.topic(text)
    found = {a: engine.match_topic(a, topic, threshold) for a in NEW}
    return {a: q.text for a, q in found.items() if q is not None}


def test_one_word_topic_named_in_title_and_lead(engine):
    for text in ("Libya", "libya", "LIBYA"):
        found = matches(engine, text)
        assert set(found) == {"funds.md", "libya-talks.md"}, text
        assert found["funds.md"] == LEAD  # the lead sentence, not a body sentence
        assert found["libya-talks.md"].startswith("Delegations from both sides")


def test_a_named_topic_needs_no_passage_confidence(engine):
    # The issue: a one-word topic can never reach a passage-level confidence; named in the
    # title or lead, it matches whatever the threshold.
    topic = engine.topic("Libya")
    quote = engine.match_topic("funds.md", topic, 0.99)
    assert quote is not None and quote.text == LEAD
    assert quote.title == "Libya takes $1bn in unfrozen funds"
    lead = engine.lead("funds.md")
    assert lead is not None and (quote.paragraph, quote.start) == (lead.paragraph, 0)


def test_misspelled_topic_finds_the_index_spelling(engine):
    topic = engine.topic("Lybia")
    assert topic.query.variants.get("lybia") == ["libya"]  # not "liberia", not "libyan"
    found = matches(engine, "Lybia")
    assert set(found) == {"funds.md", "libya-talks.md"}
    assert found["funds.md"] == LEAD


def test_multi_word_topic_spread_over_title_and_lead(engine):
    # "funds" is only in the title ("unfrozen" is another word), "frozen" only in the lead.
    assert "funds" not in LEAD and "frozen" not in "Libya takes $1bn in unfrozen funds".split()
    found = matches(engine, "frozen funds")
    assert found == {"funds.md": LEAD}
    # Case and spacing do not matter; both words in the lead.
    assert matches(engine, "  LIBYAN   assets ") == {"funds.md": LEAD}


def test_near_misses_do_not_match(engine):
    # A word the articles use is taken as typed: "Liberia" is not "Libya", nor the reverse.
    liberia = matches(engine, "Liberia")
    assert set(liberia) == {"liberia.md"}
    assert liberia["liberia.md"].startswith("Election officials in Liberia")
    assert engine.topic("Liberia").query.variants == {}
    # Tripoli in Lebanon is no Tripoli airport; every word of the topic must be named.
    assert matches(engine, "Tripoli airport") == {}
    assert set(matches(engine, "Tripoli port")) == {"lebanon.md"}  # the control
    # The seed (baseline, not new) is about Tripoli airport: matched when asked for.
    seed = engine.match_topic(SEED.name, engine.topic("Tripoli airport"),
                              engine.settings.follow_threshold)
    assert seed is not None
    assert matches(engine, "sourdough") == {}


def test_only_a_sentence_long_topic_matches_by_meaning(engine):
    # A topic of SENTENCE_TOPIC_WORDS words none of whose sentences names it all matches by
    # the answers' confidence: at or below that confidence, not above it. (Against
    # FOLLOW_THRESHOLD itself it depends on the fitted weights, so it is not asserted here.)
    topic = engine.topic("talks to end the fighting between the rival governments")
    assert len(topic.query.stems) >= 4
    quote = engine.match_topic("libya-talks.md", topic, 0.0)
    assert quote is not None and quote.text in " ".join(LIBYA.split())
    confidence = quote.score
    assert engine.match_topic("libya-talks.md", topic, confidence - 1e-4) == quote  # rounded
    assert engine.match_topic("libya-talks.md", topic, confidence + 0.01) is None
    # The article that says it is the most confident one.
    others = [engine.match_topic(a, topic, 0.0) for a in ("funds.md", "lebanon.md",
                                                          "liberia.md")]
    assert all(q is None or q.score < confidence for q in others)
    # A short topic close in meaning but not named never matches, not even at threshold 0.
    assert matches(engine, "peace negotiations", threshold=0.0) == {}
    assert matches(engine, "ceasefire negotiations", threshold=0.0) == {}


LIBYAN_PM = """---
title: Libyan prime minister resigns
source: Test fixture
---
The Libyan prime minister resigned on Sunday after a week of protests in the capital.

His deputy will lead the government until a new cabinet is approved by parliament.
"""


def test_a_country_topic_finds_its_people_s_word(tmp_path, encoder):
    # Stems keep "Libya" and "Libyan" apart; a follow of the country must find its adjective.
    settings = make_settings(tmp_path)
    settings.corpus_dir.mkdir()
    (settings.corpus_dir / "pm.md").write_text(LIBYAN_PM, encoding="utf-8")
    (settings.corpus_dir / "oil.md").write_text(  # the articles use "Libya" too
        "---\ntitle: Oil exports rise\n---\nOil exports from Libya rose by a fifth in the "
        "first quarter, the national oil company said.\n", encoding="utf-8")
    build(settings, encoder)
    engine = Engine(settings, encoder=encoder)
    engine.load()
    topic = engine.topic("Libya")
    assert topic.query.variants == {"libya": ["libyan"]}
    quote = engine.match_topic("pm.md", topic, engine.settings.follow_threshold)
    assert quote is not None and quote.text.startswith("The Libyan prime minister resigned")
    assert engine.match_topic("pm.md", engine.topic("Liberia"), 0.44) is None
