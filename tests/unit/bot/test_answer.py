"""The answering engine on the seed article, with the real model and index."""

import json
import os
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.workspace import ROOT, SEED

SEED_TEXT = SEED.read_text(encoding="utf-8").strip()


def assert_exact(engine, answer):
    index = engine.index
    for quote in answer.quotes:
        info = index.by_article_id[quote.article_id]
        assert index.article_text(info.row)[quote.start:quote.end] == quote.text


def test_distance_question_quotes_the_26_km_sentence(seed_engine):
    answer = seed_engine.answer("How far is Qasr Bin Ghashir from Tripoli?")
    assert not answer.abstained
    first = answer.quotes[0]
    assert "26 km" in first.text
    assert first.paragraph == 11
    assert first.article_id == "tripoli-airport.txt"
    assert first.title == "tripoli-airport"
    assert first.url is None and first.published is None and first.source is None
    assert SEED_TEXT[first.start:first.end] == first.text
    assert_exact(seed_engine, answer)


def test_who_retook_the_airport(seed_engine):
    answer = seed_engine.answer("Who retook Tripoli International Airport?")
    assert not answer.abstained
    assert "Tripoli International Airport" in answer.quotes[0].text
    assert len(answer.quotes) <= 3
    assert len({q.passage_id for q in answer.quotes}) == len(answer.quotes)


def test_either_spelling_finds_the_passage(seed_engine):
    for name in ("Hifter", "Haftar"):
        answer = seed_engine.answer(f"When did {name}'s forces launch their offensive on Tripoli?")
        assert not answer.abstained, name
        assert any("April 4, 2019" in q.text for q in answer.quotes), name


def test_off_corpus_question_abstains_with_suggestions(seed_engine):
    answer = seed_engine.answer("Who won the football world cup in 2010?")
    assert answer.abstained and not answer.quotes
    assert answer.suggestions == [{"article_id": "tripoli-airport.txt",
                                   "title": "tripoli-airport"}]
    # One article only: nothing to stand out from but its own passages, which a question
    # about something else matches no better than each other.
    for question in ("Who is the prime minister of Japan?", "What is the capital of France?",
                     "What is the price of oil?"):
        assert seed_engine.answer(question).abstained, question


def test_small_talk_gets_help_not_a_search(seed_engine):
    for text in ("hi", "Thanks!", "  hello  "):
        answer = seed_engine.answer(text)
        assert answer.abstained and answer.help and not answer.quotes


def test_empty_and_too_long_questions_are_errors(seed_engine):
    assert "empty" in seed_engine.answer("   \n").error
    too_long = seed_engine.answer("why " * 400)
    assert "too long" in too_long.error and "1000" in too_long.error and not too_long.quotes


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(min_size=1, max_size=200))
def test_any_question_quotes_exactly(seed_engine, question):
    answer = seed_engine.answer(question)
    assert_exact(seed_engine, answer)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(SEED_TEXT.split()), min_size=1, max_size=12))
def test_questions_from_corpus_words_quote_exactly(seed_engine, words):
    answer = seed_engine.answer(" ".join(words) + "?")
    assert_exact(seed_engine, answer)


def run_bot(*args, settings):
    env = {**os.environ, "INDEX_DIR": str(settings.resolved_index_dir),
           "DATA_DIR": str(settings.data_dir)}
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)


def test_ask_json_contract(seed_settings):
    result = run_bot("ask", "How far is Qasr Bin Ghashir from Tripoli?", "--json",
                     settings=seed_settings)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) >= {"question", "abstained", "quotes", "suggestions", "latency_ms",
                         "question_language", "followup_of", "filters"}
    assert data["filters"] == {"from": None, "to": None, "sources": []}
    assert data["abstained"] is False
    assert data["question_language"] == "en"
    # where the time went, by stage, within the whole answer's latency
    # (read_ms, the trained reader's time, is a share of select_ms, not a stage of its own)
    timings = data["timings"]
    assert set(timings) == {"encode_ms", "search_ms", "select_ms", "read_ms"}
    assert 0 < timings["read_ms"] <= timings["select_ms"]
    stages = timings["encode_ms"] + timings["search_ms"] + timings["select_ms"]
    assert 0 <= stages <= data["latency_ms"] + 0.01
    quote = data["quotes"][0]
    assert set(quote) == {"text", "article_id", "title", "source", "url", "published",
                          "paragraph", "start", "end", "score", "language", "speaker"}
    assert quote["language"] == "en"
    assert SEED_TEXT[quote["start"]:quote["end"]] == quote["text"]
    assert quote["source"] is None and quote["url"] is None and quote["published"] is None


def test_ask_questions_file_and_errors(seed_settings, tmp_path):
    questions = tmp_path / "q.jsonl"
    good = json.dumps({"question": "Who retook Tripoli International Airport?"})
    questions.write_bytes("\n".join([
        good,
        json.dumps({"question": ""}),
        "not json",
        json.dumps({"question": "hi"}),
        # Issue 35: each of these ended the whole batch (no JSON for any line): a period past
        # the calendar raised in the engine, a line in Latin-1 spoiled the reading of the
        # file, a lone surrogate could not be printed back, deep nesting hit the recursion limit.
        json.dumps({"question": "Who retook the airport in the last 10000 years?"}),
        '{"question": "Who retook the airport \\ud800?"}',
        "[" * 100_000 + "]" * 100_000,
        good,
    ]).encode() + b'\n{"question": "caf\xe9?"}\n' + good.encode() + b"\n")
    result = run_bot("ask", "--questions-file", str(questions), "--json", settings=seed_settings)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 10
    assert lines[0]["quotes"] and not lines[0]["abstained"]
    assert "empty" in lines[1]["error"] and lines[1]["quotes"] == []
    assert "line 3" in lines[2]["error"]
    assert lines[3]["abstained"] is True and lines[3]["help"]
    assert lines[4]["filters"]["from"] == "0001-01-01" and "error" not in lines[4]
    for number in (6, 7, 9):
        assert f"line {number}:" in lines[number - 1]["error"]
        assert lines[number - 1]["quotes"] == []
    assert lines[7]["quotes"] == lines[9]["quotes"] == lines[0]["quotes"]  # and it went on

    empty = run_bot("ask", "", "--json", settings=seed_settings)
    assert empty.returncode == 2 and json.loads(empty.stdout)["quotes"] == []


def test_ask_text_shows_quote_and_attribution(seed_settings):
    result = run_bot("ask", "How far is Qasr Bin Ghashir from Tripoli?", settings=seed_settings)
    assert result.returncode == 0
    assert "26 km" in result.stdout and "tripoli-airport · paragraph 11" in result.stdout


def test_console_answers_and_quits_on_eof(seed_settings):
    env = {**os.environ, "INDEX_DIR": str(seed_settings.resolved_index_dir)}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    result = subprocess.run([sys.executable, "-m", "bot"], input="Who retook Tripoli "
                            "International Airport?\n", capture_output=True, text=True, cwd=ROOT,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Tripoli International Airport" in result.stdout
    assert "paragraph" in result.stdout


def test_ask_without_index_is_a_clear_error(tmp_path):
    env = {**os.environ, "INDEX_DIR": str(tmp_path / "none")}
    result = subprocess.run([sys.executable, "-m", "bot", "ask", "anything?"], capture_output=True,
                            text=True, cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 2
    assert "No index" in result.stderr and "python build_index.py" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_fragment_is_never_quoted_alone(workspace, encoder):
    from bot.engine.answer import Engine
    from index.chunk import word_count
    from tests.support.workspace import build

    (workspace.corpus_dir / "match.md").write_text(
        "---\ntitle: Cup final report\n---\nArsenal 2-1 Chelsea\n\n"
        "The cup final was played in heavy rain on Saturday at the national stadium.\n\n"
        "Subs Not Used: Smith\n\n"
        "The winning goal came in the last minute from a free kick by the captain.\n\n"
        "1600 GMT\n", encoding="utf-8")
    build(workspace, encoder)
    engine = Engine(workspace, encoder=encoder)
    engine.load()
    from index.sources.files import read_corpus

    text = read_corpus([workspace.corpus_dir]).articles[0].text
    for question in ("Arsenal Chelsea score?", "1600 GMT", "Subs not used?",
                     "When did the winning goal come?"):
        for quote in engine.answer(question).quotes:
            assert word_count(quote.text) >= 5, (question, quote.text)
            assert text[quote.start:quote.end] == quote.text
