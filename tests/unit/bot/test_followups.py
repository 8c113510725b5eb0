"""Follow-up questions (issue 23): a question that leans on the last exchange is answered in
its context, with the article's own sentences; a self-contained one starts fresh."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import pytest

from bot.engine import Exchange
from bot.engine.answer import Engine
from bot.engine.followup import refers_back
from bot.engine.retrieve import _in_context
from tests.support.workspace import ROOT, SEED

SEED_TEXT = SEED.read_text(encoding="utf-8").strip()
FIRST = "Who retook Tripoli International Airport?"
MILITIA = "Where did the militia flee to?"


@pytest.fixture(scope="module")
def militias(militias_settings, encoder) -> Engine:
    engine = Engine(militias_settings, encoder=encoder)
    engine.load()
    return engine


def test_what_leans_on_an_earlier_question_is_told_from_what_stands_alone():
    for question in ("Where did they flee?", "When was that?", "And the second one?",
                     "What about Tarhuna?", "How far is it?"):
        assert refers_back(question), question
    for question in ("How far is Qasr Bin Ghashir from Tripoli?",
                     "Who won the football world cup in 2010?"):
        assert not refers_back(question), question


def test_a_follow_up_is_answered_from_what_was_just_discussed(seed_engine):
    first = seed_engine.answer(FIRST)
    context = first.exchange()
    assert context is not None and context.question == FIRST
    assert context.article_ids == (SEED.name,)
    followed = seed_engine.answer("Where did they flee?", context=context)
    assert followed.followup_of == FIRST and not followed.abstained
    quote = followed.quotes[0]
    assert "Qasr Bin Ghashir" in quote.text and quote.text in SEED_TEXT
    assert followed.to_json()["followup_of"] == FIRST
    # the chain goes on: the third question carries both earlier ones
    third = seed_engine.answer("When was that?", context=followed.exchange())
    assert third.followup_of == "Where did they flee?" and not third.abstained
    assert third.context is not None and third.context.earlier == (FIRST,)
    assert all(q.text in SEED_TEXT for q in third.quotes)


def test_without_context_an_elliptic_question_gets_the_help_and_a_full_one_starts_fresh(
        seed_engine):
    assert seed_engine.answer("When was that?").help is not None
    context = seed_engine.answer(FIRST).exchange()
    fresh = seed_engine.answer("How far is Qasr Bin Ghashir from Tripoli?", context=context)
    assert fresh.followup_of is None and "26 km" in fresh.quotes[0].text
    assert fresh.to_json()["followup_of"] is None


def test_an_exchange_survives_storage():
    exchange = Exchange("Who retook it?", ("a.txt",), (("a.txt", 3),), ("Earlier?",))
    assert Exchange.from_dict(json.loads(json.dumps(exchange.to_dict()))) == exchange


def test_a_new_user_holds_a_three_question_exchange_in_the_console(seed_settings):
    env = {**os.environ, "INDEX_DIR": str(seed_settings.resolved_index_dir)}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    questions = [FIRST, "Where did they flee?", "How far is it from Tripoli?", "/new",
                 "When was that?"]
    result = subprocess.run([sys.executable, "-m", "bot", "console"],
                            input="\n".join(questions) + "\n", capture_output=True, text=True,
                            cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    replies = result.stdout.split("> ")[1:]
    assert "Following up on" not in replies[0] and "Tripoli International Airport" in replies[0]
    assert replies[1].startswith(f"Following up on: {FIRST}") and "Qasr Bin Ghashir" in replies[1]
    assert replies[2].startswith("Following up on: Where did they flee?")
    assert "26 km" in replies[2]  # "it": Qasr Bin Ghashir, where they fled
    assert "New conversation" in replies[3]
    assert "Following up on" not in replies[4] and "I answer questions" in replies[4]


def test_a_reply_to_an_answer_follows_it_up_however_its_question_is_worded(militias):
    """Issue 35: asked alone, "Where did the militia flee to?" finds the airfield story's
    militia; as a reply to the answer about Tripoli airport, that airport's militia."""
    replied = dataclasses.replace(militias.answer(FIRST).exchange(), replied=True)
    alone = militias.answer(MILITIA)
    assert "Oskar Ridge" in alone.quotes[0].text and alone.followup_of is None
    followed = militias.answer(MILITIA, context=replied)
    assert followed.followup_of == FIRST and not followed.abstained
    assert "Qasr Bin Ghashir" in followed.quotes[0].text
    assert followed.quotes[0].article_id == SEED.name
    # the same words right after the answer, not replying to it, stand alone (a private
    # chat's last answer is a weaker sign than a reply)
    after = militias.answer(MILITIA, context=dataclasses.replace(replied, replied=False))
    assert after.followup_of is None and "Oskar Ridge" in after.quotes[0].text


def test_a_reply_asking_what_the_answered_articles_never_mention_gets_its_own_answer(
        militias):
    replied = dataclasses.replace(militias.answer(FIRST).exchange(), replied=True)
    asked = "Who is the museum's director?"
    own = militias.answer(asked)
    followed = militias.answer(asked, context=replied)
    assert followed.followup_of is None and not followed.abstained
    assert followed.quotes[0].text == own.quotes[0].text and "museum" in own.quotes[0].text
    # thanks in reply to an answer is no question
    assert militias.answer("Thanks!", context=replied).help is not None


def test_the_question_s_own_answer_wins_when_the_answer_in_context_abstains(militias):
    replied = dataclasses.replace(militias.answer(FIRST).exchange(), replied=True)
    own = militias.answer("How far is Qasr Bin Ghashir from Tripoli?")
    abstained = militias.answer("Who won the football world cup in 2010?")
    assert abstained.abstained and not own.abstained
    for wording_refers in (True, False):
        assert not _in_context(abstained, own, replied, wording_refers)
        assert _in_context(own, abstained, replied, wording_refers)
