"""The Telegram handlers in-process: the application as bot.chat wires it, against the fake Bot
API (no bot process), fed updates through `Application.process_update`."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from telegram import Update

from bot.chat import COMMANDS, build_application
from bot.chat.buttons import NO_LONGER
from bot.chat.intake import SORRY, tell_failure
from bot.state import State
from tests.support.fake_bot_api import FakeTelegram
from tests.support.workspace import SEED

QUESTION = "How far is Qasr Bin Ghashir from Tripoli?"
SENTENCE = next(s for s in SEED.read_text(encoding="utf-8").split("\n\n")[10].split(". ")
                if "26 km" in s)
HELP = (  # /help as it has always read
    "How to use me\n"
    "• In a private chat, just type a question.\n"
    "• In a group, use /ask <question>, mention me, or reply to one of my messages.\n"
    "• I reply with the sentences from the articles that answer it, quoted exactly, with "
    "title, source, date, link and paragraph.\n"
    "• Buttons: Full paragraph shows the whole paragraph, More sources more "
    "quotes, 👍/👎 tell the maintainers how I did.\n"
    "/about shows what I know."
)
MENU = [("ask", "Ask a question about the news articles"),
        ("compare", "Each outlet's own words on a question, e.g. /compare How many died?"),
        ("new", "Start afresh: the next question does not follow up the last answer"),
        ("latest", "The newest articles, e.g. /latest or /latest last week"),
        ("sources", "Choose the publishers questions search"),
        ("subscribe", "Get a message for each new article"),
        ("unsubscribe", "Stop messages for new articles"),
        ("follow", "Get new articles on a topic, e.g. /follow Libya"),
        ("unfollow", "Stop following a topic"), ("following", "What this chat follows"),
        ("help", "How to use the bot"), ("about", "What the bot knows: articles, dates, model"),
        ("start", "Greeting and example questions"),
        ("privacy", "What the bot stores about you"),
        ("forget", "Delete everything stored about you")]
chat_ids = itertools.count(7000)


class InProcess:
    """The application, its event loop, and the fake server's user side."""

    def __init__(self, api: FakeTelegram, settings: Any, engine: Any) -> None:
        self.api = api
        self.state = State(settings.resolved_database_url)
        self.state.migrate()
        self.app = build_application(settings, engine, self.state)
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self.app.initialize())

    def handle(self, pushed: dict[str, Any] | str) -> None:
        """Process the update the fake server just queued for `pushed` (a message, or a press
        by its id), stored in the inbox as the intake does; a handler's error fails the test."""
        with self.api.lock:
            payload = self.api.updates.pop()
        assert pushed in payload.values() or payload.get("callback_query", {}).get("id") == pushed
        self.state.inbox.add([(payload["update_id"], json.dumps(payload))], "test")
        update = Update.de_json(payload, self.app.bot)
        self.loop.run_until_complete(self.app.process_update(update))
        assert self.app.bot_data.take_failure(update) is None
        # As the intake does: a later update may get this one's id() (the key of its Progress)
        # and would otherwise find its pages already sent.
        self.app.bot_data.forget_progress(update)

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        self.loop.run_until_complete(self.app.shutdown())
        self.loop.close()
        self.state.close()


def _in_process(settings, engine, tmp_path, **update: Any) -> Iterator[InProcess]:
    """The application over `engine`, talking to a fake Bot API of its own."""
    api = FakeTelegram()
    api.start()
    bot = InProcess(api, settings.model_copy(update={
        "data_dir": tmp_path / "data", "telegram_bot_token": api.token,
        "telegram_base_url": api.base_url, **update}), engine)
    try:
        yield bot
    finally:
        bot.close()
        api.stop()


@pytest.fixture
def chat(seed_settings, seed_engine, tmp_path) -> Iterator[InProcess]:
    yield from _in_process(seed_settings, seed_engine, tmp_path, admin_ids=[1])


def test_the_menu_and_help_are_made_from_the_command_table(chat):
    chat.run(chat.app.post_init(chat.app))
    assert [(c["command"], c["description"]) for c in chat.api.commands] == MENU
    # One menu per language the bot speaks, in the same order, for Telegram to show by the
    # user's language_code (two-letter codes: the fake refuses "zh-hans" as Telegram does).
    assert set(chat.api.localized_commands) == {"ar", "de", "es", "fr", "ru", "zh"}
    assert [c["command"] for c in chat.api.localized_commands["ar"]] == [n for n, _ in MENU]
    assert chat.api.localized_commands["fr"][0]["description"] == (
        "Poser une question sur les articles")
    # Groups and private chats get their own menus, in every language: /ask is for groups
    # (a private chat just types), /start for private chats.
    group = [c["command"] for c in chat.api.scoped_commands[("all_group_chats", "")]]
    private = [c["command"] for c in chat.api.scoped_commands[("all_private_chats", "")]]
    assert "ask" in group and "start" not in group and "sources" in group
    assert "start" in private and "ask" not in private
    assert [c["command"] for c in chat.api.scoped_commands[("all_group_chats", "ar")]] == group
    french = {c["command"]: c["description"]
              for c in chat.api.scoped_commands[("all_private_chats", "fr")]}
    assert french["new"] == (
        "Repartir de zéro : la prochaine question ne fait pas suite à la dernière réponse")
    assert chat.api.descriptions[""].startswith("Ask about the news articles I hold")
    assert chat.api.descriptions["de"].startswith("Frag mich zu den Nachrichtenartikeln")
    assert [c.name for c in COMMANDS if c.description] == [name for name, _ in MENU]
    assert {"stats", "reload", "fetch"} <= {c.name for c in COMMANDS if c.admin}
    user = next(chat_ids)
    chat.handle(chat.api.user_message(user, "/help", user_id=user))
    (shown,) = chat.api.messages_to(user)
    assert shown["text"] == HELP
    assert shown["parse_mode"] == "HTML" and shown["link_preview_options"] == {"is_disabled": True}


def test_a_private_question_gets_the_quoted_sentence_with_its_buttons(chat):
    user = next(chat_ids)
    chat.handle(chat.api.user_message(user, QUESTION, user_id=user))
    first = chat.api.messages_to(user)[0]
    assert SENTENCE in first["text"] and "tripoli-airport · paragraph 11" in first["text"]
    assert first["parse_mode"] == "HTML" and first["link_preview_options"] == {"is_disabled": True}
    assert first["reply_to"] is None  # private chats get no quoted reply
    buttons = {b["text"] for row in first["reply_markup"]["inline_keyboard"] for b in row}
    assert {"Full paragraph", "👍", "👎"} <= buttons


def test_in_a_group_a_mention_is_answered_and_other_talk_is_not(chat):
    group = -next(chat_ids)
    chat.api.add_chat(group, "supergroup", "Newsroom")
    chat.handle(chat.api.user_message(group, QUESTION, user_id=5))
    assert chat.api.messages_to(group) == []
    mention = f"@{chat.api.username}"
    asked = chat.api.user_message(group, f"{mention} {QUESTION}", user_id=5, entities=[
        {"type": "mention", "offset": 0, "length": len(mention)}])
    chat.handle(asked)
    (reply,) = [m for m in chat.api.messages_to(group) if m.get("reply_markup")]
    assert SENTENCE in reply["text"] and reply["reply_to"] == asked["message_id"]


def test_a_button_pressed_in_another_chat_is_refused(chat):
    owner, other = next(chat_ids), next(chat_ids)
    chat.handle(chat.api.user_message(owner, QUESTION, user_id=owner))
    answer = chat.api.messages_to(owner)[0]
    full = next(b for row in answer["reply_markup"]["inline_keyboard"] for b in row
                if b["text"] == "Full paragraph")
    elsewhere = {**answer, "chat": {"id": other, "type": "private"}}
    pressed = chat.api.press_button(elsewhere, full["callback_data"], user_id=other)
    chat.handle(pressed)
    assert chat.api.answer_to(pressed, timeout=1)["text"] == NO_LONGER
    assert chat.api.messages_to(other) == []
    mine = chat.api.press_button(answer, full["callback_data"], user_id=owner)
    chat.handle(mine)
    assert "paragraph 11" in chat.api.messages_to(owner)[-1]["text"]


def test_admin_commands_are_refused_and_the_failure_line_stays_plain_text(chat):
    user = next(chat_ids)
    chat.handle(chat.api.user_message(user, "/stats", user_id=user))
    assert chat.api.messages_to(user)[-1]["text"] == "This command is for the bot's maintainers."
    chat.handle(chat.api.user_message(1, "/stats", user_id=1))
    assert "Questions answered" in chat.api.messages_to(1)[-1]["text"]
    asked = chat.api.user_message(user, "<b>not html</b>", user_id=user)
    with chat.api.lock:
        payload = chat.api.updates.pop()
    assert payload["message"] == asked
    chat.run(tell_failure(Update.de_json(payload, chat.app.bot)))
    told = chat.api.messages_to(user)[-1]
    assert told["text"] == SORRY and told["parse_mode"] is None
    assert told["link_preview_options"] is None


@pytest.fixture
def outlets_chat(outlets, tmp_path) -> Iterator[InProcess]:
    """The application over the outlets fixture (several publishers' reports of one event)."""
    engine, outlets_settings = outlets
    yield from _in_process(outlets_settings, engine, tmp_path)


def _buttons(message: dict[str, Any]) -> dict[str, str]:
    return {b["text"]: b.get("callback_data", "")  # (Share and Link buttons carry none)
            for row in message["reply_markup"]["inline_keyboard"] for b in row}


def test_compare_outlets_searches_the_publishers_the_chat_chose_as_compare_does(outlets_chat):
    chat, user = outlets_chat, next(chat_ids)
    fighters = "How many fighters were killed at the airport?"
    chat.handle(chat.api.user_message(user, "/sources", user_id=user))
    choose = chat.api.messages_to(user)[-1]
    for name in ("Al Jazeera", "Example Wire"):  # not Anadolu Agency
        chat.handle(chat.api.press_button(choose, _buttons(choose)[name], user_id=user))
    chat.handle(chat.api.user_message(user, fighters, user_id=user))
    answer = chat.api.messages_to(user)[-1]
    seen = len(chat.api.messages_to(user))
    chat.handle(chat.api.press_button(answer, _buttons(answer)["Compare outlets"], user_id=user))
    by_button = "\n".join(m["text"] for m in chat.api.messages_to(user)[seen:])
    seen = len(chat.api.messages_to(user))
    chat.handle(chat.api.user_message(user, f"/compare {fighters}", user_id=user))
    by_command = "\n".join(m["text"] for m in chat.api.messages_to(user)[seen:])
    for compared in (by_button, by_command):
        assert "Al Jazeera" in compared and "Example Wire" in compared, compared
        assert "Anadolu" not in compared, compared


def test_every_kind_of_button_keeps_its_data_and_reaches_its_handler(chat):
    """Issue 36, item 5: the buttons' data reads as the first versions wrote it (the buttons of
    old messages keep working), the messages shown are kept for the answer, each kind is
    honoured by its own handler, and data the bot never made is answered as before."""
    user = next(chat_ids)
    chat.handle(chat.api.user_message(user, QUESTION, user_id=user))
    answer = chat.api.messages_to(user)[-1]
    answer_id = chat.state.answer_of_message(user, answer["message_id"])
    assert answer_id is not None
    data = {label: sent for label, sent in _buttons(answer).items() if sent}
    assert data == {"Full paragraph": f"p:{answer_id}:0", "👍": f"f:{answer_id}:1",
                    "👎": f"f:{answer_id}:-1"}

    def pressed(sent: str) -> str:
        press = chat.api.press_button(answer, sent, user_id=user)
        chat.handle(press)
        return chat.api.answer_to(press, timeout=1).get("text", "")

    assert pressed(f"x:{answer_id}:0") == "Nothing more to show."
    assert pressed(f"f:{answer_id}:2") == "Nothing more to show."
    assert pressed("hello") == "This button is not understood."
    assert pressed(f"p:{answer_id + 1}:0") == NO_LONGER
    assert chat.state.feedback_for(answer_id) == []
    assert pressed(data["👎"]) == "Thanks for the feedback!"
    assert chat.state.feedback_for(answer_id) == [(user, -1)]
    seen = len(chat.api.messages_to(user))
    assert pressed(data["Full paragraph"]) == ""
    assert "paragraph 11" in chat.api.messages_to(user)[seen]["text"]


def test_the_compare_and_more_buttons_keep_their_data(outlets, tmp_path):
    """Issue 36, item 5: "Compare outlets" and "More sources" read as the first versions wrote
    them, and More sources shows the quotes past the one shown."""
    engine, outlets_settings = outlets
    for chat in _in_process(outlets_settings, engine, tmp_path, max_quotes=1):
        user = next(chat_ids)
        chat.handle(chat.api.user_message(
            user, "How many fighters were killed at the airport?", user_id=user))
        answer = chat.api.messages_to(user)[-1]
        answer_id = chat.state.answer_of_message(user, answer["message_id"])
        data = _buttons(answer)
        assert (data["Compare outlets"], data["More sources"]) == (f"c:{answer_id}",
                                                                   f"m:{answer_id}")
        seen = len(chat.api.messages_to(user))
        chat.handle(chat.api.press_button(answer, data["More sources"], user_id=user))
        assert chat.api.messages_to(user)[seen:], "More sources showed nothing"
