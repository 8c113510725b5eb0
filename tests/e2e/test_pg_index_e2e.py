"""The PostgreSQL index (INDEX_BACKEND=postgresql) end to end: Telegram -> nginx -> two bot
replicas that hold no index files -> the state in one PostgreSQL and the index (pgvector) in
another, built by `build_index.py`; all started here (PostgreSQL 16 with pgvector from the PyPI
package pgserver).

The index database starts empty, is built, gains an article, and is stopped and started again;
a third replica joins after the build. Each replica's INDEX_DIR is an empty folder.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bot.engine import UNAVAILABLE as ENGINE_UNAVAILABLE
from tests.support.botproc import BotProcess, wait_until
from tests.support.fake_bot_api import FakeTelegram
from tests.support.services import Nginx, Postgres, free_port
from tests.support.texts import LIBYA, QUESTION
from tests.support.workspace import ROOT, SEED, make_settings

ADMIN = 7
GROUP = -510
HOOK_PATH = "/telegram/webhook"
SECRET = "pg-index-secret"
CEASEFIRE = "Where did the ceasefire talks take place?"


class PgIndexCluster:
    """The fake Telegram, nginx, the replicas, the state database and the index database."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.settings = make_settings(tmp, index_dir=tmp / "unused-index")
        self.settings.corpus_dir.mkdir()
        (self.settings.corpus_dir / SEED.name).write_bytes(SEED.read_bytes())
        self.state_pg = Postgres.with_pgvector()
        self.index_pg = Postgres.with_pgvector()
        self.ports = [free_port() for _ in range(3)]
        self.nginx = Nginx(self.ports[:2], HOOK_PATH)  # replicas 0 and 1; 2 joins later
        self.api = FakeTelegram()
        self.replicas: list[BotProcess] = []
        self.index_url = ""

    def start(self) -> None:
        """Everything but the third replica; `close` stops whatever got started."""
        self.state_pg.start()
        self.index_pg.start()
        self.index_url = self.index_pg.create_database("verbatim_index")  # empty until built
        self.api.start()
        self.api.add_chat(GROUP, "supergroup", "Newsroom", admins=(ADMIN,))
        self.nginx.start()
        for i in range(2):
            self.start_replica(i)
        for i in range(2):
            wait_until(lambda i=i: self.health(i) is not None, 120,
                       f"replica {i} never listened")  # health() shows the log of a dead one

    def empty_dir(self, i: int) -> Path:
        return self.tmp / f"index-dir-{i}"

    def start_replica(self, i: int) -> BotProcess:
        self.empty_dir(i).mkdir()
        env = {"DATABASE_URL": self.state_pg.url, "INDEX_BACKEND": "postgresql",
               "INDEX_DATABASE_URL": self.index_url, "INDEX_DIR": str(self.empty_dir(i)),
               # torch: no ONNX export is cached in INDEX_DIR/encoders, which stays empty
               "ENCODER_BACKEND": "torch-fp32",
               "TELEGRAM_WEBHOOK_URL": self.nginx.url + HOOK_PATH,
               "TELEGRAM_WEBHOOK_PORT": str(self.ports[i]), "TELEGRAM_WEBHOOK_SECRET": SECRET,
               "INBOX_LEASE_SECONDS": "4", "PUSH_INTERVAL_SECONDS": "0.5",
               "USER_QUESTIONS_PER_MINUTE": "1000", "CHAT_QUESTIONS_PER_MINUTE": "1000"}
        settings = self.settings.model_copy(update={"data_dir": self.tmp / f"replica-{i}"})
        process = BotProcess(self.api, settings, env)
        self.replicas.append(process)
        return process

    def url(self, i: int) -> str:
        return f"http://127.0.0.1:{self.ports[i]}"

    def health(self, i: int) -> dict | None:
        """The replica's /healthz body (200 or 503), None while it does not listen."""
        process = self.replicas[i]
        assert process.process.poll() is None, process.log.read_text()
        try:
            return httpx.get(self.url(i) + "/healthz", timeout=5).json()
        except httpx.HTTPError:
            return None

    def build_index(self) -> str:
        """`python build_index.py` into the index database, as a maintainer runs it."""
        env = {**os.environ, "INDEX_BACKEND": "postgresql", "INDEX_DATABASE_URL": self.index_url,
               "CORPUS_DIR": str(self.settings.corpus_dir), "ENCODER_BACKEND": "torch-fp32",
               "INDEX_DIR": str(self.tmp / "builder"), "DATA_DIR": str(self.tmp / "builder")}
        env.pop("DATABASE_URL", None)
        done = subprocess.run([sys.executable, "build_index.py", "--quiet"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def ask(self, chat: int, text: str, via: int | None = None, timeout: float = 30) -> dict:
        """The bot's reply to a message (through nginx, or straight to replica `via`)."""
        sent = self.api.user_message(chat, text, user_id=ADMIN if chat < 0 else chat,
                                     via=None if via is None else self.url(via) + HOOK_PATH)
        return self.api.wait_for(lambda m: m["chat"]["id"] == chat
                                 and m["message_id"] > sent["message_id"], timeout)[0]

    def close(self) -> None:
        for process in self.replicas:
            process.stop()
        self.nginx.stop()
        self.api.stop()
        self.index_pg.stop()
        self.state_pg.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    made = PgIndexCluster(tmp_path_factory.mktemp("pg-index"))
    try:
        made.start()
        yield made
    finally:
        made.close()


def quoted(message: dict) -> list[str]:
    """The blockquotes of a reply, as plain text."""
    return [html.unescape(re.sub(r"<[^>]+>", "", q))
            for q in re.findall(r"<blockquote[^>]*>(.*?)</blockquote>", message["html"], re.S)]


def test_an_empty_index_database_is_said_and_the_first_build_is_served(cluster):
    assert all(cluster.health(i)["index"] is None for i in range(2))
    assert ENGINE_UNAVAILABLE in cluster.ask(800, QUESTION)["text"]
    cluster.build_index()
    wait_until(lambda: all(cluster.health(i)["index"] for i in range(2)), 30,
               "the replicas did not pick the first build up")
    assert len({cluster.health(i)["index"] for i in range(2)}) == 1  # the same version row
    article = SEED.read_text(encoding="utf-8")
    for i in range(2):
        reply = cluster.ask(800 + i, QUESTION, via=i)
        quotes = quoted(reply)
        assert quotes and "26 km" in quotes[0], reply["text"]
        assert all(q in article for q in quotes)  # verbatim
    health = httpx.get(cluster.nginx.url + "/healthz", timeout=5)
    assert health.status_code == 200 and health.json()["database"] is True
    assert all(os.listdir(cluster.empty_dir(i)) == [] for i in range(2))


def test_a_new_article_is_pushed_once_to_each_subscriber(cluster):
    assert "Subscribed" in cluster.ask(GROUP, "/subscribe", via=0)["text"]
    assert "Subscribed to all new articles" in cluster.ask(GROUP, "/following", via=1)["text"]
    (cluster.settings.corpus_dir / "libya-talks.md").write_text(LIBYA, encoding="utf-8")
    assert "1 new" in cluster.build_index()
    cluster.api.wait_for(lambda m: m["chat"]["id"] == GROUP and "Ceasefire" in m["text"], 30)
    served = cluster.health(0)["index"]
    wait_until(lambda: cluster.health(1)["index"] == served, 10, "replica 1 kept the old one")
    time.sleep(3)  # several reload and delivery rounds of both replicas
    pushes = [m for m in cluster.api.messages_to(GROUP) if "Ceasefire" in m["text"]]
    assert len(pushes) == 1, [m["text"] for m in pushes]


def test_a_replica_started_later_answers_at_once_without_index_files(cluster):
    served = cluster.health(0)["index"]
    cluster.start_replica(2)
    wait_until(lambda: (cluster.health(2) or {}).get("index") == served, 120,
               "the third replica did not serve the current version")
    # Whether it answers at once, without copying the index, is what the folder check says;
    # the timeout is only a hang guard for a loaded machine.
    reply = cluster.ask(900, CEASEFIRE, via=2, timeout=120)
    assert any("Geneva" in q for q in quoted(reply)), reply["text"]
    assert os.listdir(cluster.empty_dir(2)) == []  # no index loaded, copied or cached
    time.sleep(2)  # its first reload rounds: the article was announced already
    assert len([m for m in cluster.api.messages_to(GROUP) if "Ceasefire" in m["text"]]) == 1


def test_the_index_database_stopped_is_said_and_recovered(cluster):
    cluster.index_pg.halt()
    try:
        for chat, via in ((950, None), (951, 2)):
            reply = cluster.ask(chat, QUESTION, via=via)
            assert ENGINE_UNAVAILABLE in reply["text"] and not quoted(reply)
        # Not only questions: a command reading the index says so (after its retries).
        assert ENGINE_UNAVAILABLE in cluster.ask(955, "/latest", via=0)["text"]
    finally:
        cluster.index_pg.resume()
    for chat, via in ((952, 0), (953, 1), (954, 2)):
        reply = cluster.ask(chat, QUESTION, via=via)
        assert "26 km" in quoted(reply)[0], reply["text"]
    pending = "SELECT update_id, payload FROM inbox WHERE status = 'pending'"
    wait_until(lambda: not cluster.state_pg.sql("verbatim", pending), 10,
               f"updates left pending: {cluster.state_pg.sql('verbatim', pending)}")
