"""The state database, hardened, end to end (issue 18, items 9, 11, 19): real bot processes on
one data folder, a real PostgreSQL server, and push planning beside the answering threads."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import sqlite3
import threading
from collections.abc import Iterator

import pytest

from tests.support.botproc import BotProcess, start_bot, wait_until
from tests.support.fake_bot_api import FakeTelegram
from tests.support.services import Postgres
from tests.support.texts import QUESTION, answered
from tests.support.workspace import SEED, build, make_settings


@pytest.fixture
def shared(seed_settings, tmp_path):
    """The seed index and one data folder that several bots use one after the other."""
    return seed_settings.model_copy(update={"data_dir": tmp_path / "data"})


def ask(api: FakeTelegram, chat: int) -> None:
    api.user_message(chat, QUESTION, user_id=chat)


@contextlib.contextmanager
def serving(api: FakeTelegram, settings) -> Iterator[BotProcess]:
    """The fake Bot API started and a bot process on it; both stopped on the way out."""
    api.start()
    bot = start_bot(api, settings)
    try:
        yield bot
    finally:
        bot.stop()
        api.stop()


def test_a_bot_with_another_token_on_the_same_data_folder_answers(shared):
    first = FakeTelegram(token="111111:FIRST-BOT")
    with serving(first, shared):
        for chat in (301, 302, 303):
            ask(first, chat)
        wait_until(lambda: all(answered(first, c) for c in (301, 302, 303)), 60)
    second = FakeTelegram(token="222222:SECOND-BOT")  # its update ids start at 1 again
    with serving(second, shared):
        ask(second, 304)
        wait_until(lambda: answered(second, 304), 60,
                   "the second bot never answered: it took its updates for the first's")


def test_a_bot_api_that_numbers_updates_afresh_is_still_heard(shared):
    """The same token, a Bot API server (say a local one, restarted) numbering from 1 again:
    update ids the database holds already are new updates, not redeliveries."""
    before = FakeTelegram()
    with serving(before, shared):
        for chat in (311, 312, 313):
            ask(before, chat)
        wait_until(lambda: all(answered(before, c) for c in (311, 312, 313)), 60)
    after = FakeTelegram()
    with serving(after, shared):
        ask(after, 314)
        ask(after, 315)
        wait_until(lambda: answered(after, 314) and answered(after, 315), 60,
                   "the bot went deaf after the Bot API numbered its updates afresh")
        ask(after, 316)  # and it keeps hearing what comes next
        wait_until(lambda: answered(after, 316), 60)
        assert not answered(after, 311), "an old question was answered again"


def test_the_21st_follow_of_a_chat_is_refused_with_a_clear_reply(shared):
    api = FakeTelegram()
    with serving(api, shared):
        for i in range(21):
            sent = api.user_message(320, f"/follow topic number {i}", user_id=320)
            api.wait_for(lambda m, s=sent: m["chat"]["id"] == 320
                         and m["message_id"] > s["message_id"], 60)
        replies = [m["text"] for m in api.messages_to(320)]
        assert all("Following “topic number" in t for t in replies[:20]), replies
        assert "at most 20 topics" in replies[20], replies[20]
        api.user_message(320, "/following", user_id=320)
        listing = api.wait_for(lambda m: m["chat"]["id"] == 320 and "Following:" in m["text"])
        assert "topic number 19" in listing[0]["text"]
        assert "topic number 20" not in listing[0]["text"]


LONG_ID = "wire/" + "very-long-article-identifier-" * 20  # 585 characters


def test_the_bot_starts_on_postgresql_with_an_article_id_over_500_characters(tmp_path, encoder):
    settings = make_settings(tmp_path)
    settings.corpus_dir.mkdir()
    shutil.copy(SEED, settings.corpus_dir / SEED.name)
    (settings.corpus_dir / "wire.jsonl").write_text(json.dumps({
        "id": LONG_ID, "title": "A wire story with a long id",
        "text": "The harbour of Misrata reopened to cargo ships on Monday after repairs."}) + "\n")
    build(settings, encoder)
    postgres = Postgres().start()
    api = FakeTelegram()
    api.start()
    try:
        bot = start_bot(api, settings, {"DATABASE_URL": postgres.url})
        try:
            ask(api, 330)
            wait_until(lambda: answered(api, 330), 60)
            rows = postgres.sql("verbatim", "SELECT count(*) FROM announced")
            assert rows == [(2,)], rows
        finally:
            bot.stop()
    finally:
        api.stop()
        postgres.stop()


def test_questions_are_answered_while_push_planning_runs(seed_engine, seed_settings, tmp_path,
                                                         monkeypatch):
    """With one answering thread, a push planning that takes long (here: blocked until the
    answer came) must not hold the question up."""
    from bot.chat import Poller, build_application, jobs
    from bot.state import State

    api = FakeTelegram()
    api.start()
    settings = seed_settings.model_copy(update={
        "data_dir": tmp_path / "data", "telegram_bot_token": api.token,
        "telegram_base_url": api.base_url, "answer_workers": 1,
        "reload_interval_seconds": 0.2})
    state = State(settings.resolved_database_url)
    state.migrate()
    planning, release = threading.Event(), threading.Event()

    def slow_plan(*_args) -> int:
        planning.set()
        release.wait(120)
        return 0

    app = build_application(settings, seed_engine, state)
    monkeypatch.setattr(jobs, "plan_pushes", slow_plan)
    app.bot_data.planned_version = "an older index"  # so the next reload check plans
    worker = Poller(app, state)
    result: dict[str, bool] = {}

    async def scenario() -> None:
        serving = asyncio.create_task(worker.run())
        try:
            assert await asyncio.to_thread(planning.wait, 60), "planning never started"
            ask(api, 340)
            result["answered"] = await asyncio.to_thread(
                lambda: bool(wait_or_none(lambda: answered(api, 340), 30)))
        finally:
            release.set()
            worker.stopping.set()
            await asyncio.wait_for(serving, 60)

    try:
        asyncio.run(scenario())
    finally:
        api.stop()
    assert result["answered"], "the question waited for push planning to finish"


def wait_or_none(predicate, timeout: float):
    try:
        wait_until(predicate, timeout)
        return True
    except AssertionError:
        return None


def test_forget_leaves_none_of_the_users_texts_in_the_inbox(shared):
    api = FakeTelegram()
    with serving(api, shared) as bot:
        ask(api, 350)
        api.user_message(351, "Is the airport open again?", user_id=351)
        wait_until(lambda: answered(api, 350) and api.messages_to(351), 60)
        api.user_message(350, "/follow Tripoli airport", user_id=350)
        api.wait_for(lambda m: m["chat"]["id"] == 350 and "Following" in m["text"])
        db = sqlite3.connect(shared.data_dir / "state.sqlite3")

        def texts() -> str:
            return " ".join(r[0] for r in db.execute("SELECT payload FROM inbox"))

        wait_until(lambda: "Tripoli airport" in texts(), 30)
        api.user_message(350, "/forget", user_id=350)
        api.wait_for(lambda m: m["chat"]["id"] == 350 and "were deleted" in m["text"])
        wait_until(lambda: "/forget" not in texts(), 30, "the /forget update stayed")
        stored = texts()
        assert "Qasr Bin Ghashir" not in stored and "Tripoli airport" not in stored, stored
        assert "Is the airport open again?" in stored, "another user's update went too"
        ask(api, 350)  # the bot goes on answering the user, and its log has no failure
        wait_until(lambda: len(answered(api, 350)) == 2, 60)
        after_forget = bot.log.read_text().split("/forget", 1)[1]
        assert not re.search(r"update \d+ failed", after_forget), "handling /forget failed"
