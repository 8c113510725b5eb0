"""Scale-out, end to end: Telegram -> nginx -> two bot replicas -> PostgreSQL, all started here.

The same scenarios run with one replica on SQLite. The fake Bot API delivers by webhook as
Telegram does (secret token header, redelivery of whatever got no 2xx).
"""

from __future__ import annotations

import json
import re
import shutil
import signal
import time

import httpx
import pytest
import sqlalchemy as sa

from tests.support.botproc import BotProcess, wait_until
from tests.support.fake_bot_api import FakeTelegram
from tests.support.services import Nginx, Postgres, free_port
from tests.support.texts import LIBYA, QUESTION
from tests.support.workspace import SEED, build, make_settings

ADMIN = 7
GROUP, FOLLOWER = -500, -600
HOOK_PATH = "/telegram/webhook"
SECRET = "scale-secret"


class Cluster:
    """The fake Telegram, nginx, the replicas and the shared database of one scenario."""

    def __init__(self, tmp, encoder, backend: str) -> None:
        self.settings = make_settings(tmp)
        self.settings.corpus_dir.mkdir()
        shutil.copy(SEED, self.settings.corpus_dir / SEED.name)
        build(self.settings, encoder)
        self.encoder = encoder
        self.pg = Postgres().start() if backend == "postgresql" else None
        self.database_url = (self.pg.url if self.pg else
                             f"sqlite:///{tmp / 'shared' / 'state.sqlite3'}")
        count = 2 if self.pg else 1
        self.ports = [free_port() for _ in range(count)]
        self.api = FakeTelegram()
        self.api.start()
        self.api.add_chat(GROUP, "supergroup", "Newsroom", admins=(ADMIN,))
        self.api.add_chat(FOLLOWER, "group", "Libya watchers", admins=(ADMIN,))
        self.api.add_chat(-700, "group", "Burst watchers", admins=(ADMIN,))
        self.nginx = Nginx(self.ports, HOOK_PATH).start()
        self.replicas: list[BotProcess | None] = [None] * count
        for i in range(count):
            self.start_replica(i)

    def replica_url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def start_replica(self, i: int) -> None:
        settings = self.settings.model_copy(update={"data_dir": self.settings.data_dir / f"r{i}"})
        env = {"DATABASE_URL": self.database_url,
               "TELEGRAM_WEBHOOK_URL": self.nginx.url + HOOK_PATH,
               "TELEGRAM_WEBHOOK_PORT": str(self.ports[i]), "TELEGRAM_WEBHOOK_SECRET": SECRET,
               "INBOX_LEASE_SECONDS": "4", "PUSH_INTERVAL_SECONDS": "0.5",
               "USER_QUESTIONS_PER_MINUTE": "1000", "CHAT_QUESTIONS_PER_MINUTE": "1000"}
        self.replicas[i] = BotProcess(self.api, settings, env)
        wait_until(lambda: self.healthy(i), 150, f"replica {i} never became healthy")

    def healthy(self, i: int) -> bool:
        process = self.replicas[i]
        assert process is not None and process.process.poll() is None, \
            process.log.read_text() if process else "not started"
        try:
            return httpx.get(self.replica_url(i) + "/healthz", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self, i: int, update_of: dict[int, int]) -> set[int]:
        """SIGKILL a replica; returns the chats (of `update_of`: chat -> update id) whose reply
        it had begun to send but whose update it had not yet recorded as done. Telegram has no
        idempotency key, so whether those replies arrived is unknown to the other replicas:
        they are sent again rather than risk losing them."""
        process = self.replicas[i]
        assert process is not None
        process.process.send_signal(signal.SIGKILL)
        process.process.wait(10)
        log = process.log.read_text(errors="replace")
        called = {int(c) for c in re.findall(
            r"Calling Bot API endpoint `sendMessage` with parameters `\{'chat_id': (-?\d+)", log)}
        done = {int(u) for u in re.findall(r"update (\d+) done", log)}
        return {chat for chat in called if chat in update_of and update_of[chat] not in done}

    def sql(self, query: str) -> list[tuple]:
        engine = sa.create_engine(self.database_url.replace("postgresql://",
                                                           "postgresql+psycopg://"))
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(sa.text(query))]
        finally:
            engine.dispose()

    def close(self) -> None:
        for process in self.replicas:
            if process is not None:
                process.stop()
        self.nginx.stop()
        self.api.stop()
        if self.pg is not None:
            self.pg.stop()


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def cluster(request, tmp_path_factory, encoder):
    made = Cluster(tmp_path_factory.mktemp(f"scale-{request.param}"), encoder, request.param)
    yield made
    made.close()


def reply_to(api, chat: int, sent: dict, timeout: float = 60) -> dict:
    return api.wait_for(lambda m: m["chat"]["id"] == chat and m.get("reply_to")
                        == sent["message_id"], timeout=timeout)[0]


def test_health_and_webhook_through_nginx(cluster):
    api = cluster.api
    assert api.webhook == {"url": cluster.nginx.url + HOOK_PATH, "secret_token": SECRET}
    health = httpx.get(cluster.nginx.url + "/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["database"] is True
    assert health.json()["index"]
    forged = httpx.post(cluster.nginx.url + HOOK_PATH, timeout=5,
                        content=json.dumps({"update_id": 1}))
    assert forged.status_code == 403
    asked = api.user_message(800, QUESTION, user_id=800)
    assert "26 km" in api.wait_for(lambda m: m["chat"]["id"] == 800)[0]["text"]
    assert asked["message_id"]


def test_state_is_shared_and_new_articles_are_pushed_once(cluster):
    api, first, last = cluster.api, cluster.replica_url(0), cluster.replica_url(-1)
    # Subscribe through replica A, ask through replica B: B sees it at once.
    sent = api.user_message(GROUP, "/subscribe", user_id=ADMIN, via=first + HOOK_PATH)
    assert "Subscribed" in reply_to(api, GROUP, sent)["text"]
    sent = api.user_message(FOLLOWER, "/follow Libya", user_id=ADMIN, via=last + HOOK_PATH)
    assert "Following" in reply_to(api, FOLLOWER, sent)["text"]
    sent = api.user_message(GROUP, "/following", user_id=ADMIN, via=last + HOOK_PATH)
    assert "Subscribed to all new articles" in reply_to(api, GROUP, sent)["text"]

    # A maintainer adds an article and rebuilds once; every replica reloads it, one pushes.
    (cluster.settings.corpus_dir / "libya-talks.md").write_text(LIBYA, encoding="utf-8")
    build(cluster.settings, cluster.encoder)
    for chat in (GROUP, FOLLOWER):
        api.wait_for(lambda m, c=chat: m["chat"]["id"] == c and "Ceasefire" in m["text"],
                     timeout=60)
    time.sleep(6)  # several reload and delivery rounds of every replica
    for chat in (GROUP, FOLLOWER):
        pushes = [m for m in api.messages_to(chat) if "Ceasefire" in m["text"]]
        assert len(pushes) == 1, f"chat {chat} got {len(pushes)} pushes"


def test_replica_killed_mid_burst_loses_and_repeats_nothing(cluster):
    api = cluster.api
    sent = api.user_message(-700, "/subscribe", user_id=ADMIN, via=cluster.replica_url(-1)
                            + HOOK_PATH)
    assert "Subscribed" in reply_to(api, -700, sent)["text"]
    chats = list(range(10_000, 10_100))
    update_of = {}
    for chat in chats:
        api.user_message(chat, QUESTION, user_id=chat)
        update_of[chat] = api.last_update_id
    wait_until(lambda: sum(1 for c in chats if api.messages_to(c)) >= 15, 120,
               "the burst was not being answered")
    in_flight = cluster.kill(0, update_of)
    if len(cluster.replicas) == 1:
        cluster.start_replica(0)  # alone: the restarted replica takes over its own claims

    def answered() -> int:
        return sum(1 for c in chats if api.messages_to(c))

    wait_until(lambda: answered() == len(chats), 240,
               "questions lost after the kill")
    time.sleep(6)  # past the inbox lease: a late duplicate would show up now
    counts = {c: len(api.messages_to(c)) for c in chats}
    twice = {c for c, n in counts.items() if n != 1}
    # None twice, but for a reply the kill cut between its sending and its record: its fate
    # is unknown to any replica, and a lost answer is worse. That window is milliseconds per
    # answer, but a burst keeps many answers in it at once (17 of 100 on a loaded CI machine),
    # so it is bounded by a third of the burst: most of the burst is neither lost nor repeated.
    assert twice <= in_flight, (twice, in_flight)
    assert len(in_flight) < len(chats) // 3 and all(counts[c] == 2 for c in twice)
    assert all("26 km" in api.messages_to(c)[0]["text"] for c in chats)

    if len(cluster.replicas) > 1:
        cluster.start_replica(0)
    # Nothing lost in the database: every update done, every answer and subscription kept.
    pending = cluster.sql("SELECT count(*) FROM inbox WHERE status = 'pending'")[0][0]
    assert pending == 0
    stored = cluster.sql("SELECT count(DISTINCT chat_id) FROM answers "
                         "WHERE chat_id >= 10000 AND chat_id < 10100")[0][0]
    assert stored == len(chats)
    assert cluster.sql("SELECT count(*) FROM subscriptions WHERE chat_id = -700")[0][0] == 1
    sent = api.user_message(-700, "/following", user_id=ADMIN, via=cluster.replica_url(0)
                            + HOOK_PATH)
    assert "Subscribed to all new articles" in reply_to(api, -700, sent)["text"]
