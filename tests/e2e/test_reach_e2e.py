"""Verbatim in every chat, against the fake Bot API server with the real bot process: inline
quote cards and the message a chosen card posts, guest mode, links to a quote (/start q_<id>)
with the Share / Copy / Link buttons, the paragraph folded under a quote, the welcome when
added to a group and the leaving recorded, group and private menus, and a reaction stored as
feedback."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

from bot.state import State
from tests.support.botproc import wait_until
from tests.support.texts import QUESTION

CLAIM = "Qasr Bin Ghashir is 26 km from Tripoli"


def _say(api, chat: int, text: str, user: int | None = None) -> dict:
    """A user's message, and the bot's first message after it in that chat."""
    before = len(api.messages_to(chat))
    api.user_message(chat, text, user_id=user or chat)
    return api.wait_for(lambda m: m["chat"]["id"] == chat
                        and len(api.messages_to(chat)) > before, timeout=60)[before]


def _buttons(message: dict) -> dict[str, dict]:
    return {b["text"]: b for row in message["reply_markup"]["inline_keyboard"] for b in row}


def test_inline_cards_and_the_message_a_chosen_card_posts(api, bot):
    query_id = api.inline_query(QUESTION, user_id=501)
    answer = api.inline_answer(query_id)
    results = answer["results"]
    assert 1 <= len(results) <= 5
    assert answer["is_personal"] is True and answer["cache_time"] == 300
    first = results[0]
    assert first["title"] == "tripoli-airport"
    assert "26 km" in first["description"] or "26 km" in first["input_message_content"][
        "message_text"]
    posted = api.choose_inline_result(query_id, first["id"], chat_id=-4100, user_id=501)
    assert posted["via_bot"]["username"] == api.username
    assert "The Qasr Bin Ghashir area is about 26 km from Tripoli" in posted["text"]
    assert "— tripoli-airport · paragraph 11" in posted["text"]
    assert "<blockquote>" in posted["html"]
    # Empty or small talk: the example questions, each with an "Ask this" button.
    for text in ("", "hello"):
        examples = api.inline_answer(api.inline_query(text, user_id=502))["results"]
        assert examples and all(r["title"].startswith("Try: ") for r in examples)
        button = examples[0]["reply_markup"]["inline_keyboard"][0][0]
        assert button["switch_inline_query_current_chat"] == examples[0]["title"][5:]
    # Not answered: one card that says so.
    (none,) = api.inline_answer(api.inline_query("Who won the football world cup in 2010?",
                                                 user_id=503))["results"]
    assert none["title"] == "The articles do not answer that"


def test_guest_mention_answers_in_place_from_the_replied_claim(api, bot):
    claim = {"message_id": 7, "date": int(time.time()), "text": CLAIM,
             "chat": {"id": -4200, "type": "supergroup", "title": "Elsewhere"},
             "from": {"id": 777, "is_bot": False, "first_name": "Claimant"}}
    query_id = api.guest_message(-4200, f"@{api.username} is this true?", user_id=504,
                                 reply_to=claim)
    result = api.guest_answer(query_id)["result"]
    assert "about 26 km from Tripoli" in result["input_message_content"]["message_text"]
    own = api.guest_message(-4201, f"@{api.username} {QUESTION}", user_id=505)
    assert "26 km" in api.guest_answer(own)["result"]["input_message_content"]["message_text"]


def test_a_link_to_a_quote_opens_it_and_the_share_and_copy_buttons(api, bot):
    chat = 4300
    reply = _say(api, chat, QUESTION)
    # The quote's whole paragraph folded under it (Telegram's expandable blockquote).
    folded = reply["html"].split("<blockquote expandable>", 1)[1].split("</blockquote>")[0]
    assert "The Qasr Bin Ghashir area is about 26 km from Tripoli" in folded
    assert len(folded) > len("The Qasr Bin Ghashir area is about 26 km from Tripoli, ") * 3
    buttons = _buttons(reply)
    assert buttons["Share"]["switch_inline_query"] == QUESTION
    copy = buttons["Copy"]["copy_text"]["text"]
    link = buttons["Link"]["url"]
    assert len(copy) <= 256 and copy.startswith("tripoli-airport · paragraph 11")
    assert copy.endswith(link) and link.startswith(f"https://t.me/{api.username}?start=q_")
    start = parse_qs(urlparse(link).query)["start"][0]
    # Someone else opens the link: the bot shows that quote with its attribution.
    opened = _say(api, 4301, f"/start {start}")
    assert "The Qasr Bin Ghashir area is about 26 km from Tripoli" in opened["text"]
    assert "— tripoli-airport · paragraph 11" in opened["text"]
    gone = _say(api, 4301, "/start q_AAAAAAAAAAAA")
    assert gone["text"].startswith("This quote link has expired")


def test_welcome_on_joining_a_group_and_the_leaving_recorded(api, bot, seed_settings):
    group = -4400
    api.add_chat(group, "supergroup", "Newsroom", admins=(506,))
    api.bot_membership(group, "member", by_user=506)
    welcome = api.wait_for(lambda m: m["chat"]["id"] == group)[0]
    assert "Ask with /ask <question>" in welcome["text"]
    assert f"@{api.username}" in welcome["text"]
    assert _say(api, group, "/subscribe", user=506)["text"].startswith("Subscribed")
    state = State(seed_settings.resolved_database_url)
    assert state.is_subscribed(group)
    api.bot_membership(group, "kicked", by_user=506, old="member")
    wait_until(lambda: state.membership(group) == "kicked", 30, "the leaving was not recorded")
    assert not state.is_subscribed(group)
    assert len(api.messages_to(group)) == 2  # the welcome and the /subscribe reply only
    # The menus: groups and private chats each get their own.
    group_menu = {c["command"] for c in api.scoped_commands[("all_group_chats", "")]}
    private_menu = {c["command"] for c in api.scoped_commands[("all_private_chats", "")]}
    assert "ask" in group_menu - private_menu and "start" in private_menu - group_menu


def test_a_thumbs_up_reaction_on_an_answer_is_stored_once(api, bot, seed_settings):
    chat = 4500
    reply = _say(api, chat, QUESTION)
    state = State(seed_settings.resolved_database_url)
    before = state.stats()["thumbs_up"]
    api.react(chat, reply["message_id"], "👍", user_id=chat)
    wait_until(lambda: state.stats()["thumbs_up"] == before + 1, 30, "reaction not stored")
    api.react(chat, reply["message_id"], "👍", user_id=chat)  # again: still one
    api.react(chat, reply["message_id"] - 1, "👍", user_id=chat)  # the user's own message
    time.sleep(2)
    assert state.stats()["thumbs_up"] == before + 1
    api.react(chat, reply["message_id"], "👎", user_id=chat, old="👍")  # changed its mind
    wait_until(lambda: state.stats()["thumbs_down"] >= 1, 30, "new reaction not stored")
    assert state.stats()["thumbs_up"] == before
