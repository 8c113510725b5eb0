"""The state database, hardened (issue 18, items 4, 9, 10, 11, 19): on real SQLite files and a
real PostgreSQL server, the same inputs on both."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import sqlite3

import pytest
import sqlalchemy as sa

from bot.state import State
from bot.state.schema import MIGRATIONS, inbox, outbox
from tests.support.services import Postgres

_databases = itertools.count(1)


@pytest.fixture(scope="module")
def postgres():
    server = Postgres().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """A fresh, empty state database of either kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.sqlite3'}"
    server = request.getfixturevalue("postgres")
    name = f"hardening{next(_databases)}"
    server.sql("postgres", f"CREATE DATABASE {name}")
    return f"postgresql://verbatim@127.0.0.1:{server.port}/{name}"


@pytest.fixture
def state(db_url):
    made = State(db_url)
    made.migrate()
    yield made
    made.close()


def answer_json(question: str = "Where?") -> dict:
    return {"question": question, "abstained": False, "latency_ms": 1.0}


def message_update(update_id: int, user: int, chat: int, text: str, date: int = 1_700_000_000):
    """A message update as Telegram sends it (JSON text)."""
    return update_id, json.dumps({"update_id": update_id, "message": {
        "message_id": update_id, "date": date, "text": text,
        "chat": {"id": chat, "type": "private" if chat > 0 else "group"},
        "from": {"id": user, "is_bot": False, "first_name": "U"}}})


def inbox_texts(state: State) -> list[str]:
    with state.engine.connect() as conn:
        return [json.loads(r[0]).get("message", {}).get("text", "")
                or json.loads(r[0]).get("callback_query", {}).get("data", "")
                for r in conn.execute(sa.select(inbox.c.payload))]


# ---- item 4: answer ids are never reused ---------------------------------------------------
def test_answer_ids_are_never_reused_after_forget_or_prune(state):
    first = state.record_answer(1, 11, answer_json(), [], "v1")
    state.forget_user(11)
    second = state.record_answer(2, 22, answer_json(), [], "v1")
    assert second != first, "an old button of user 11 would now act on user 22's answer"
    with state.engine.begin() as conn:
        conn.execute(sa.text("UPDATE answers SET created_at = :old"),
                     {"old": dt.datetime(2000, 1, 1, tzinfo=dt.UTC)})
    state.prune(30)
    third = state.record_answer(3, 33, answer_json(), [], "v1")
    assert third not in (first, second)
    found = state.get_answer(third)
    assert found is not None and found.chat_id == 3 and found.user_id == 33


def test_migration_upgrades_a_0006_database_in_place(db_url):
    """An existing database keeps every row; afterwards answer ids are not reused and old
    inbox rows still de-duplicate redeliveries of the bot that wrote them."""
    from alembic import command
    from alembic.config import Config

    from bot.state.schema import make_engine

    engine = make_engine(db_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
    stamp = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    update_id, payload = message_update(500, 7, 7, "old question")
    with engine.begin() as conn:
        for _ in (1, 2):
            conn.execute(sa.text(
                "INSERT INTO answers (chat_id, user_id, question, abstained, quotes, "
                "suggestions, latency_ms, index_version, created_at) VALUES (7, 7, 'q', "
                ":f, '[]', '[]', 1.0, 'v', :t)"), {"f": False, "t": stamp})
        first, last = conn.execute(sa.text("SELECT min(id), max(id) FROM answers")).one()
        conn.execute(sa.text("INSERT INTO feedback (answer_id, user_id, verdict, created_at) "
                             "VALUES (:a, 7, 1, :t)"), {"a": last, "t": stamp})
        conn.execute(sa.text("INSERT INTO inbox (update_id, payload, status, received_at) "
                             "VALUES (:u, :p, 'done', :t)"), {"u": update_id, "p": payload,
                                                              "t": stamp})
    engine.dispose()
    state = State(db_url)
    try:
        state.migrate()
        assert state.get_answer(first).question == "q"
        assert state.feedback_for(last) == [(7, 1)]
        state.inbox.bind(123456)
        assert state.inbox.add([(update_id, payload)]) == [], "a redelivery was taken as new"
        state.forget_user(7)
        assert inbox_texts(state) == [], "the sender of an old update was not known"
        assert state.record_answer(8, 8, answer_json(), [], "v") > last
    finally:
        state.close()


# ---- item 9: column limits ---------------------------------------------------------------
def test_over_long_ids_versions_and_keys_are_stored_alike_on_both_databases(state):
    long_id = "feed/" + "x" * 600
    other_long = "feed/" + "x" * 599 + "y"
    version = "2026-v" + "9" * 120
    claimed, first = state.outbox.claim_new_articles(["short.md", long_id, other_long], version)
    assert first and claimed == ["short.md", long_id, other_long]
    claimed, first = state.outbox.claim_new_articles(["short.md", long_id, other_long, "new.md"],
                                              version)
    assert not first and claimed == ["new.md"], "an over-long id was announced twice"
    queued = state.outbox.enqueue([
        {"chat_id": 5, "article_id": long_id, "reason": "follow:" + "t" * 400,
         "payload": {"kind": "new"}},
        {"chat_id": 5, "article_id": other_long, "reason": "subscription",
         "payload": {"kind": "new"}}])
    assert queued == 2
    assert state.outbox.enqueue([{"chat_id": 5, "article_id": long_id, "reason": "subscription",
                           "payload": {}}]) == 0, "the same article went to a chat twice"
    rows = state.outbox.claim_outbox("w" * 300)
    assert len(rows) == 2
    answer_id = state.record_answer(5, 5, answer_json(), [], version)
    assert state.get_answer(answer_id).index_version.startswith("2026-v")
    assert state.count_event("user:" + "9" * 200) == 1
    assert state.count_event("user:" + "9" * 200) == 2
    assert state.count_event("user:" + "9" * 199 + "8") == 1
    state.inbox.bind(1)
    assert state.inbox.add([message_update(1, 5, 5, "hi")], worker="h" * 300) == [1]


# ---- item 10: /forget and retention ------------------------------------------------------
def test_an_answer_finished_after_forget_is_not_stored(state):
    """A question, then /forget at once: the answer still being worked on when /forget ran is
    sent, but not stored (its question would outlive the user's "Done")."""
    state.inbox.bind(123456)
    state.inbox.add([message_update(1, 7, 7, "my question"), message_update(2, 9, 9, "other")])
    state.forget_user(7)
    assert state.record_answer(7, 7, answer_json("my question"), [], "v1", update_id=1) is None
    kept = state.record_answer(9, 9, answer_json("other"), [], "v1", update_id=2)
    assert kept is not None and state.get_answer(kept).question == "other"
    with state.engine.connect() as conn:
        questions = [r[0] for r in conn.execute(sa.text("SELECT question FROM answers"))]
    assert questions == ["other"]


def test_forget_deletes_the_users_inbox_texts_and_pending_pushes_but_keeps_the_limit(state):
    state.inbox.bind(123456)
    state.inbox.add([message_update(1, 7, 7, "my secret question"),
                     message_update(2, 7, -100, "my group question"),
                     message_update(3, 8, 8, "someone else's question")])
    state.inbox.add([(4, json.dumps({"update_id": 4, "callback_query": {
        "id": "cb", "chat_instance": "ci", "data": "f:1:1",
        "from": {"id": 7, "is_bot": False, "first_name": "U"}}}))])
    for update_id in (1, 2, 3, 4):
        state.inbox.done(update_id)
    pending_id, pending = message_update(5, 7, 7, "/forget")
    state.inbox.add([(pending_id, pending)])  # the /forget update itself, being handled
    assert state.follow(7, "Libya", 7) == "new"
    state.outbox.enqueue([{"chat_id": 7, "article_id": "a.md", "reason": "follow:Libya",
                    "payload": {"kind": "follow", "topic": "Libya"}},
                   {"chat_id": 8, "article_id": "a.md", "reason": "subscription",
                    "payload": {"kind": "new"}}])
    for _ in range(5):
        state.count_event("user:7")

    state.forget_user(7)
    state.inbox.done(pending_id)  # the handler finishing must not fail

    texts = inbox_texts(state)
    assert not [t for t in texts if "my " in t or t in ("f:1:1", "/forget")], texts
    assert "someone else's question" in texts
    assert [r["chat_id"] for r in state.outbox.claim_outbox("w")] == [8], \
        "a push to 7 still goes out"
    assert state.following(7) == []
    assert state.count_event("user:7") == 6, "/forget lifted the user's own rate limit"


def test_prune_deletes_old_pushes_and_handled_updates(state):
    state.inbox.bind(1)
    state.inbox.add([message_update(1, 7, 7, "old question"), message_update(2, 7, 7, "new one")])
    state.inbox.done(1)
    state.inbox.done(2)
    state.outbox.enqueue([{"chat_id": c, "article_id": "a.md", "reason": "subscription",
                    "payload": {"kind": "new"}} for c in (1, 2, 3, 4)])
    ids = {r["chat_id"]: r["id"] for r in state.outbox.claim_outbox("w")}
    state.outbox.finish_outbox([ids[1]], "sent")
    state.outbox.finish_outbox([ids[2]], "failed")
    state.outbox.finish_outbox([ids[3]], "dropped")
    state.outbox.finish_outbox([ids[4]], "pending")
    old = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    with state.engine.begin() as conn:
        conn.execute(outbox.update().values(created_at=old, sent_at=old))
        conn.execute(inbox.update().where(inbox.c.update_id == 1).values(
            received_at=old, done_at=old))
    state.prune(30)
    assert inbox_texts(state) == ["new one"]
    assert [r["chat_id"] for r in state.outbox.claim_outbox("w")] == [4], "pending pushes are kept"
    with state.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar() == 1


def test_privacy_states_the_retention_of_everything_stored():
    from bot.chat import PRIVACY

    text = PRIVACY.format(days=30)
    assert "30 days" in text
    for stored in ("Which new articles a chat was sent", "Incoming messages",
                   "rate limit"):
        assert stored in text, stored
    assert "deleted after 30 days" in text.split("Which new articles a chat was sent")[1]
    assert "Incoming messages addressed to me" in text and "until they are answered" not in text


# ---- item 11: follows per chat ------------------------------------------------------------
def test_follows_per_chat_are_limited(state):
    for i in range(20):
        assert state.follow(-5, f"topic {i}", 1, limit=20) == "new"
    assert state.follow(-5, "topic 3", 1, limit=20) == "known"
    assert state.follow(-5, "one too many", 1, limit=20) == "full"
    assert state.follow(-6, "another chat", 1, limit=20) == "new"
    assert len(state.following(-5)) == 20
    # A topic is one topic in any letter case, for /follow as for /unfollow.
    assert state.follow(-6, "ANOTHER Chat", 1, limit=20) == "known"
    assert state.following(-6) == [(-6, "another chat")]
    assert state.unfollow(-6, "Another chat") and state.following(-6) == []
    assert state.follow(-6, "Ливия", 1) == "new" and state.follow(-6, "ливия", 1) == "known"
    assert state.unfollow(-6, "ЛИВИЯ") and state.following(-6) == []


# ---- item 19: the inbox is keyed by bot ----------------------------------------------------
def test_inbox_keys_updates_by_bot_and_tells_a_new_sequence_from_a_redelivery(state):
    first = [message_update(i, 7, 7, f"to the first bot {i}") for i in (1, 2, 3)]
    state.inbox.bind(111)
    assert state.inbox.add(first) == [1, 2, 3]
    assert state.inbox.add(first[:2]) == [], "a redelivery was taken as new"
    state.inbox.bind(222)
    second = [message_update(i, 7, 7, f"to the second bot {i}", date=1_800_000_000)
              for i in (1, 2)]
    assert state.inbox.add(second) == [1, 2], "another bot's updates were dropped"
    # The same bot, its Bot API numbering afresh: same ids, other updates.
    renumbered = [message_update(i, 7, 7, f"renumbered {i}", date=1_900_000_000) for i in (1, 2)]
    assert state.inbox.add(renumbered) == [1, 2]
    assert state.inbox.add(renumbered) == []
    assert [u for u, _ in state.inbox.pending()] == [1, 2, 1, 2]
    state.inbox.done(1)
    state.inbox.done(2)
    assert state.inbox.pending() == []
    state.inbox.bind(111)
    assert [u for u, _ in state.inbox.pending()] == [1, 2, 3], "bot 111's updates were touched"


def test_two_updates_sharing_an_id_are_marked_done_one_at_a_time(state):
    """An old update still pending when the Bot API numbers afresh and reuses its id: handling
    the new one must not mark the old one done (it would never be answered)."""
    state.inbox.bind(111)
    old = message_update(5, 7, 7, "asked before the restart")
    new = message_update(5, 8, 8, "asked after it", date=1_900_000_000)
    assert state.inbox.add([old]) == [5] and state.inbox.add([new]) == [5]
    state.inbox.done(5, new[1])
    assert state.inbox.pending() == [old], "the old update was marked done with the new one"
    state.inbox.done(5, old[1])
    assert state.inbox.pending() == []


def test_a_sqlite_database_of_0006_is_readable_by_plain_sqlite_after_upgrade(tmp_path):
    """The rebuilt tables are ordinary SQLite tables (the operator's sqlite3 shell reads them)."""
    state = State(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    state.migrate()
    state.close()
    db = sqlite3.connect(tmp_path / "state.sqlite3")
    sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'answers'").fetchone()[0]
    assert "AUTOINCREMENT" in sql.upper()


# ---- issue 23: what a follow-up leans on ---------------------------------------------------
def test_the_last_answer_a_follow_up_leans_on_respects_the_window_new_and_forget(state):
    quote = {"text": "T", "article_id": "a.txt", "paragraph": 2}
    hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    state.record_answer(5, 55, answer_json("Who?"), [quote], "v1")
    state.record_answer(5, 55, {**answer_json("Nothing?"), "abstained": True}, [], "v1")
    state.record_answer(5, 66, answer_json("Someone else's?"), [quote], "v1")
    found = state.last_answer(5, 55, hour_ago)
    assert found is not None and found.question == "Who?"  # not the abstention
    assert found.quotes == [quote]
    assert state.last_answer(5, 55, dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)) is None
    state.new_conversation(5, 0)
    assert state.last_answer(5, 55, hour_ago) is None  # /new: nothing before it counts
    state.new_conversation(5, 0)  # twice is fine
    state.record_answer(5, 55, answer_json("After?"), [quote], "v1")
    assert state.last_answer(5, 55, hour_ago).question == "After?"
    assert state.forget_user(55) >= 1
    assert state.last_answer(5, 55, hour_ago) is None


def test_quote_links_are_pruned_but_not_those_an_answer_still_kept_gave(state):
    """Issue 35, item 2: quote links no longer grow forever; a link given again by an answer
    still kept (as `reach_of` gives it, right after recording the answer) is kept."""
    state.link_quote("old", "a.md", 0, 5, "Hello", "v1")
    state.link_quote("again", "a.md", 6, 11, "world", "v1")
    with state.engine.begin() as conn:
        conn.execute(sa.text("UPDATE quote_links SET created_at = :old"),
                     {"old": dt.datetime(2000, 1, 1, tzinfo=dt.UTC)})
    kept = state.record_answer(1, 11, answer_json(), [], "v1")
    state.link_quote("again", "a.md", 6, 11, "world", "v1")
    assert state.prune(30) >= 1
    assert state.quote_link("old") is None
    found = state.quote_link("again")
    assert found is not None and (found["start"], found["end"], found["text"]) == (6, 11, "world")
    assert state.get_answer(kept or 0) is not None


# ---- issue 36, item 5: stored answers as records; the rate counts in one transaction -------
def test_an_answer_stored_by_an_older_version_loads_and_a_new_one_is_stored_as_before(state):
    """A row as older versions wrote it (quote dicts without the later keys) loads as it is;
    a row written now holds the JSON text older versions read (non-ASCII kept as it is)."""
    old_quote = {"text": "Él dijo «sí».", "article_id": "a.md", "title": "T", "paragraph": 3,
                 "start": 0, "end": 13}
    with state.engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO answers (chat_id, user_id, question, abstained, quotes, suggestions, "
            "latency_ms, index_version, created_at) VALUES (4, 44, '¿Qué?', :no, :q, :s, 2.5, "
            "'v0', :t)"), {"no": False, "q": json.dumps([old_quote]),
                           "s": json.dumps([{"article_id": "b.md", "title": "B"}]),
                           "t": dt.datetime(2026, 1, 2, tzinfo=dt.UTC)})
        old_id = conn.execute(sa.text("SELECT max(id) FROM answers")).scalar()
    found = state.get_answer(old_id)
    assert found is not None and (found.chat_id, found.user_id, found.question) == (4, 44, "¿Qué?")
    assert found.quotes == [old_quote] and found.quote(0) == old_quote and found.quote(1) is None
    assert found.suggested_article(0) == "b.md" and found.suggested_article(1) is None
    assert (found.abstained, found.latency_ms, found.index_version) == (False, 2.5, "v0")
    suggestions = [{"article_id": "c.md", "title": "Ç"}]
    new_id = state.record_answer(4, 44, {**answer_json("Où ?"), "suggestions": suggestions},
                                 [old_quote], "v1")
    with state.engine.connect() as conn:
        row = conn.execute(sa.text("SELECT question, quotes, suggestions FROM answers "
                                   "WHERE id = :i"), {"i": new_id}).one()
    assert tuple(row) == ("Où ?", json.dumps([old_quote], ensure_ascii=False),
                          json.dumps(suggestions, ensure_ascii=False))


def test_the_sender_and_chat_counts_stop_at_the_first_limit_passed(state):
    """One event counted for the sender, then the chat; past the sender's limit the chat is
    not counted (as when each was its own transaction)."""
    def counts() -> dict[str, int]:
        with state.engine.connect() as conn:
            return dict(conn.execute(sa.text("SELECT key, count FROM rate_counters")).all())

    limits = [("user:1", 1), ("chat:9", 5)]
    assert state.count_events(limits) is None
    assert counts() == {"user:1": 1, "chat:9": 1}
    assert state.count_events(limits) == 1  # the sender's second question in the minute
    assert counts() == {"user:1": 2, "chat:9": 1}
    assert state.count_events([("user:2", 1), ("chat:9", 2)]) is None
    assert state.count_events([("user:3", 1), ("chat:9", 2)]) == 1  # the chat's third
    assert counts() == {"user:1": 2, "user:2": 1, "user:3": 1, "chat:9": 3}
