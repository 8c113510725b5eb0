"""Security, end to end: rate limits, admin checks by id, privacy commands, allowlist."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from tests.support.botproc import start_bot, wait_until
from tests.support.fake_bot_api import FakeTelegram
from tests.support.texts import QUESTION, answered

ADMIN = 4242


@pytest.fixture(scope="module")
def secured(seed_settings, tmp_path_factory):
    api = FakeTelegram()
    api.start()
    settings = seed_settings.model_copy(
        update={"data_dir": tmp_path_factory.mktemp("secure") / "data"})
    bot = start_bot(api, settings, {"ADMIN_IDS": str(ADMIN), "USER_QUESTIONS_PER_MINUTE": "3",
                                "ALLOWED_CHAT_IDS": "[601, 602, 603, 604, 605, 4242]"})
    yield api, settings, bot
    bot.stop()
    api.stop()


def test_flood_from_one_user_is_limited_without_slowing_others(secured):
    api, _, _ = secured
    for _ in range(6):
        api.user_message(601, QUESTION, user_id=601)
    api.user_message(602, QUESTION, user_id=602)
    wait_until(lambda: answered(api, 602), 60)
    wait_until(lambda: len(answered(api, 601)) == 3, 60)
    time.sleep(2)
    texts = [m["text"] for m in api.messages_to(601)]
    assert len(answered(api, 601)) == 3
    assert sum("asking faster" in t for t in texts) == 1, texts


def test_admin_commands_go_by_user_id_not_by_name(secured):
    api, _, bot = secured
    api.user_message(603, "/stats", user_id=603, first_name="Maintainer", username="admin")
    refusal = api.wait_for(lambda m: m["chat"]["id"] == 603)
    assert "for the bot's maintainers" in refusal[0]["text"]
    api.add_chat(ADMIN)
    api.user_message(ADMIN, "/stats", user_id=ADMIN)
    stats = api.wait_for(lambda m: m["chat"]["id"] == ADMIN)
    assert "Questions answered" in stats[0]["text"]
    assert "admin command refused for user 603" in bot.log.read_text()


def test_outside_the_allowlist_one_line_and_nothing_else(secured):
    api, settings, _ = secured
    api.user_message(999, QUESTION, user_id=999)
    (reply,) = api.wait_for(lambda m: m["chat"]["id"] == 999)
    assert "private" in reply["text"] and "26 km" not in reply["text"]
    db = sqlite3.connect(Path(settings.data_dir) / "state.sqlite3")
    assert db.execute("SELECT count(*) FROM answers WHERE chat_id = 999").fetchone() == (0,)


def test_privacy_and_forget(secured):
    api, settings, _ = secured
    api.user_message(604, "/privacy", user_id=604)
    privacy = api.wait_for(lambda m: m["chat"]["id"] == 604)
    assert "deleted after 30 days" in privacy[0]["text"]
    api.user_message(605, QUESTION, user_id=605)
    wait_until(lambda: answered(api, 605), 60)
    reply = answered(api, 605)[0]
    up = next(b for row in reply["reply_markup"]["inline_keyboard"] for b in row
              if b["text"] == "👍")
    api.press_button(reply, up["callback_data"], user_id=605)
    api.user_message(605, "/subscribe", user_id=605)
    api.wait_for(lambda m: m["chat"]["id"] == 605 and "Subscribed" in m["text"])
    db = sqlite3.connect(Path(settings.data_dir) / "state.sqlite3")
    wait_until(lambda: db.execute("SELECT count(*) FROM feedback WHERE user_id = 605")
               .fetchone() == (1,), 30)
    api.user_message(605, "/forget", user_id=605)
    api.wait_for(lambda m: m["chat"]["id"] == 605 and "were deleted" in m["text"])
    for table, column in (("answers", "user_id"), ("feedback", "user_id"),
                          ("subscriptions", "chat_id")):
        count = db.execute(f"SELECT count(*) FROM {table} WHERE {column} = 605").fetchone()
        assert count == (0,), table
