"""Periods and publishers named in a question ("last week", "according to Reuters") limit the
search to those articles; the reply says which, or that none is there (real model and index)."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from bot.engine.filters import understand
from bot.engine.periods import find_period
from bot.engine.publishers import SourceNames
from bot.i18n import translator
from bot.render import answer_html, as_text, period_label
from tests.support.texts import FLOOD, MUSEUM, PORT
from tests.support.workspace import SEED, build, make_settings

TODAY = dt.date(2026, 12, 7)  # a Monday


@pytest.mark.parametrize(("language", "question", "start", "end", "rest"), [
    ("en", "What happened in Libya last week?", "2026-11-30", "2026-12-06",
     "What happened in Libya?"),
    ("en", "What happened yesterday?", "2026-12-06", "2026-12-06", "What happened?"),
    ("en", "What did they say since Monday?", "2026-11-30", "2026-12-07", "What did they say?"),
    ("en", "Which floods were reported before 2020?", None, "2019-12-31",
     "Which floods were reported?"),
    ("en", "What happened in March 2005?", "2005-03-01", "2005-03-31", "What happened?"),
    ("en", "What happened this year in Tripoli?", "2026-01-01", "2026-12-07",
     "What happened in Tripoli?"),
    ("en", "What happened between March and May 2005?", "2005-03-01", "2005-05-31",
     "What happened?"),
    ("en", "Any rescues in the last 3 days?", "2026-12-04", "2026-12-07", "Any rescues?"),
    ("fr", "Qu'est-ce qui s'est passé en Libye la semaine dernière ?", "2026-11-30",
     "2026-12-06", "Qu'est-ce qui s'est passé en Libye?"),
    ("de", "Was ist letzte Woche in Libyen passiert?", "2026-11-30", "2026-12-06",
     "Was ist in Libyen passiert?"),
    ("es", "¿Qué pasó en Libia la semana pasada?", "2026-11-30", "2026-12-06",
     "¿Qué pasó en Libia?"),
    ("ru", "Что произошло в Ливии на прошлой неделе?", "2026-11-30", "2026-12-06",
     "Что произошло в Ливии?"),
    ("ar", "ماذا حدث في ليبيا أمس؟", "2026-12-06", "2026-12-06", "ماذا حدث في ليبيا؟"),
    ("zh", "上周利比亚发生了什么？", "2026-11-30", "2026-12-06", "利比亚发生了什么？"),
    ("de", "Was geschah seit 2020?", "2020-01-01", "2026-12-07", "Was geschah?"),
])
def test_periods_in_every_language_the_bot_speaks(language, question, start, end, rest):
    period, left = find_period(question, language, TODAY)
    assert period is not None
    assert (str(period.start) if period.start else None, str(period.end)) == (start, end)
    assert left == rest


@pytest.mark.parametrize("question", [
    "Who won the second round?", "How many people died in the 2005 floods?",
    "Who is the Prime Minister now?", "How many containers did the port handle a year?",
    "How far is Qasr Bin Ghashir from Tripoli?", "Where did they flee?"])
def test_words_that_only_look_like_dates_filter_nothing(question):
    assert find_period(question, "en", TODAY) == (None, question)


def test_a_year_is_a_period_only_where_articles_are_dated():
    assert find_period("Who won the cup in 2010?", "en", TODAY, absolute=False)[0] is None
    assert find_period("What happened last week?", "en", TODAY, absolute=False)[0] is not None


def test_publishers_are_matched_with_their_spelling_variants():
    names = SourceNames(["Al Jazeera", "BBC News", "Anadolu Agency", "Example Wire"])
    for question, source in [("According to Al-Jazeera, who retook the airport?", "Al Jazeera"),
                             ("Who retook the airport, according to aljazira?", "Al Jazeera"),
                             ("What did the BBC say about Libya?", "BBC News"),
                             ("What does Anadolu report on Tripoli?", "Anadolu Agency"),
                             ("In Example Wire, what happened to the port?", "Example Wire")]:
        found = understand(question, "en", TODAY, names)
        assert found.sources == (source,), question
        assert source.split()[0].lower() not in found.text.lower(), found.text
    # A publisher's word used as a word, with no "according to" / "say": no filter.
    assert understand("Who is the example of a wire?", "en", TODAY, names).sources == ()


def test_an_unknown_publisher_is_named_but_a_quoted_person_is_not():
    names = SourceNames(["Example Wire"])
    known = {"Colonel Kanounou"}.__contains__
    assert understand("What did Reuters say about the budget?", "en", TODAY, names,
                      known).unknown_source == "Reuters"
    assert understand("According to Colonel Kanounou, who fled?", "en", TODAY, names,
                      known).unknown_source is None


def _article(title: str, source: str, published: str, paragraphs: list[str]) -> str:
    return (f"---\ntitle: {title}\nsource: {source}\npublished: {published}\n---\n"
            + "\n\n".join(paragraphs) + "\n")


@pytest.fixture(scope="module")
def dated_engine(tmp_path_factory, encoder):
    """The seed article (undated) and three dated articles from two publishers."""
    from bot.engine.answer import Engine

    settings = make_settings(tmp_path_factory.mktemp("dated"))
    settings.corpus_dir.mkdir()
    shutil.copy(SEED, settings.corpus_dir / SEED.name)
    for name, text in {
        "flood.md": _article("Rescuers reach flooded valley", "Example News", "2026-12-03",
                             FLOOD),
        "port.md": _article("Kessel port sets container record", "Kessel Courier",
                            "2026-11-02", PORT),
        "museum.md": _article("Museum reopens west wing", "Example News", "2026-10-20",
                              MUSEUM),
    }.items():
        (settings.corpus_dir / name).write_text(text, encoding="utf-8")
    build(settings, encoder)
    engine = Engine(settings, encoder=encoder)
    engine.load()
    return engine


def test_a_dated_question_is_answered_from_the_period_only(dated_engine):
    answer = dated_engine.answer("How many people were moved to schools last week?", today=TODAY)
    assert not answer.abstained
    assert {q.title for q in answer.quotes} == {"Rescuers reach flooded valley"}
    assert answer.to_json()["filters"] == {"from": "2026-11-30", "to": "2026-12-06",
                                           "sources": []}
    assert as_text(answer).startswith("Articles published 30 Nov\u2009–\u20096 Dec 2026:\n“")
    # The undated seed article is never said to be in a period.
    seed = dated_engine.answer("How far is Qasr Bin Ghashir from Tripoli last week?",
                               today=TODAY)
    assert all("Qasr" not in q.text for q in seed.quotes)


def test_an_empty_period_says_so_with_the_nearest_dated_articles(dated_engine):
    answer = dated_engine.answer("What happened to the port in March 2005?", today=TODAY)
    assert answer.abstained and answer.outside_period and not answer.quotes
    assert answer.to_json()["filters"]["from"] == "2005-03-01"
    titles = [s["title"] for s in answer.suggestions]
    assert titles[0] == "Museum reopens west wing"  # the oldest dated: nearest to 2005
    text = as_text(answer)
    assert text.startswith("No article I hold was published Mar 2005.\n")
    assert "The nearest dated articles:\n• Museum reopens west wing · 2026-10-20" in text
    arabic = answer_html(answer, tr=translator("ar"))[0]
    assert "Museum reopens west wing" in arabic and "2026-10-20" in arabic


def test_a_period_with_nothing_else_lists_its_articles_newest_first(dated_engine):
    answer = dated_engine.answer("What happened since November?", today=TODAY)
    assert not answer.abstained
    assert [q.title for q in answer.quotes] == ["Rescuers reach flooded valley",
                                                "Kessel port sets container record"]
    assert answer.quotes[0].text == FLOOD[0]  # a first sentence, verbatim


def test_a_named_publisher_limits_the_search_to_it(dated_engine):
    question = "What did Kessel Courier report about cranes?"
    answer = dated_engine.answer(question, today=TODAY)
    assert not answer.abstained
    assert {q.source for q in answer.quotes} == {"Kessel Courier"}
    assert answer.to_json()["filters"]["sources"] == ["Kessel Courier"]
    assert as_text(answer).startswith("Articles by Kessel Courier:")
    # Asked of the other publisher, the cranes are not there: it does not answer from the port.
    other = dated_engine.answer("What did Example News report about the cranes on the quay?",
                                today=TODAY)
    assert all(q.source == "Example News" for q in other.quotes)
    # A chat's chosen publishers apply when the question names none.
    chosen = dated_engine.answer("How many cranes will the operator add?", today=TODAY,
                                 sources=["Example News"])
    assert all(q.source == "Example News" for q in chosen.quotes)
    assert chosen.filters is not None and chosen.filters.chat_sources


def test_an_unknown_publisher_is_said_with_the_ones_there_are(dated_engine):
    answer = dated_engine.answer("What did Reuters say about the flood?", today=TODAY)
    assert answer.abstained and not answer.quotes
    data = answer.to_json()
    assert data["filters"]["unknown_source"] == "Reuters"
    assert data["available_sources"] == ["Example News", "Kessel Courier"]
    assert as_text(answer) == ("I have no articles from Reuters. The sources I have: "
                               "Example News, Kessel Courier.")


def test_period_labels_follow_the_readers_language():
    from bot.engine import Period

    week = Period(dt.date(2026, 11, 24), dt.date(2026, 11, 30))
    assert period_label(week) == "24–30 Nov 2026"
    assert period_label(Period(dt.date(2005, 3, 1), dt.date(2005, 3, 31))) == "Mar 2005"
    assert period_label(Period(None, dt.date(2019, 12, 31))) == "until 31 Dec 2019"
    assert "нояб" in period_label(week, translator("ru"))


def test_a_follow_up_keeps_the_period_and_publisher_it_follows(dated_engine):
    first = dated_engine.answer("What did Kessel Courier report about the cranes?", today=TODAY)
    later = dated_engine.answer("How much will they cost?", context=first.exchange(),
                                today=TODAY)
    assert later.followup_of == "What did Kessel Courier report about the cranes?"
    assert later.to_json()["filters"]["sources"] == ["Kessel Courier"]
    assert "300 million euros" in later.quotes[0].text
    dated = dated_engine.answer("How many people were moved to schools last week?",
                                today=TODAY)
    bridge = dated_engine.answer("And when will the bridge reopen?", context=dated.exchange(),
                                 today=TODAY)
    assert bridge.to_json()["filters"]["from"] == "2026-11-30"
    assert "main bridge over the river to reopen within a week" in bridge.quotes[0].text


def test_a_period_past_the_calendar_is_answered_not_failed(dated_engine):
    # Issue 35: these raised OverflowError out of Engine.answer and compare (the chat's generic
    # failure; nothing at all for an inline or guest query).
    for question in ("What happened to the port after 9999-12-31?",
                     "What happened to the port before 0001-01-01?",
                     "What happened to the port in December 9999?"):
        for answer in (dated_engine.answer(question, today=TODAY),
                       dated_engine.compare(question, today=TODAY)):
            assert answer.abstained and answer.outside_period and answer.error is None
            assert "Kessel port sets container record" in {s["title"] for s in answer.suggestions}
            assert "Kessel" in as_text(answer)
    wide = dated_engine.answer("How many people were moved to schools in the last 10000 years?",
                               today=TODAY)
    assert {q.title for q in wide.quotes} == {"Rescuers reach flooded valley"}
    assert wide.to_json()["filters"]["from"] == "0001-01-01"
