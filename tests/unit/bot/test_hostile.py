"""Hostile and odd input: questions, articles and rendering never crash and stay exact."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.answer import Answer, Engine, Quote
from bot.engine.filters import understand
from bot.engine.periods import find_period
from bot.engine.publishers import SourceNames
from bot.i18n import translator
from bot.render import TELEGRAM_LIMIT, answer_html, period_label, utf16_len
from tests.support.fake_bot_api import plain_text
from tests.support.workspace import build, make_settings

ODD_QUESTIONS = [
    "", "   \n\t ", "why " * 2500, "😀🔥🇱🇾", "أين يقع مطار طرابلس الدولي؟",
    "Tri\u200bpoli\u200d airport?",
    "what\x00 about\x07 the\x1b[31m airport?", "</blockquote><b>airport</b>&amp;<a href='x'>",
    "*bold* _it_ [link](http://x) `code`", "/start@OtherBot who retook the airport?",
]


def exact(engine: Engine, answer: Answer) -> None:
    index = engine.index
    for quote in answer.quotes:
        info = index.by_article_id[quote.article_id]
        assert index.article_text(info.row)[quote.start:quote.end] == quote.text


def test_odd_questions_never_crash_and_render_safely(seed_engine):
    for question in ODD_QUESTIONS:
        answer = seed_engine.answer(question)
        exact(seed_engine, answer)
        for page in answer_html(answer):
            visible = plain_text(page, "HTML")
            assert utf16_len(visible) <= TELEGRAM_LIMIT
            assert "<b>airport</b>" not in page


text_pieces = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
                      min_size=1, max_size=600)


@given(text=text_pieces, title=text_pieces, url=st.one_of(st.none(), text_pieces))
@settings(max_examples=150, deadline=None)
def test_rendering_any_text_parses_and_keeps_it(text, title, url):
    quote = Quote(text=text, article_id="a", title=title, source=None, url=url,
                  published=None, paragraph=1, start=0, end=len(text), score=1.0)
    pages = answer_html(Answer("q", False, [quote]))
    visible = "".join(plain_text(page, "HTML") for page in pages)
    for page in pages:
        assert utf16_len(plain_text(page, "HTML")) <= TELEGRAM_LIMIT
    assert "".join(text.split()) in "".join(visible.split())


ODD_ARTICLES = {
    "html.md": "<script>alert(1)</script> The <b>council</b> met & voted on the budget today.",
    "long.txt": " ".join(["word"] * 3000),
    "mixed.md": "Сегодня в Триполи. اليوم في طرابلس. Today in Tripoli the council voted. 今日は。",
    "dup1.txt": "The harbour reopened on Monday after repairs.",
    "dup2.txt": "The harbour reopened on Monday after repairs.",
    "types.md": "---\ntitle: 42\npublished: not a date\nsource: [a, b]\n---\nThe mayor spoke.",
}


@pytest.fixture(scope="module")
def odd_engine(tmp_path_factory, encoder):
    settings = make_settings(tmp_path_factory.mktemp("odd"))
    settings.corpus_dir.mkdir()
    for name, text in ODD_ARTICLES.items():
        (settings.corpus_dir / name).write_text(text, encoding="utf-8")
    summary = build(settings, encoder)
    assert summary.articles == len(ODD_ARTICLES)
    engine = Engine(settings, encoder=encoder)
    engine.load()
    return engine


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(question=st.sampled_from(["When did the harbour reopen?", "What did the council vote on?",
                                 "word word", "Who spoke?", "Tripoli today", "alert"]))
def test_odd_articles_index_and_quote_exactly(odd_engine, question):
    answer = odd_engine.answer(question)
    exact(odd_engine, answer)
    assert len({q.text for q in answer.quotes}) == len(answer.quotes), "duplicates collapsed"


# ---- periods out of the calendar's range (issue 35) ----------------------------------------

TODAY = dt.date(2026, 12, 7)
FIRST, LAST = dt.date.min.isoformat(), dt.date.max.isoformat()  # 0001-01-01, 9999-12-31


@pytest.mark.parametrize(("language", "question", "today", "start", "end"), [
    ("en", "What happened in the last 10000 years?", TODAY, FIRST, "2026-12-07"),
    ("en", "What happened 999999 days ago?", TODAY, FIRST, FIRST),
    ("en", f"Any news in the past {'9' * 5000} days?", TODAY, FIRST, "2026-12-07"),
    ("en", "What happened after 9999-12-31?", TODAY, LAST, "2026-12-07"),
    ("en", "What happened before 0001-01-01?", TODAY, None, FIRST),
    ("fr", "Qu'est-ce qui s'est passé après 31.12.9999 ?", TODAY, LAST, "2026-12-07"),
    ("de", "Was geschah vor 01.01.0001?", TODAY, None, FIRST),
    ("es", "¿Qué pasó antes de 0001-01-01?", TODAY, None, FIRST),
    ("ru", "Что было до 0001-01-01?", TODAY, None, FIRST),
    ("ar", "ماذا حدث أمس؟", dt.date.min, FIRST, FIRST),
    ("zh", "上周发生了什么？", dt.date.min, FIRST, FIRST),
    ("en", "What happened last year?", dt.date.min, FIRST, FIRST),
])
def test_a_period_past_the_calendar_is_held_to_its_first_or_last_day(language, question, today,
                                                                     start, end):
    period, _ = find_period(question, language, today)
    assert period is not None
    assert (_iso(period.start), _iso(period.end)) == (start, end)
    assert period_label(period, translator(language))  # and it can be said


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


# The words filters.py reads periods by, in each language the bot speaks: prepositions before a
# date, relative phrases, and the English spans ("in the last 3 days", "2 weeks ago").
PERIOD_WORDS = {
    "en": ["in the last", "past", "ago", "since", "after", "before", "until", "in", "on",
           "during", "from", "between", "and", "to", "last week", "yesterday", "this year",
           "last weekend", "the", "of", "March", "Monday", "this"],
    "fr": ["depuis", "après", "avant", "jusqu'à", "en", "le", "pendant", "depuis le",
           "la semaine dernière", "hier", "cette année", "mars", "décembre"],
    "de": ["seit", "nach", "vor", "bis", "im", "am", "während", "seit dem", "letzte Woche",
           "gestern", "dieses Jahr", "März", "Dezember"],
    "es": ["desde", "después de", "antes de", "hasta", "durante", "desde el",
           "la semana pasada", "ayer", "este año", "marzo", "diciembre"],
    "ru": ["с", "после", "до", "в", "во время", "на прошлой неделе", "вчера", "в этом году",
           "марта", "декабря"],
    "ar": ["أمس", "الأسبوع الماضي", "هذا العام", "اليوم", "الشهر الماضي"],
    "zh": ["上周", "昨天", "今年", "今天", "上个月"],
}
_UNITS = ["day", "days", "week", "weeks", "month", "months", "year", "years"]
_numbers = st.one_of(st.integers(0, 10 ** 30).map(str),
                     st.sampled_from(["a", "an", "one", "ten", "few", "couple of", "0000"]))
_dates = st.one_of(
    st.dates().map(dt.date.isoformat),  # 0001-01-01 .. 9999-12-31
    st.dates().map(lambda d: f"{d.day:02d}.{d.month:02d}.{d.year:04d}"),
    st.dates().map(lambda d: f"{d.day}/{d.month}/{d.year:04d}"),
    st.dates().map(lambda d: d.strftime("%d %B %Y")),
    st.dates().map(lambda d: d.strftime("%B %Y")),
    st.tuples(st.integers(0, 10 ** 6), st.integers(0, 99), st.integers(0, 99)).map(
        lambda t: f"{t[0]}-{t[1]:02d}-{t[2]:02d}"))


@st.composite
def period_questions(draw) -> tuple[str, str]:
    """A question in one of the seven languages with a period the way filters.py reads one
    (a word before a date or a number and a unit), amid more period words and odd text."""
    language = draw(st.sampled_from(sorted(PERIOD_WORDS)))
    word = st.sampled_from(PERIOD_WORDS[language])
    span = st.tuples(st.sampled_from(["in the last", "past", ""]), _numbers,
                     st.sampled_from(_UNITS), st.sampled_from(["ago", "", "?"]))
    phrase = st.one_of(st.tuples(word, _dates), span, st.tuples(word, word, _dates))
    piece = st.one_of(phrase.map(lambda words: " ".join(filter(None, words))), word, _numbers,
                      _dates, st.text(max_size=8))
    return language, " ".join(draw(st.lists(piece, min_size=1, max_size=6)))


@given(asked=period_questions(), today=st.dates(), dated=st.booleans())
@settings(max_examples=400, deadline=None)
def test_no_period_words_raise_in_any_language(asked, today, dated):
    language, question = asked
    period, rest = find_period(question, language, today, absolute=dated)
    if period is not None:  # its words are taken out of what is searched, and it can be said
        assert period.said and period.said in question
        assert len("".join(rest.split())) < len("".join(question.split()))
        period_label(period, translator(language))
    assert understand(question, language, today, SourceNames([]), dated=dated).period == period
