"""One push per story, at the sender (real SQLite state, the fake Bot API, python-telegram-bot's
Bot): what happens to a later outlet when the story's push is not out yet, never arrived, or is
too long to be added to."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Bot

from bot.chat.delivery import deliver
from bot.engine import ArticleRef, PushPayload, Quote
from bot.state import State
from tests.support.fake_bot_api import FakeTelegram

CHAT = 77


def article(key: str, source: str) -> ArticleRef:
    return ArticleRef(key, f"Report {key}", source, f"https://example.org/{key}",
                      "2026-11-20")


def push(key: str, source: str, lead_text: str | None = None) -> dict:
    ref = article(key, source)
    quote = None if lead_text is None else Quote(
        lead_text, key, ref.title, source, ref.url, ref.published, 1, 0, len(lead_text), 1.0)
    payload = PushPayload("new", None, ref, quote)
    return {"chat_id": CHAT, "article_id": key, "reason": "subscription",
            "payload": payload.to_dict()}


def addition(key: str, source: str, lead: str) -> dict:
    payload = PushPayload("also", None, article(key, source), None, lead=lead)
    return {"chat_id": CHAT, "article_id": key, "reason": "story", "payload": payload.to_dict()}


@pytest.fixture()
def world(tmp_path):
    api = FakeTelegram()
    api.start()
    api.add_chat(CHAT)
    state = State(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    state.migrate()
    yield api, state
    state.close()
    api.stop()


def send(api: FakeTelegram, state: State) -> int:
    async def run() -> int:
        async with Bot(api.token, base_url=api.base_url) as bot:
            return await deliver(bot, state, digest_over=5)
    return asyncio.run(run())


def shown(api: FakeTelegram) -> list[str]:
    return [m["text"] for m in api.messages_to(CHAT)]


def test_a_later_outlet_waits_for_its_storys_push_then_is_added_to_it(world):
    api, state = world
    state.outbox.enqueue([push("a", "Al Jazeera")])
    (claimed,) = state.outbox.claim_outbox("another-replica")  # sending it, not finished
    state.outbox.enqueue([addition("b", "Anadolu Agency", lead="a")])
    assert send(api, state) == 0  # nothing to add to yet: it waits
    assert shown(api) == []
    state.outbox.finish_outbox([claimed["id"]], "pending")  # the other replica gave it back
    assert send(api, state) == 2
    (text,) = shown(api)
    assert text.startswith("🆕 New article: Report a · Al Jazeera")
    assert text.endswith("\n➕ Also: Anadolu Agency")


def test_a_later_outlet_of_a_push_that_never_arrived_is_pushed_itself(world):
    api, state = world
    state.outbox.enqueue([push("a", "Al Jazeera")])
    (claimed,) = state.outbox.claim_outbox("worker")
    state.outbox.finish_outbox([claimed["id"]], "failed")  # Telegram refused it
    state.outbox.enqueue([addition("b", "Anadolu Agency", lead="a")])
    assert send(api, state) == 1
    assert shown(api) == ["🆕 New article: Report b · Anadolu Agency · 2026-11-20"]
    state.outbox.enqueue([addition("c", "Example Wire", lead="b")])  # and it leads from now on
    send(api, state)
    assert shown(api) == ["🆕 New article: Report b · Anadolu Agency · 2026-11-20\n"
                          "➕ Also: Example Wire"]


def test_a_push_too_long_to_add_to_gets_a_reply_to_its_last_message_once(world):
    api, state = world
    state.outbox.enqueue([push("long", "Al Jazeera", lead_text="word " * 805)])  # two messages,
    send(api, state)  # the quote's one nearly full
    head, last = api.messages_to(CHAT)
    assert len(last["text"]) > 4096 - len("\n➕ Also: Anadolu Agency")
    state.outbox.enqueue([addition("b", "Anadolu Agency", lead="long")])
    assert send(api, state) == 1
    reply = api.messages_to(CHAT)[2]
    assert reply["text"] == "➕ Also on this story: Report b · Anadolu Agency · 2026-11-20"
    assert reply["reply_to"] == last["message_id"]
    assert not head.get("edited") and not last.get("edited")
    assert send(api, state) == 0 and len(api.messages_to(CHAT)) == 3  # sent once


def test_two_replicas_adding_outlets_to_one_push_at_once_leave_both_in_it(world, monkeypatch):
    api, state = world
    state.outbox.enqueue([push("a", "Al Jazeera")])
    send(api, state)
    (message,) = api.messages_to(CHAT)
    lead = state.outbox.push_message(CHAT, "a")
    state.outbox.enqueue([addition("c", "Example Wire", lead="a"),
                          addition("b", "Anadolu Agency", lead="a")])
    other, mine = state.outbox.claim_outbox("another-replica")
    state.outbox.finish_outbox([mine["id"]], "pending")  # "b" is this replica's to add
    # This replica reads the push as it was; the other one records its outlet just after.
    real, stale = state.outbox.push_message, iter([lead])
    monkeypatch.setattr(state.outbox, "push_message",
                        lambda *key: next(stale, None) or real(*key))
    assert state.outbox.replace_push_also(lead["id"], [], [other["payload"]["article"]])
    assert send(api, state) == 1  # edited in again, beside the other replica's outlet
    assert message["text"].endswith("\n➕ Also: Example Wire, Anadolu Agency")
    assert [a["source"] for a in real(CHAT, "a")["also"]] == ["Example Wire", "Anadolu Agency"]
