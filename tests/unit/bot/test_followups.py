"""Follow-up questions (issue 23): a question that leans on the last exchange is answered in
its context, with the article's own sentences; a self-contained one starts fresh."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bot.engine import Exchange
from bot.engine.followup import refers_back
from tests.support.workspace import ROOT, SEED

SEED_TEXT = SEED.read_text(encoding="utf-8").strip()
FIRST = "Who retook Tripoli International Airport?"


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
