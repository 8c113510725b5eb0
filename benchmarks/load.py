"""Load and soak: 50 chats against the real bot process through the fake Bot API on 127.0.0.1.

    .venv/bin/python -m benchmarks.load [--burst 500] [--rate 4] [--seconds 60] [--squad F]

A burst of questions, then a steady rate for a bounded time during which the index is rebuilt
and hot-swapped, and one user floods; then inline queries (`@bot question` in any chat) at the
same rate, timed to the bot's answerInlineQuery (Telegram drops answers later than 10 s).
Everything stays on 127.0.0.1 and stops by itself.
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
from collections.abc import Set as AbstractSet
from pathlib import Path

from benchmarks.common import (
    ROOT,
    SHARED,
    load_squad,
    percentile,
    table,
    write_squad_corpus,
)
from benchmarks.runner import prologue
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

    def latencies(self, exclude: AbstractSet[int] = frozenset()) -> tuple[list[float], int, int]:
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
    parser.add_argument("--inline", type=int, default=200, help="inline queries, last phase")
    args = prologue(parser, argv)
    work, env = prepare(args.squad)
    questions = QUESTIONS + squad_questions(args.squad)
    api = stamped_api()
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
        rng = random.Random(0)
        burst = burst_phase(api, chats, questions, rng, args.burst)
        steady = steady_phase(api, chats, questions, rng, args, env)
        swapped = answers_late_news(api)
        inline = inline_phase(api, questions, rng, args.inline, args.rate)
        rss = peak_rss_mb(bot.pid)
    finally:
        bot.terminate()
        bot.wait(20)
        api.stop()
    report([["burst", *burst], [f"steady {args.rate}/s + index swap + flood", *steady],
            [f"inline queries {args.rate}/s", *inline]], rss, swapped)


def small_corpus(work: Path, squad_path: Path) -> Path:
    """`work`/corpus with the seed article and the first 3 SQuAD articles."""
    corpus = work / "corpus"
    corpus.mkdir()
    (corpus / "tripoli-airport.txt").write_text(
        (ROOT / "corpus" / "tripoli-airport.txt").read_text(encoding="utf-8"), encoding="utf-8")
    write_squad_corpus(load_squad(squad_path)[:3], corpus / "squad")
    return corpus


def prepare(squad_path: Path) -> tuple[Path, dict[str, str]]:
    """A work folder with the small corpus, indexed; the bot's environment for it."""
    work = Path(tempfile.mkdtemp(prefix="verbatim-load-"))
    corpus = small_corpus(work, squad_path)
    env = {**os.environ, "CORPUS_DIR": str(corpus), "INDEX_DIR": str(work / "index"),
           "DATA_DIR": str(work / "data"), "LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "build_index.py", "--quiet"], cwd=ROOT, env=env, check=True)
    return work, env


def stamped_api() -> FakeTelegram:
    """The fake Bot API, started, recording when each reply arrived."""
    api = FakeTelegram()
    api.start()
    original_send = api.api_sendMessage

    def stamped(params):  # record when each reply arrived
        message = original_send(params)
        with api.lock:
            api.sent[-1]["_received"] = time.monotonic()
        return message

    api.api_sendMessage = stamped  # type: ignore[method-assign]
    original_inline = api.api_answerInlineQuery

    def stamped_inline(params):  # when each inline answer arrived
        answered = original_inline(params)
        with api.lock:
            api.inline_answers[-1]["_received"] = time.monotonic()
        return answered

    api.api_answerInlineQuery = stamped_inline  # type: ignore[method-assign]
    return api


def phase_row(load: Load, seconds: float, exclude: AbstractSet[int] = frozenset()) -> list[object]:
    """sent, answered, lost, p50, p95, p99 and answered per second of a phase."""
    lat, total, done = load.latencies(exclude)
    return [total, done, total - done, percentile(lat, 50), percentile(lat, 95),
            percentile(lat, 99), done / seconds]


def burst_phase(api: FakeTelegram, chats: list[int], questions: list[str],
                rng: random.Random, count: int) -> list[object]:
    """`count` questions at once over all chats; the phase's row."""
    load = Load(api)
    started = time.monotonic()
    for i in range(count):
        load.ask(chats[i % len(chats)], rng.choice(questions))
    wait_answered(load, count, timeout=600)
    return phase_row(load, time.monotonic() - started)


def steady_phase(api: FakeTelegram, chats: list[int], questions: list[str],
                 rng: random.Random, args: argparse.Namespace,
                 env: dict[str, str]) -> list[object]:
    """A steady rate while an article is added and the index rebuilt, one user flooding."""
    steady = Load(api)
    corpus = Path(env["CORPUS_DIR"])
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
    return phase_row(steady, args.seconds, exclude={FLOODER})


def inline_phase(api: FakeTelegram, questions: list[str], rng: random.Random, count: int,
                 rate: float) -> list[object]:
    """`count` inline queries at `rate` per second, each from its own user (the per-user
    limit is not what is measured); latency from the query to answerInlineQuery."""
    asked: dict[str, float] = {}
    start = time.monotonic()
    for n in range(count):
        asked[api.inline_query(rng.choice(questions), user_id=50_000 + n)] = time.monotonic()
        time.sleep(max(0.0, start + (n + 1) / rate - time.monotonic()))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with api.lock:
            done = {a["inline_query_id"]: a["_received"] for a in api.inline_answers
                    if a.get("inline_query_id") in asked and "_received" in a}
        if len(done) >= count:
            break
        time.sleep(0.5)
    latencies = [(done[q] - t) * 1000 for q, t in asked.items() if q in done]
    seconds = time.monotonic() - start
    return [count, len(done), count - len(done), percentile(latencies, 50),
            percentile(latencies, 95), percentile(latencies, 99), len(done) / seconds]


def answers_late_news(api: FakeTelegram) -> bool:
    """Whether the article added during the steady phase is answered from (after the swap)."""
    api.user_message(7_777, "When did the airport reopen to civilian flights?", user_id=7_777)
    try:
        reply = api.wait_for(lambda m: m["chat"]["id"] == 7_777, timeout=60)
    except TimeoutError:
        return False
    return "Late news" in reply[0]["text"]


def report(rows: list[list[object]], rss: float, swapped: bool) -> None:
    print(table(["phase", "sent", "answered", "lost", "p50 ms", "p95 ms", "p99 ms",
                 "answered/s"], rows))
    print(f"\nPeak RSS of the bot: {rss:.0f} MB; the article added during the steady phase was "
          f"answered from after the swap: {swapped}; one user flooded 5 questions per 10 "
          "(limit 30 a minute), its questions excluded above")


def wait_answered(load: Load, expected: int, timeout: float,
                  exclude: AbstractSet[int] = frozenset()) -> None:
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
