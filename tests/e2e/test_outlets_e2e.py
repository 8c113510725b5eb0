"""Outlets in Telegram (real bot process, fake Bot API): an answer with "Also reported by",
its "Compare outlets" button, and /compare with a flagged number."""

from __future__ import annotations

import pytest

from tests.support.botproc import start_bot
from tests.support.outlets import load_fixture, write_corpus
from tests.support.workspace import build, make_settings


@pytest.fixture(scope="module")
def outlets_bot(api, tmp_path_factory, encoder):
    settings = make_settings(tmp_path_factory.mktemp("outlets-bot"))
    write_corpus(load_fixture()["articles"], settings.corpus_dir)
    build(settings, encoder)
    bot = start_bot(api, settings)
    yield bot
    bot.stop()


def _say(api, chat: int, text: str) -> dict:
    before = len(api.messages_to(chat))
    api.user_message(chat, text, user_id=chat)
    return api.wait_for(lambda m: m["chat"]["id"] == chat
                        and len(api.messages_to(chat)) > before, timeout=60)[before]


def test_also_reported_and_the_compare_button(api, outlets_bot):
    chat = 5100
    reply = _say(api, chat, "How many bodies were recovered after the airport was retaken?")
    assert "48 bodies" in reply["text"]
    assert "Also reported by:\n• Example Wire: “A government spokesman said at least 45 bodies" \
        in reply["text"]
    (compare,) = [b for row in reply["reply_markup"]["inline_keyboard"] for b in row
                  if b["text"] == "Compare outlets"]
    before = len(api.messages_to(chat))
    api.press_button(reply, compare["callback_data"], user_id=chat)
    shown = api.wait_for(lambda m: m["chat"]["id"] == chat
                         and len(api.messages_to(chat)) > before, timeout=60)[before]
    assert shown["text"].startswith("Each outlet in its own words:")
    assert "Numbers differ: 48 (Al Jazeera) / at least 45 (Example Wire)" in shown["text"]


def test_compare_command_flags_a_number(api, outlets_bot):
    reply = _say(api, 5101, "/compare How many fighters were killed at the airport?")
    assert reply["text"].startswith("Each outlet in its own words:")
    assert "Numbers differ: More than 40 (Anadolu Agency) / 48 (Al Jazeera)" in reply["text"]
    assert "More than 40 fighters were killed in the clashes around the airport" in \
        reply["text"]
