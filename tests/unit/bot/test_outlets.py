"""The same fact in every outlet's own words, on the outlets fixture (several publishers'
reports of the same events, and near misses) with the real model: stories, "Also reported
by", /compare and its flags, all quotes verbatim."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bot.engine import Quote
from bot.engine.outlets import disagreements
from bot.engine.stories import Stories
from bot.render import as_text
from tests.support.workspace import ROOT

AIRPORT = ("aljazeera/airport.md", "anadolu/airport.md", "wire/airport.md")


def test_reports_of_one_event_are_one_story_and_near_misses_are_not(outlets):
    engine, _ = outlets
    stories = engine.stories()
    airport = stories.by_article["aljazeera/airport.md"]
    assert set(airport.article_ids) == set(AIRPORT)
    assert set(airport.sources) == {"Al Jazeera", "Anadolu Agency", "Example Wire"}
    # Same place, a week later; same day and city, another event; same topic, elsewhere.
    for miss in ("aljazeera/airport-flights.md", "wire/lavrov.md", "aljazeera/marin-flood.md",
                 "wire/port-strike.md"):
        assert miss not in stories.by_article, miss


def test_a_story_is_found_from_the_reports_of_its_own_days(outlets):
    """An article's story is looked for among the reports of the days around it, not by
    reading every dated article of the corpus (which grows for years)."""
    engine, _ = outlets
    read: list[str] = []

    class Counting:  # the engine's index, counting whose passages are read
        def __init__(self, index):
            self._index = index

        def __getattr__(self, name):
            return getattr(self._index, name)

        def article_passages(self, row):
            read.append(self._index.articles[row].article_id)
            return self._index.article_passages(row)

    stories = Stories(Counting(engine.index))
    airport = stories.by_article["aljazeera/airport.md"]
    assert set(airport.article_ids) == set(AIRPORT)
    # The airport's days (Nov 20-21, three days either side): its reports and another event of
    # Nov 20; not the week-later follow-up, the floods, the talks or anything else.
    assert set(read) == {*AIRPORT, "wire/lavrov.md"}
    count = len(read)  # found once for all its articles
    assert stories.by_article.get("wire/airport.md") is airport and len(read) == count
    assert {s.id for s in stories.stories} == {s.id for s in engine.stories().stories}


def test_an_answer_adds_who_else_reports_it_in_their_own_words(outlets):
    engine, _ = outlets
    answer = engine.answer("How many bodies were recovered after the airport was retaken?")
    assert answer.quotes[0].article_id == "aljazeera/airport.md"
    assert "48 bodies" in answer.quotes[0].text
    (wire,) = answer.also_reported
    assert wire.source == "Example Wire" and "at least 45 bodies" in wire.text
    text = engine.index.article_text(engine.index.by_article_id[wire.article_id].row)
    assert text[wire.start:wire.end] == wire.text  # verbatim, where it stands
    data = answer.to_json()
    assert data["also_reported"][0]["source"] == "Example Wire"
    assert set(data["story"]["sources"]) == {"Al Jazeera", "Anadolu Agency", "Example Wire"}
    assert "Also reported by:\n• Example Wire: “A government spokesman said at least 45 " \
           "bodies had been found in the area.”" in as_text(answer)


def test_compare_sets_the_outlets_side_by_side_and_says_where_numbers_differ(outlets):
    engine, _ = outlets
    compared = engine.compare("How many fighters were killed at the airport?")
    sources = [q.source for q in compared.quotes]
    assert len(sources) == len(set(sources)) >= 2 and "Anadolu Agency" in sources
    ((_, said),) = [d for d in compared.differences if d[0] == "numbers"]
    assert ("More than 40", "Anadolu Agency") in said and ("48", "Al Jazeera") in said
    assert "Numbers differ: More than 40 (Anadolu Agency) / 48 (Al Jazeera)" in \
        as_text(compared)
    # Where the outlets agree (or quote no number), nothing is flagged.
    agreed = engine.compare("Where did the Libya ceasefire talks resume?")
    assert len(agreed.quotes) == 2 and not agreed.differences


def test_an_undated_corpus_has_no_stories(seed_engine):
    answer = seed_engine.answer("How far is Qasr Bin Ghashir from Tripoli?")
    assert answer.story is None and answer.also_reported == []
    assert answer.to_json()["also_reported"] == [] and answer.to_json()["story"] is None


def test_compare_on_the_command_line_as_json(outlets):
    _, settings = outlets
    env = {**os.environ, "INDEX_DIR": str(settings.resolved_index_dir),
           "DATA_DIR": str(settings.data_dir)}
    result = subprocess.run([sys.executable, "-m", "bot", "compare",
                             "How many people were evacuated from the valley?", "--json"],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {q["source"] for q in data["quotes"]} == {"Kessel Courier", "Example Wire"}
    assert data["differences"][0]["kind"] == "numbers"


def _said(text: str, source: str) -> Quote:
    return Quote(text, f"{source}.md", "T", source, None, "2026-11-20", 1, 0, len(text), 1.0)


def test_a_count_spelled_out_is_compared_with_one_in_figures():
    storm = [_said("Fourteen people were injured when the roof collapsed.", "Coastline Radio"),
             _said("At least 12 people were hurt, two of them seriously.", "Capital Wire")]
    assert disagreements(storm) == [
        ("numbers", [("Fourteen", "Coastline Radio"), ("At least 12", "Capital Wire")])]
    same = [_said("Forty-two fighters were killed.", "A"), _said("42 fighters died.", "B")]
    assert disagreements(same) == []  # the same number, worded two ways
