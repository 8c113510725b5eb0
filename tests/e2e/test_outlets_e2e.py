"""Outlets in Telegram (real bot process, fake Bot API): an answer with "Also reported by",
its "Compare outlets" button, /compare with a flagged number, and one push per story with its
later outlets added to it."""

from __future__ import annotations

import time

import pytest

from tests.support.botproc import start_bot, wait_until
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


SUBSCRIBER, GROUP, ADMIN = 5200, -5300, 5301
LATER = {"aljazeera/airport", "anadolu/airport", "wire/airport", "aljazeera/talks",
         "anadolu/talks", "wire/flood", "courier/flood", "wire/museum", "courier/museum",
         "courier/port", "business/port", "wire/port-strike"}


def _add(settings, encoder, articles, ids):
    write_corpus([a for a in articles if a["id"] in ids], settings.corpus_dir)
    build(settings, encoder)


def _pushes(api, chat):
    return [m for m in api.messages_to(chat) if m["text"].startswith(("🆕", "➕"))]


def test_a_story_is_pushed_once_with_its_later_outlets_added(api, tmp_path_factory, encoder):
    articles = load_fixture()["articles"]
    settings = make_settings(tmp_path_factory.mktemp("story-pushes"))
    _add(settings, encoder, articles, {a["id"] for a in articles} - LATER)
    api.add_chat(GROUP, "supergroup", "Newsroom", admins=(ADMIN,))
    bot = start_bot(api, settings, {"PUSH_INTERVAL_SECONDS": "0.5", "PUSH_DIGEST_OVER": "3"})
    try:
        assert "Subscribed" in _say(api, SUBSCRIBER, "/subscribe")["text"]
        api.user_message(GROUP, "/subscribe", user_id=ADMIN)
        api.wait_for(lambda m: m["chat"]["id"] == GROUP and "Subscribed" in m["text"])

        # The first outlet's report is pushed as it arrives.
        _add(settings, encoder, articles, {"aljazeera/airport"})
        for chat in (SUBSCRIBER, GROUP):
            wait_until(lambda c=chat: len(_pushes(api, c)) == 1, 60, "first report not pushed")
        (push,) = _pushes(api, SUBSCRIBER)
        assert push["text"].startswith("🆕 New article: Government forces retake Tripoli airport")

        # A second outlet: the same message gains "Also: Anadolu Agency"; nothing new arrives.
        _add(settings, encoder, articles, {"anadolu/airport"})
        wait_until(lambda: push.get("edited"), 60, "the push was not edited")
        assert push["text"].endswith("\n➕ Also: Anadolu Agency")
        assert push["text"].startswith("🆕 New article: Government forces retake Tripoli airport")
        (group_push,) = _pushes(api, GROUP)
        wait_until(lambda: group_push.get("edited"), 30, "the group's push was not edited")

        # The group deleted its push: a third outlet comes as a short reply there, and is
        # added to the subscriber's message beside the second.
        api.delete_by_user(GROUP, group_push["message_id"])
        _add(settings, encoder, articles, {"wire/airport"})
        wait_until(lambda: "Example Wire" in push["text"], 60, "the third outlet not added")
        assert push["text"].endswith("\n➕ Also: Anadolu Agency, Example Wire")
        follow_up = api.wait_for(lambda m: m["chat"]["id"] == GROUP
                                 and m["text"].startswith("➕ Also on this story:"))[0]
        assert "Tripoli airport changes hands again · Example Wire" in follow_up["text"]
        assert follow_up["reply_to"] == group_push["message_id"]
        assert len(_pushes(api, SUBSCRIBER)) == 1

        # Two outlets of one event arriving together: one push, the other outlet under it.
        _add(settings, encoder, articles, {"aljazeera/talks", "anadolu/talks"})
        wait_until(lambda: len(_pushes(api, SUBSCRIBER)) == 2, 60, "talks not pushed")
        talks = _pushes(api, SUBSCRIBER)[1]["text"]
        assert talks.startswith("🆕 New article: Libya ceasefire talks resume in Geneva")
        assert talks.endswith("\n➕ Also: Anadolu Agency")

        # Many at once: a digest, one line per story with its other outlets.
        _add(settings, encoder, articles, {"wire/flood", "courier/flood", "wire/museum",
                                          "courier/museum", "courier/port", "business/port",
                                          "wire/port-strike"})
        digest = api.wait_for(lambda m: m["chat"]["id"] == SUBSCRIBER
                              and "new articles:" in m["text"], timeout=60)[0]["text"]
        assert digest.startswith("🆕 4 new articles:")
        lines = digest.splitlines()[1:]
        assert len(lines) == 4, digest
        # (the flood's two reports are of one day: the first indexed leads)
        assert any("Ardent valley flood: thousands evacuated" in line
                   and line.endswith("— also: Example Wire") for line in lines), digest
        assert any("Kessel port sets container record" in line
                   and line.endswith("— also: Harbour Business") for line in lines), digest
        assert not any("Rescuers reach villages cut off by floods" in line for line in lines)
        assert any(line.endswith("Dock workers strike at Kessel port · Example Wire · "
                                 "2026-11-10") for line in lines), digest  # a near miss
        time.sleep(2)  # nothing else follows for the stories in the digest
        assert len(_pushes(api, SUBSCRIBER)) == 3
    finally:
        bot.stop()
