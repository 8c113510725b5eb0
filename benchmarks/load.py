"""Load and soak: 50 chats against the real bot process through the fake Bot API on 127.0.0.1.

    .venv/bin/python -m benchmarks.load [--burst 500] [--rate 4] [--seconds 60] [--squad F]

A burst of questions, then a steady rate for a bounded time during which the index is rebuilt
and hot-swapped, and one user floods. Everything stays on 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from benchmarks.common import (
    ROOT,
    SHARED,
    cpu_line,
    load_squad,
    percentile,
    table,
    write_squad_corpus,
)
from tests.support.fake_bot_api import FakeTelegram

QUESTIONS = [
    "How far is Qasr Bin Ghashir from Tripoli?", "Who retook Tripoli International Airport?",
    "Where did Haftar's militia flee?", "How many bodies did Al-Wefaq forces count?",
    "Who is Lavrov?", "When did Haftar launch the offensive?",
    "Who won the football world cup in 2010?", "What did the Turkish foreign minister say?",
]
PRIVATE, GROUPS = 25, 25
FLOODER = 9_999


def squad_questions(path: Path) -> list[str]:
    return [qa["question"] for article in load_squad(path) for p in article["paragraphs"]
            for qa in p["qas"]][:300]


class Load:
    def __init__(self, api: FakeTelegram) -> None:
        self.api = api
        self.mark = len(api.sent)  # replies before this belong to an earlier phase
        self.sent: dict[int, list[float]] = defaultdict(list)  # chat -> send times (FIFO)
        self.group_sent: dict[tuple[int, int], float] = {}

    def ask(self, chat: int, question: str) -> None:
        if chat < 0:
            message = self.api.user_message(chat, f"/ask {question}", user_id=-chat)
            self.group_sent[(chat, message["message_id"])] = time.monotonic()
        else:
            self.api.user_message(chat, question, user_id=chat)
            self.sent[chat].append(time.monotonic())

    def latencies(self, exclude: set[int] = frozenset()) -> tuple[list[float], int, int]:
        """Reply latencies (ms), questions sent, questions answered."""
        replies: dict[int, list[float]] = defaultdict(list)
        lat: list[float] = []
        with self.api.lock:
            sent_messages = list(self.api.sent[self.mark:])
        answered = 0
        for message in sent_messages:
            chat = message["chat"]["id"]
            if chat in exclude or "asking faster" in message["text"]:
                continue
            stamp = message.get("_received", 0.0)
            if chat < 0:
                start = self.group_sent.get((chat, message["reply_to"]))
                if start is not None:
                    lat.append((stamp - start) * 1000)
                    answered += 1
            else:
                replies[chat].append(stamp)
        for chat, stamps in replies.items():
            for start, end in zip(self.sent[chat], stamps, strict=False):
                lat.append((end - start) * 1000)
                answered += 1
        total = sum(len(v) for c, v in self.sent.items() if c not in exclude) + len(
            [k for k in self.group_sent if k[0] not in exclude])
        return lat, total, answered


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--rate", type=float, default=4.0, help="questions per second, steady")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the steady phase")
    parser.add_argument("--squad", type=Path, default=SHARED / "squad2_dev_subset.json")
    args = parser.parse_args(argv)
    print(cpu_line())
    work = Path(tempfile.mkdtemp(prefix="verbatim-load-"))
    corpus = work / "corpus"
    corpus.mkdir()
    (corpus / "tripoli-airport.txt").write_text(
        (ROOT / "corpus" / "tripoli-airport.txt").read_text(encoding="utf-8"), encoding="utf-8")
    squad = load_squad(args.squad)
    write_squad_corpus(squad[:3], corpus / "squad")
    env = {**os.environ, "CORPUS_DIR": str(corpus), "INDEX_DIR": str(work / "index"),
           "DATA_DIR": str(work / "data"), "LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "build_index.py", "--quiet"], cwd=ROOT, env=env, check=True)
    questions = QUESTIONS + squad_questions(args.squad)

    api = FakeTelegram()
    api.start()
    original_send = api.api_sendMessage

    def stamped(params):  # record when each reply arrived
        message = original_send(params)
        with api.lock:
            api.sent[-1]["_received"] = time.monotonic()
        return message

    api.api_sendMessage = stamped
    chats = list(range(1, PRIVATE + 1)) + [-(1000 + i) for i in range(GROUPS)]
    for chat in chats[PRIVATE:]:
        api.add_chat(chat, "supergroup", f"Group {chat}")
    bot_env = {**env, "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_BASE_URL": api.base_url,
               "USER_QUESTIONS_PER_MINUTE": "30", "CHAT_QUESTIONS_PER_MINUTE": "60"}
    with open(work / "bot.log", "w") as log:
        bot = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=bot_env,
                               stdout=subprocess.DEVNULL, stderr=log)
    try:
        deadline = time.monotonic() + 120
        while not api.commands and time.monotonic() < deadline:
            time.sleep(0.2)
        load = Load(api)
        rng = random.Random(0)
        burst_start = time.monotonic()
        for i in range(args.burst):
            load.ask(chats[i % len(chats)], rng.choice(questions))
        wait_answered(load, args.burst, timeout=600)
        burst_seconds = time.monotonic() - burst_start
        burst_lat, burst_total, burst_done = load.latencies()

        steady = Load(api)
        (corpus / "late-news.md").write_text(
            "---\ntitle: Late news\n---\nThe airport reopened to civilian flights on Sunday.\n",
            encoding="utf-8")
        rebuild = None
        start = time.monotonic()
        n = 0
        while time.monotonic() - start < args.seconds:
            if rebuild is None and time.monotonic() - start > args.seconds / 4:
                rebuild = subprocess.Popen([sys.executable, "build_index.py", "--quiet"],
                                           cwd=ROOT, env=env)
            if n % 10 == 0:
                for _ in range(5):
                    api.user_message(FLOODER, rng.choice(questions), user_id=FLOODER)
            steady.ask(chats[n % len(chats)], rng.choice(questions))
            n += 1
            time.sleep(max(0.0, start + n / args.rate - time.monotonic()))
        if rebuild is not None:
            rebuild.wait(300)
        wait_answered(steady, n, timeout=300, exclude={FLOODER})
        steady_lat, steady_total, steady_done = steady.latencies(exclude={FLOODER})
        api.user_message(7_777, "When did the airport reopen to civilian flights?", user_id=7_777)
        try:
            reply = api.wait_for(lambda m: m["chat"]["id"] == 7_777, timeout=60)
            swapped = "Late news" in reply[0]["text"]
        except TimeoutError:
            swapped = False
        rss = peak_rss_mb(bot.pid)
    finally:
        bot.terminate()
        bot.wait(20)
        api.stop()
    rows = [
        ["burst", burst_total, burst_done, burst_total - burst_done,
         percentile(burst_lat, 50), percentile(burst_lat, 95), percentile(burst_lat, 99),
         burst_done / burst_seconds],
        [f"steady {args.rate}/s + index swap + flood", steady_total, steady_done,
         steady_total - steady_done, percentile(steady_lat, 50), percentile(steady_lat, 95),
         percentile(steady_lat, 99), steady_done / args.seconds],
    ]
    print(table(["phase", "sent", "answered", "lost", "p50 ms", "p95 ms", "p99 ms",
                 "answered/s"], rows))
    print(f"\nPeak RSS of the bot: {rss:.0f} MB; the article added during the steady phase was "
          f"answered from after the swap: {swapped}; one user flooded 5 questions per 10 "
          "(limit 30 a minute), its questions excluded above")


def wait_answered(load: Load, expected: int, timeout: float,
                  exclude: set[int] = frozenset()) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, _, answered = load.latencies(exclude)
        if answered >= expected:
            return
        time.sleep(0.5)


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


if __name__ == "__main__":
    main()
