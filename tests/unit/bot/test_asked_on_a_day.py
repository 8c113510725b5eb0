"""Questions asked on a day: `ask --today` and a questions file's `today` field set the day
relative periods count from, and an empty relative period widened a little into the past
answers from an article just outside it, under a line saying so (real model and index)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from bot.i18n import translator
from bot.render import answer_html, as_text
from tests.support.texts import FLOOD, MUSEUM
from tests.support.workspace import ROOT, build, make_settings

QUESTION = "Who won the presidential election in Ardenia this week?"
THURSDAY = dt.date(2022, 6, 23)  # the election was on the Sunday before: 19 Jun 2022
ELECTION = ["Maria Kessel won the presidential election in Ardenia on Sunday, taking 54 percent "
            "of the vote in the runoff against the incumbent, Tomas Brell.",
            "Turnout was 61 percent, the electoral commission said, and Brell conceded defeat "
            "shortly after midnight."]


def _article(title: str, published: str, paragraphs: list[str]) -> str:
    return (f"---\ntitle: {title}\nsource: Example Wire\npublished: {published}\n---\n"
            + "\n\n".join(paragraphs) + "\n")


@pytest.fixture(scope="module")
def dated(tmp_path_factory, encoder):
    """The engine over three dated articles (the election on Sunday 19 Jun 2022), and its
    settings for the command line."""
    from bot.engine.answer import Engine

    settings = make_settings(tmp_path_factory.mktemp("asked-on-a-day"))
    settings.corpus_dir.mkdir()
    for name, text in {
        "election.md": _article("Kessel elected president of Ardenia", "2022-06-19", ELECTION),
        "flood.md": _article("Rescuers reach flooded valley", "2022-06-08", FLOOD),
        "museum.md": _article("Museum reopens west wing", "2022-06-01", MUSEUM),
    }.items():
        (settings.corpus_dir / name).write_text(text, encoding="utf-8")
    build(settings, encoder)
    engine = Engine(settings, encoder=encoder)
    engine.load()
    return engine, settings


def test_this_week_on_a_thursday_quotes_sundays_article_under_a_line_saying_so(dated):
    engine, _ = dated
    answer = engine.answer(QUESTION, today=THURSDAY)
    assert not answer.abstained
    assert answer.quotes[0].text == ELECTION[0]
    data = answer.to_json()
    # `filters` is still the period the question named; the wider one is said beside it.
    assert data["filters"] == {"from": "2022-06-20", "to": "2022-06-23", "sources": []}
    assert data["period_widened"] == {"from": "2022-06-16", "to": "2022-06-23"}
    assert as_text(answer).startswith("Nothing from this week; from 19 Jun 2022:\n“Maria Kessel")
    html = answer_html(answer)[0]
    assert html.startswith("Nothing from this week; from 19 Jun 2022:\n<blockquote>Maria")
    french = as_text(answer, translator("fr"))
    assert french.startswith("Rien pour « this week » ; du 19 juin 2022 :\n“Maria Kessel")
    # Asked on the Monday after, "last week" (the seven days before it) holds the article:
    # answered from it as before.
    monday = engine.answer("Who won the presidential election in Ardenia last week?",
                           today=dt.date(2022, 6, 20))
    assert monday.quotes[0].text == ELECTION[0]
    assert "period_widened" not in monday.to_json()
    assert as_text(monday).startswith("Articles published 13–19 Jun 2022:\n")


def test_a_period_is_widened_by_its_own_length_and_no_further(dated):
    engine, _ = dated
    question = "Who won the presidential election in Ardenia yesterday?"
    # "yesterday" asked on Tuesday 21 Jun is Monday 20 Jun; one day earlier is the Sunday.
    tuesday = engine.answer(question, today=dt.date(2022, 6, 21))
    assert not tuesday.abstained and tuesday.quotes[0].text == ELECTION[0]
    assert tuesday.to_json()["period_widened"] == {"from": "2022-06-19", "to": "2022-06-20"}
    assert as_text(tuesday).startswith("Nothing from yesterday; from 19 Jun 2022:\n")
    # Asked on the Wednesday, the Sunday is two days before "yesterday": refused as before,
    # with the nearest dated articles.
    wednesday = engine.answer(question, today=dt.date(2022, 6, 22))
    assert wednesday.abstained and wednesday.outside_period and not wednesday.quotes
    assert "period_widened" not in wednesday.to_json()
    assert wednesday.suggestions[0]["title"] == "Kessel elected president of Ardenia"
    assert as_text(wednesday).startswith("No article I hold was published 21 Jun 2022.\n")
    # Widened, the period holds the election, which does not say how many containers a port
    # handled: a widened answer must pass the same threshold, so this is refused as before.
    port = engine.answer("How many containers did the port of Kessel handle yesterday?",
                         today=dt.date(2022, 6, 21))
    assert port.abstained and port.outside_period and not port.quotes


def _ask(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INDEX_DIR": str(settings.resolved_index_dir),
           "DATA_DIR": str(settings.data_dir)}
    return subprocess.run([sys.executable, "-m", "bot", "ask", *args], capture_output=True,
                          text=True, cwd=ROOT, env=env, timeout=300)


def test_ask_today_sets_the_day_relative_periods_count_from(dated):
    _, settings = dated
    asked = _ask(settings, QUESTION, "--today", "2022-06-23")
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.startswith("Nothing from this week; from 19 Jun 2022:\n“Maria Kessel")
    # Asked on the system's day (years later), this week holds nothing near the election.
    now = json.loads(_ask(settings, QUESTION, "--json").stdout)
    assert now["filters"]["from"] != "2022-06-20" and now["quotes"] == []
    bad = _ask(settings, QUESTION, "--today", "2022-02-30")
    assert bad.returncode == 2 and bad.stdout == ""
    assert "--today: not a YYYY-MM-DD date: '2022-02-30'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_a_questions_files_today_wins_and_a_bad_one_loses_only_its_line(dated, tmp_path):
    _, settings = dated
    questions = tmp_path / "asked.jsonl"
    questions.write_text("\n".join(json.dumps(line) for line in [
        {"question": QUESTION, "today": "2022-06-23"},
        {"question": QUESTION},  # the flag's day
        {"question": QUESTION, "today": "23/06/2022"},
        {"question": "Who won the presidential election in Ardenia last week?",
         "today": "2022-06-20"},
    ]) + "\n", encoding="utf-8")
    result = _ask(settings, "--questions-file", str(questions), "--json", "--today",
                  "2022-07-20")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 4
    assert lines[0]["quotes"][0]["text"] == ELECTION[0]
    assert lines[0]["period_widened"] == {"from": "2022-06-16", "to": "2022-06-23"}
    assert lines[1]["filters"]["from"] == "2022-07-18" and lines[1]["abstained"]
    assert lines[2]["question"] == QUESTION and lines[2]["quotes"] == []
    assert lines[2]["error"] == "line 3: bad 'today' (not a YYYY-MM-DD date: '23/06/2022')"
    assert lines[3]["quotes"][0]["text"] == ELECTION[0] and "period_widened" not in lines[3]
