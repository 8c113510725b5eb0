"""End to end: subscriptions, followed topics, hot reload, admin commands (real bot process)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from index import publish
from tests.support.botproc import BotProcess, start_bot
from tests.support.fake_bot_api import FakeTelegram
from tests.support.texts import LIBYA
from tests.support.workspace import ROOT, SEED, build, make_settings

ADMIN, MEMBER, MAINTAINER = 7, 8, 99
GROUP, FOLLOWER, DIGEST = -200, -300, -400

BREAD = """---
title: A simple recipe for sourdough bread
source: Kitchen Weekly
published: 2020-06-04
---
Mix flour, water and salt, then let the sourdough starter work overnight before baking the
loaf in a hot oven for forty minutes.
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory, encoder):
    tmp = tmp_path_factory.mktemp("updates")
    settings = make_settings(tmp)
    settings.corpus_dir.mkdir()
    shutil.copy(SEED, settings.corpus_dir / SEED.name)
    build(settings, encoder)
    api = FakeTelegram()
    api.start()
    api.add_chat(GROUP, "supergroup", "Newsroom", admins=(ADMIN,))
    api.add_chat(FOLLOWER, "group", "Libya watchers", admins=(ADMIN,))
    api.add_chat(DIGEST, "group", "Digest readers", admins=(ADMIN,))
    env = {"ADMIN_IDS": f"{MAINTAINER}", "PUSH_INTERVAL_SECONDS": "0.5",
           "USER_QUESTIONS_PER_MINUTE": "1000", "CHAT_QUESTIONS_PER_MINUTE": "1000"}
    bot = start_bot(api, settings, env)
    yield settings, api, bot, env
    bot.stop()
    api.stop()


def command(api, chat, text, user=ADMIN, **kwargs):
    sent = api.user_message(chat, text, user_id=user, **kwargs)
    return api.wait_for(lambda m: m["chat"]["id"] == chat and m["reply_to"] == sent["message_id"]
                        if chat < 0 else m["chat"]["id"] == chat and m["message_id"] >
                        sent["message_id"], timeout=60)[0]


def test_updates_flow(world, encoder):
    settings, api, bot, env = world
    manage_updates(api)
    rebuild_while_asking(settings, api)
    followers_get_matches_only(api)
    latest_and_digest(settings, api, encoder)
    restart_then_admin(settings, api, bot, env)


def manage_updates(api):
    # Only administrators manage a group's updates; the group itself (anonymous admin) may.
    refused = command(api, GROUP, "/subscribe", user=MEMBER)
    assert "Only the group's administrators" in refused["text"]
    assert "Subscribed" in command(api, GROUP, "/subscribe", user=ADMIN)["text"]
    anonymous = command(api, DIGEST, "/subscribe", sender_chat=True)
    assert "Subscribed" in anonymous["text"]
    assert "Following “Libya”" in command(api, FOLLOWER, "/follow Libya")["text"]
    listing = command(api, FOLLOWER, "/following")
    assert "“Libya”" in listing["text"] and "Not subscribed" in listing["text"]


def rebuild_while_asking(settings, api):
    # A maintainer adds articles and runs build_index.py; the running bot pushes them.
    (settings.corpus_dir / "libya-talks.md").write_text(LIBYA, encoding="utf-8")
    (settings.corpus_dir / "bread.md").write_text(BREAD, encoding="utf-8")
    build_run = subprocess.Popen(
        [sys.executable, "build_index.py", "--quiet"], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env={**os.environ, "CORPUS_DIR": str(settings.corpus_dir),
             "INDEX_DIR": str(settings.resolved_index_dir)})
    # Questions keep arriving while the index is rebuilt and swapped: none may fail.
    asked = []
    swap_over = None
    while swap_over is None or time.monotonic() < swap_over:
        asked.append(api.user_message(5, "How far is Qasr Bin Ghashir from Tripoli?", user_id=5))
        time.sleep(0.3)
        if swap_over is None and build_run.poll() is not None:
            swap_over = time.monotonic() + 3  # past the 1 s reload interval
    _, stderr = build_run.communicate()
    assert build_run.returncode == 0, stderr
    # How soon a push follows a build is benchmarks.fetch's to measure; the timeout here is a
    # hang guard for a loaded machine.
    pushes = api.wait_for(lambda m: m["chat"]["id"] == GROUP and "New article" in m["text"]
                          and "Ceasefire" in m["text"], timeout=120)
    assert "Delegations from both sides of the conflict" in pushes[0]["text"]
    assert 'href="https://example.org/libya-talks"' in pushes[0]["html"]
    api.wait_for(lambda m: m["chat"]["id"] == GROUP and "sourdough" in m["text"])
    deadline = time.monotonic() + 60
    while len([m for m in api.messages_to(5) if "26 km" in m["text"]]) < len(asked):
        assert time.monotonic() < deadline, "a question asked during the swap was not answered"
        time.sleep(0.2)


def followers_get_matches_only(api):
    # The follower gets only the matching article, with the matching sentence quoted.
    followed = api.wait_for(lambda m: m["chat"]["id"] == FOLLOWER and "New on" in m["text"])
    assert "Ceasefire talks resume in Libya" in followed[0]["text"]
    assert "conflict in Libya" in followed[0]["text"]
    time.sleep(3)
    assert not [m for m in api.messages_to(FOLLOWER) if "sourdough" in m["text"]]


def latest_and_digest(settings, api, encoder):
    # /latest: dated articles newest first, then undated ones.
    latest = command(api, GROUP, "/latest 3")
    text = latest["text"]
    assert text.index("Ceasefire") < text.index("sourdough") < text.index("tripoli-airport")

    # Many new articles at once reach a chat as one digest.
    for i in range(6):
        (settings.corpus_dir / f"brief-{i}.md").write_text(
            f"---\ntitle: Brief number {i}\n---\nShort news brief number {i} about markets.\n",
            encoding="utf-8")
    build(settings, encoder)
    for chat in (DIGEST, GROUP):
        digest = api.wait_for(lambda m, c=chat: m["chat"]["id"] == c
                              and "6 new articles" in m["text"])
        assert all(f"Brief number {i}" in digest[0]["text"] for i in range(6))
    assert not [m for m in api.messages_to(DIGEST) if "Brief number" in m["text"]
                and "6 new articles" not in m["text"]]


def restart_then_admin(settings, api, bot, env):
    # Restarting the bot neither loses subscriptions nor pushes an article twice.
    before = len(api.messages_to(GROUP))
    bot.stop()
    restarted = BotProcess(api, settings, env)
    try:
        listing = command(api, GROUP, "/following")
        assert "Subscribed to all new articles" in listing["text"]
        time.sleep(3)
        after = api.messages_to(GROUP)
        assert len(after) == before + 1  # only the reply to /following
        titles = [m["text"] for m in after if "New article" in m["text"]]
        assert len(titles) == len(set(titles))
        admin_commands_and_a_corrupt_index(settings, api)
    finally:
        restarted.stop()


def admin_commands_and_a_corrupt_index(settings, api):
    # Admin commands: refused for others, shown to maintainers.
    assert "for the bot's maintainers" in command(api, 11, "/stats", user=11)["text"]
    stats = command(api, MAINTAINER, "/stats", user=MAINTAINER)["text"]
    assert "Questions answered" in stats and "Subscribed chats: 2" in stats

    # A corrupt new index is reported to maintainers; the old one keeps serving. (A segment the
    # bot already holds is not read again: the broken one must be new to it.)
    serving = publish.current_version(settings.resolved_index_dir)
    broken = serving.parent / "20990101T000000000000Z-broken"
    shutil.copytree(serving, broken)
    manifest = json.loads((broken / publish.MANIFEST).read_text())
    segment = manifest["segments"][-1]
    (broken / publish.SEGMENTS / segment["name"]).rename(broken / publish.SEGMENTS / "seg-broken")
    segment["name"] = "seg-broken"
    (broken / publish.MANIFEST).write_text(json.dumps(manifest))
    (broken / publish.SEGMENTS / "seg-broken" / "passages.faiss").write_bytes(b"not a faiss file")
    (settings.resolved_index_dir / "CURRENT").write_text(broken.name + "\n")
    alert = api.wait_for(lambda m: m["chat"]["id"] == MAINTAINER and "not loaded" in m["text"],
                         timeout=30)
    assert "damaged" in alert[0]["text"]
    answer = command(api, 12, "How far is Qasr Bin Ghashir from Tripoli?", user=12)
    assert "26 km" in answer["text"]
    (settings.resolved_index_dir / "CURRENT").write_text(serving.name + "\n")
