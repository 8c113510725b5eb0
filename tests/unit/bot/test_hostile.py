"""Hostile and odd input: questions, articles and rendering never crash and stay exact."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.engine.answer import Answer, Engine, Quote
from bot.render import TELEGRAM_LIMIT, answer_html, utf16_len
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
