"""End to end (issue 23): follow-up questions against the real bot process: a reply to an
answer in a group topic, a private follow-up within and past FOLLOWUP_MINUTES, /new, and
/forget taking the exchange with it; a reply whose question names its own subject (issue 35)."""

from __future__ import annotations

import itertools
import time

import pytest

from tests.support.botproc import start_bot

FIRST = "Who retook Tripoli International Airport?"
FOLLOW_UP = "Where did they flee?"
FOLLOWING = f"Following up on: {FIRST}"
WINDOW_SECONDS = 6
chat_ids = itertools.count(9300)


@pytest.fixture(scope="module")
def bot(api, militias_settings):
    """The bot over the seed article, an airfield story whose militia fled elsewhere and a
    museum story."""
    process = start_bot(api, militias_settings,
                        {"FOLLOWUP_MINUTES": str(WINDOW_SECONDS / 60)})
    yield process
    process.stop()


def say(api, chat, text, **kwargs):
    """A user's message, and the bot's first message after it in that chat."""
    before = len(api.messages_to(chat))
    api.user_message(chat, text, user_id=kwargs.pop("user_id", chat), **kwargs)
    replies = api.wait_for(lambda m: m["chat"]["id"] == chat
                           and len(api.messages_to(chat)) > before, timeout=60)
    return replies[before]


def test_a_private_follow_up_within_the_window_is_answered_in_context(bot, api):
    chat = next(chat_ids)
    assert "Tripoli International Airport" in say(api, chat, FIRST)["text"]
    followed = say(api, chat, FOLLOW_UP)
    assert followed["text"].startswith(FOLLOWING)
    assert "Qasr Bin Ghashir" in followed["text"]


def test_past_the_window_or_after_new_a_question_starts_fresh(bot, api):
    late, fresh = next(chat_ids), next(chat_ids)
    say(api, late, FIRST)
    say(api, fresh, FIRST)
    assert say(api, fresh, "/new")["text"].startswith("New conversation")
    assert not say(api, fresh, FOLLOW_UP)["text"].startswith("Following up on")
    time.sleep(WINDOW_SECONDS + 1)
    assert not say(api, late, FOLLOW_UP)["text"].startswith("Following up on")


def test_forget_takes_the_exchange_with_it(bot, api):
    chat = next(chat_ids)
    say(api, chat, FIRST)
    assert "deleted" in say(api, chat, "/forget")["text"]
    assert not say(api, chat, FOLLOW_UP)["text"].startswith("Following up on")


def test_a_reply_to_an_answer_in_a_group_topic_follows_it_up(bot, api):
    group = -next(chat_ids)
    api.add_chat(group, "supergroup", "Newsroom", is_forum=True)
    answer = say(api, group, f"/ask {FIRST}", user_id=71, thread_id=5)
    assert answer["reply_markup"], "an answer carries its buttons"
    replied = {k: answer[k] for k in ("message_id", "date", "chat", "from", "text",
                                      "reply_markup")}
    followed = say(api, group, FOLLOW_UP, user_id=72, reply_to=replied, thread_id=5)
    assert followed["text"].startswith(FOLLOWING) and "Qasr Bin Ghashir" in followed["text"]
    assert followed["message_thread_id"] == 5
    # a question in the group that replies to nothing is not a follow-up, however soon
    plain = say(api, group, f"/ask {FOLLOW_UP}", user_id=71, thread_id=5)
    assert not plain["text"].startswith("Following up on")


def _answered(api, group, user_id):
    """The bot's answer to FIRST in a group, as a reply to it carries it."""
    answer = say(api, group, f"/ask {FIRST}", user_id=user_id)
    assert "Tripoli International Airport" in answer["text"] and answer["reply_markup"]
    return {k: answer[k] for k in ("message_id", "date", "chat", "from", "text",
                                   "reply_markup")}


def test_a_reply_naming_its_own_subject_still_follows_up_the_answer(bot, api):
    """Issue 35: "Where did the militia flee to?" replying to the answer about Tripoli
    airport is about that airport's militia, not the airfield story's."""
    group = -next(chat_ids)
    api.add_chat(group, "supergroup", "Desk")
    replied = _answered(api, group, 81)
    followed = say(api, group, "Where did the militia flee to?", user_id=82, reply_to=replied)
    assert followed["text"].startswith(FOLLOWING) and "Qasr Bin Ghashir" in followed["text"]
    assert "Oskar Ridge" not in followed["text"]
    # a reply asking what the answered article never mentions gets its own answer
    other = say(api, group, "Who is the museum's director?", user_id=82,
                reply_to=_answered(api, group, 81))
    assert not other["text"].startswith("Following up on")
    assert "museum's director" in other["text"]
