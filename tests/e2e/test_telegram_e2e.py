"""End to end: the real bot process (`python -m bot`) against the fake Bot API on 127.0.0.1."""

from __future__ import annotations

import itertools
import sqlite3
import time
from pathlib import Path

from tests.support.workspace import SEED

SEED_TEXT = SEED.read_text(encoding="utf-8").strip()
chat_ids = itertools.count(5000)


def ask_private(api, text, **kwargs):
    chat = next(chat_ids)
    sent = api.user_message(chat, text, user_id=chat, **kwargs)
    replies = api.wait_for(lambda m: m["chat"]["id"] == chat, timeout=60)
    return chat, sent, replies


def test_private_question_gets_verbatim_quote_with_attribution(bot, api):
    _, _, replies = ask_private(api, "How far is Qasr Bin Ghashir from Tripoli?")
    first = replies[0]
    assert first["parse_mode"] == "HTML"
    assert first["link_preview_options"] == {"is_disabled": True}
    sentence = next(s for s in SEED_TEXT.split("\n\n")[10].split(". ") if "26 km" in s)
    assert sentence in first["text"]
    assert "<blockquote>The Qasr Bin Ghashir area is about 26 km" in first["html"]
    assert "tripoli-airport · paragraph 11" in first["text"]
    buttons = [b["text"] for row in first["reply_markup"]["inline_keyboard"] for b in row]
    assert {"Full paragraph", "👍", "👎"} <= set(buttons)


def test_off_corpus_question_abstains_with_article_buttons(bot, api):
    chat, _, replies = ask_private(api, "Who won the football world cup in 2010?")
    assert "The articles do not answer that." in replies[0]["text"]
    (button,) = [b for row in replies[0]["reply_markup"]["inline_keyboard"] for b in row]
    assert "tripoli-airport" in button["text"]
    api.press_button(replies[0], button["callback_data"], user_id=chat)
    lead = api.wait_for(lambda m: m["chat"]["id"] == chat and len(api.messages_to(chat)) > 1
                        and m is api.messages_to(chat)[-1])
    assert SEED_TEXT.split("\n\n")[0] in lead[0]["text"]


def test_full_paragraph_button_and_feedback_is_stored(bot, api, seed_settings):
    chat, _, replies = ask_private(api, "How far is Qasr Bin Ghashir from Tripoli?")
    keyboard = replies[0]["reply_markup"]["inline_keyboard"]
    full = next(b for row in keyboard for b in row if b["text"] == "Full paragraph")
    api.press_button(replies[0], full["callback_data"], user_id=chat)
    paragraph = SEED_TEXT.split("\n\n")[10]
    shown = api.wait_for(lambda m: m["chat"]["id"] == chat and paragraph in m["text"])
    assert "paragraph 11" in shown[0]["text"]

    up = next(b for row in keyboard for b in row if b["text"] == "👍")
    callback_id = api.press_button(replies[0], up["callback_data"], user_id=chat)
    deadline = time.monotonic() + 30
    while not any(a.get("callback_query_id") == callback_id for a in api.callback_answers):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    db = sqlite3.connect(Path(seed_settings.data_dir) / "state.sqlite3")
    rows = db.execute("SELECT f.user_id, f.verdict, a.question, a.quotes FROM feedback f "
                      "JOIN answers a ON a.id = f.answer_id WHERE f.user_id = ?",
                      (chat,)).fetchall()
    assert len(rows) == 1 and rows[0][1] == 1
    assert rows[0][2] == "How far is Qasr Bin Ghashir from Tripoli?"
    assert "passage_id" in rows[0][3]


def test_group_is_silent_unless_addressed_and_replies_in_thread(bot, api):
    group = next(chat_ids) * -1
    api.add_chat(group, "supergroup", "News group", is_forum=True)
    ignored = api.user_message(group, "Who retook Tripoli International Airport?", thread_id=3)
    asked = api.user_message(group, "/ask Who retook Tripoli International Airport?",
                             thread_id=3)
    api.wait_for(lambda m: m["chat"]["id"] == group and m["reply_to"] == asked["message_id"])
    mention = api.user_message(group, "@VerbatimTestBot how far is Qasr Bin Ghashir from Tripoli?",
                               entities=[{"type": "mention", "offset": 0, "length": 16}],
                               thread_id=3)
    by_mention = api.wait_for(lambda m: m["reply_to"] == mention["message_id"]
                              and m["chat"]["id"] == group)
    assert "26 km" in by_mention[0]["text"]
    bot_message = {k: by_mention[0][k] for k in ("message_id", "date", "chat", "from", "text")}
    follow_up = api.user_message(group, "And who is Lavrov?", reply_to=bot_message, thread_id=3)
    by_reply = api.wait_for(lambda m: m["reply_to"] == follow_up["message_id"]
                            and m["chat"]["id"] == group)
    assert "Lavrov" in by_reply[0]["text"]
    for message in api.messages_to(group):
        assert message["message_thread_id"] == 3
        assert message["reply_to"] != ignored["message_id"]


def test_sticker_gets_a_polite_line(bot, api):
    chat = next(chat_ids)
    api.user_message(chat, sticker=True, user_id=chat)
    (reply,) = api.wait_for(lambda m: m["chat"]["id"] == chat)
    assert "only read text" in reply["text"]


def test_commands_and_limits(bot, api):
    assert {c["command"] for c in api.commands} >= {"ask", "help", "about", "start"}
    _, _, start = ask_private(api, "/start")
    assert "What do the articles say about" in start[0]["text"]
    _, _, about = ask_private(api, "/about")
    assert "1 article, 29 passages" in about[0]["text"]
    assert "all-MiniLM-L6-v2" in about[0]["text"]
    _, _, empty = ask_private(api, "/ask")
    assert "Ask a question after /ask" in empty[0]["text"]
    _, _, long = ask_private(api, "why " * 400)
    assert "too long" in long[0]["text"] and "1000" in long[0]["text"]
    _, _, hostile = ask_private(api, "</blockquote><b>Who retook the airport?</b> & <a href=x>")
    assert hostile[0]["text"]


def test_edited_message_is_answered_again(bot, api):
    chat = next(chat_ids)
    sent = api.user_message(chat, "hello there", user_id=chat)
    api.wait_for(lambda m: m["chat"]["id"] == chat)
    with api.lock:
        api._push({"edited_message": {**sent, "text": "How far is Qasr Bin Ghashir from Tripoli?",
                                      "edit_date": int(time.time())}})
    api.wait_for(lambda m: m["chat"]["id"] == chat and "26 km" in m["text"])


def test_token_never_in_logs(bot, api):
    ask_private(api, "Who retook Tripoli International Airport?")
    log = bot.log.read_text()
    assert "/bot<token>/getUpdates" in log  # httpx logs request URLs at DEBUG: redacted
    assert api.token not in log
