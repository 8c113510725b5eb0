"""Hardening of the Telegram side, end to end with the real bot process (issue 18, items 4, 7,
8, 13, 14, 17, 18, 20): one polling bot shared by most tests, one webhook bot at DEBUG."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote as percent

import httpx
import pytest

from tests.support.botproc import BotProcess, start_bot, wait_until
from tests.support.fake_bot_api import FakeTelegram
from tests.support.services import free_port
from tests.support.texts import QUESTION, answered
from tests.support.workspace import SEED, build, make_settings

ZUWARA = " ".join(f"In year {1000 + i} the harbour of Zuwara loaded {i} tonnes of olive oil "
                  f"onto ship number {i}." for i in range(1200))  # 100 KB: 25 messages before

ZUWARA_QUESTION = "How many tonnes of olive oil did the harbour of Zuwara load onto ship 700?"
HUGE_TITLE = "The ledger of the lighthouse keepers of Misrata " * 120  # 5,760 characters
MISRATA = (f"---\ntitle: {HUGE_TITLE.strip()}\nsource: Coast Review\n"
           "url: https://example.org/misrata\npublished: 2031-01-01\n---\n"
           "The lighthouse of Misrata was repainted white and red in the spring by three "
           "keepers.\n")
MISRATA_QUESTION = "Who repainted the lighthouse of Misrata?"
USER_LIMIT = 5
ALLOWED = [*range(800, 830), -801, -802]
OUTSIDE = 999
SLOW = "asking faster"


@pytest.fixture(scope="module")
def world(tmp_path_factory, encoder):
    tmp = tmp_path_factory.mktemp("hardening")
    settings = make_settings(tmp)
    settings.corpus_dir.mkdir()
    shutil.copy(SEED, settings.corpus_dir / SEED.name)
    (settings.corpus_dir / "zuwara.md").write_text(
        "---\ntitle: Zuwara harbour ledger\nsource: Port Archive\n"
        "url: https://example.org/zuwara\n---\n"
        f"The harbour of Zuwara kept a ledger of olive oil shipments for centuries.\n\n{ZUWARA}\n",
        encoding="utf-8")
    build(settings, encoder)
    api = FakeTelegram()
    api.start()
    for group in (-801, -802):
        api.add_chat(group, "supergroup", f"Group {group}")
    bot = start_bot(api, settings, {
        "USER_QUESTIONS_PER_MINUTE": str(USER_LIMIT), "PUSH_INTERVAL_SECONDS": "0.5",
        "ALLOWED_CHAT_IDS": str(ALLOWED)})
    yield api, settings, bot
    bot.stop()
    api.stop()


def ask(api: FakeTelegram, chat: int, text: str, user: int | None = None, **kwargs) -> dict:
    """Send a message; returns the bot's first reply to it."""
    sent = api.user_message(chat, text, user_id=user or chat, **kwargs)
    return api.wait_for(lambda m: m["chat"]["id"] == chat and m["message_id"] > sent["message_id"],
                        timeout=60)[0]


def buttons(message: dict) -> dict[str, str]:
    """The bot's own buttons (callback data) by label; Share, Copy and Link act in the app."""
    return {b["text"]: b["callback_data"] for row in message["reply_markup"]["inline_keyboard"]
            for b in row if "callback_data" in b}


def feedback_rows(settings, answer_id: int) -> int:
    db = sqlite3.connect(Path(settings.data_dir) / "state.sqlite3")
    try:
        return db.execute("SELECT count(*) FROM feedback WHERE answer_id = ?",
                          (answer_id,)).fetchone()[0]
    finally:
        db.close()


def test_buttons_act_only_in_the_chat_of_their_answer(world):
    """Item 4: a user of chat B replaying chat A's button data learns and changes nothing."""
    api, settings, _ = world
    theirs = ask(api, 800, QUESTION)
    assert "26 km" in theirs["text"]
    data = buttons(theirs)
    answer_id = int(data["👍"].split(":")[1])
    mine = ask(api, 801, "/help")
    before = len(api.messages_to(801))
    for label in ("Full paragraph", "👍"):
        press = api.press_button(mine, data[label], user_id=801)
        assert "no longer available" in api.answer_to(press).get("text", "")
    time.sleep(2)
    assert len(api.messages_to(801)) == before, "chat A's quote was sent to chat B"
    assert feedback_rows(settings, answer_id) == 0
    # In its own chat the button still works.
    press = api.press_button(theirs, data["👍"], user_id=800)
    assert "Thanks" in api.answer_to(press).get("text", "")
    wait_until(lambda: feedback_rows(settings, answer_id) == 1, 30)


def test_full_paragraph_of_a_huge_paragraph_is_capped_and_the_bot_stays_responsive(world):
    """Item 7: one press sends at most 3 pages and a note; others are answered meanwhile."""
    api, _, _ = world
    reply = ask(api, 802, ZUWARA_QUESTION)
    assert "Zuwara" in reply["text"], reply["text"]
    before = len(api.messages_to(802))
    api.press_button(reply, buttons(reply)["Full paragraph"], user_id=802)
    other = api.user_message(803, QUESTION, user_id=803)
    # The other user is answered too, the press's pages notwithstanding. No wall-clock bound:
    # on a loaded machine both are slow; latency under load is benchmarks.load's to measure.
    wait_until(lambda: answered(api, 803), 120, "another user's question waited on the press")
    assert other
    note = api.wait_for(lambda m: m["chat"]["id"] == 802 and "continues" in m["text"], 60)[0]
    time.sleep(3)
    sent = api.messages_to(802)[before:]
    assert len(sent) <= 4, f"{len(sent)} messages for one press"
    quoted = " ".join(m["text"] for m in sent if m is not note).split()
    assert quoted == ZUWARA.split()[:len(quoted)], "the pages are not the paragraph's start"
    assert "paragraph 2" in note["text"] and "Zuwara harbour ledger" in note["text"]
    assert "more messages" in note["text"]


def test_button_presses_count_in_the_rate_limit(world):
    """Item 7: presses beyond the user's limit are answered with the slow-down line only."""
    api, _, _ = world
    reply = ask(api, 804, QUESTION)
    before = len(api.messages_to(804))
    presses = [api.press_button(reply, buttons(reply)["Full paragraph"], user_id=804)
               for _ in range(USER_LIMIT + 2)]
    answers = [api.answer_to(p).get("text") or "" for p in presses]
    time.sleep(2)
    shown = len(api.messages_to(804)) - before
    assert shown == USER_LIMIT - 1, f"{shown} paragraphs sent"  # the question counted too
    assert sum(SLOW in a for a in answers) == 3, answers


def test_huge_title_article_is_pushed_answered_and_listed(world, encoder):
    """Item 8: a title over 4,096 UTF-16 units is shortened; answer, push and /latest arrive."""
    api, settings, _ = world
    assert "Subscribed" in ask(api, 805, "/subscribe")["text"]
    (settings.corpus_dir / "misrata.md").write_text(MISRATA, encoding="utf-8")
    build(settings, encoder)
    push = api.wait_for(lambda m: m["chat"]["id"] == 805 and "New article" in m["text"], 60)[0]
    assert "The ledger of the lighthouse keepers" in push["text"] and "…" in push["text"]
    assert "repainted white and red" in push["text"]
    reply = ask(api, 806, MISRATA_QUESTION)
    assert "The lighthouse of Misrata was repainted white and red" in reply["text"]
    assert "…" in reply["text"] and "Sorry" not in reply["text"]
    latest = ask(api, 807, "/latest 3")
    assert "The ledger of the lighthouse keepers" in latest["text"] and "…" in latest["text"]


def test_latest_with_a_superscript_digit_lists_articles(world):
    """Item 20: `/latest ²` (str.isdigit accepts it, int() does not) is a normal /latest."""
    api, _, _ = world
    reply = ask(api, 808, "/latest ²")
    assert "Sorry" not in reply["text"] and "tripoli-airport" in reply["text"], reply["text"]


def test_anonymous_admins_of_different_groups_have_their_own_limits(world):
    """Item 14: the GroupAnonymousBot sender is keyed by its sender_chat, not shared."""
    api, _, _ = world
    for _ in range(USER_LIMIT):
        api.user_message(-801, f"/ask {QUESTION}", sender_chat=True)
    wait_until(lambda: len(answered(api, -801)) == USER_LIMIT, 90)
    reply = ask(api, -802, f"/ask {QUESTION}", sender_chat=True)
    assert "26 km" in reply["text"], reply["text"]
    api.user_message(-801, f"/ask {QUESTION}", sender_chat=True)
    api.wait_for(lambda m: m["chat"]["id"] == -801 and SLOW in m["text"], 30)


def test_allowlist_refuses_updates_without_a_chat_and_answers_presses_only(world):
    """Item 13: inline queries, buttons on inline messages, and buttons outside the allowlist."""
    api, settings, _ = world
    reply = ask(api, 809, QUESTION)
    answer_id = int(buttons(reply)["👍"].split(":")[1])
    inline = api.inline_query("Tripoli airport", user_id=OUTSIDE)
    press = api.press_button(None, f"f:{answer_id}:-1", user_id=OUTSIDE)
    assert "private" in api.answer_to(press).get("text", "")
    wait_until(lambda: any(a["inline_query_id"] == inline for a in api.inline_answers), 30,
               "the inline query got no answer")
    assert all(a["results"] == [] for a in api.inline_answers)
    assert feedback_rows(settings, answer_id) == 0
    refusal = ask(api, OUTSIDE, QUESTION)
    assert "private" in refusal["text"]
    before = len(api.messages_to(OUTSIDE))
    press = api.press_button(refusal, f"p:{answer_id}:0", user_id=OUTSIDE)
    assert "private" in api.answer_to(press).get("text", "")
    time.sleep(2)
    assert len(api.messages_to(OUTSIDE)) == before, "a press outside got a new message"


def test_transient_failure_is_retried_and_a_permanent_one_told_once(world):
    """Item 17: a 500 on answering a press is retried (the paragraph comes once); a refusal
    is told to the user once; retries are bounded."""
    api, _, _ = world
    reply = ask(api, 810, QUESTION)
    paragraph = SEED.read_text(encoding="utf-8").split("\n\n")[10].strip()
    api.fail_next("answerCallbackQuery", 500)
    api.press_button(reply, buttons(reply)["Full paragraph"], user_id=810)

    def shown() -> list[dict]:  # the answer itself folds the paragraph under its quote
        return [m for m in api.messages_to(810)
                if paragraph in m["text"] and m["message_id"] != reply["message_id"]]
    api.wait_for(lambda m: bool(shown()), 60)
    time.sleep(2)
    assert len(shown()) == 1
    assert not [m for m in api.messages_to(810) if "Sorry" in m["text"]]

    api.fail_next("sendMessage", 400, description="Bad Request: chat is being moved")
    api.user_message(811, QUESTION, user_id=811)
    api.wait_for(lambda m: m["chat"]["id"] == 811 and "Sorry" in m["text"], 60)
    for _ in range(4):
        api.fail_next("answerCallbackQuery", 500)
    api.press_button(reply, buttons(reply)["Full paragraph"], user_id=810)
    api.wait_for(lambda m: m["chat"]["id"] == 810 and "Sorry" in m["text"], 60)
    time.sleep(8)
    assert len([m for m in api.messages_to(811) if "Sorry" in m["text"]]) == 1
    assert not answered(api, 811)
    assert len([m for m in api.messages_to(810) if "Sorry" in m["text"]]) == 1
    api.failures.clear()


def test_debug_log_of_a_webhook_bot_holds_no_token_and_no_secret(seed_settings, tmp_path):
    """Items 18 and 20: at DEBUG in webhook mode (with the token in the webhook path, as
    python-telegram-bot's examples do) nothing secret is logged; /healthz shows no host."""
    api = FakeTelegram()
    api.start()
    port = free_port()
    secret = "hook-secret-4f9a7c2e1b"
    url = f"http://127.0.0.1:{port}/hook/{percent(api.token, safe='')}"
    settings = seed_settings.model_copy(update={"data_dir": tmp_path / "data"})
    bot = BotProcess(api, settings, {"TELEGRAM_WEBHOOK_URL": url, "LOG_LEVEL": "DEBUG",
                                     "TELEGRAM_WEBHOOK_PORT": str(port),
                                     "TELEGRAM_WEBHOOK_SECRET": secret})
    try:
        wait_until(lambda: api.webhook is not None, 120, "the bot did not set its webhook")
        api.user_message(900, QUESTION, user_id=900)
        wait_until(lambda: answered(api, 900), 60)
        encoded = percent(api.token, safe="")
        api.fail_next("sendMessage", 400,
                      description=f"Bad Request: wrong url /bot{api.token}/ or /bot{encoded}/")
        api.user_message(901, QUESTION, user_id=901)
        api.wait_for(lambda m: m["chat"]["id"] == 901 and "Sorry" in m["text"], 60)
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert health.status_code == 200 and health.json()["database"] is True
        assert "worker" not in health.json() and bot.process.pid not in health.json().values()
    finally:
        bot.stop()
        api.stop()
    log = bot.log.read_text()
    assert "setWebhook" in log and "Traceback" in log  # DEBUG lines and a traceback were kept
    # python-telegram-bot lowercases Telegram's error descriptions ("Bad Request: ..."), so
    # the token can appear in lower case too.
    for leaked in (api.token, encoded, secret, api.token.split(":")[1]):
        assert leaked.lower() not in log.lower(), leaked
