"""`python -m tests.support.fake_bot_api --port 8081`: a Bot API server to type into as a user."""

from __future__ import annotations

import argparse
import threading

from tests.support.fake_bot_api.server import FakeTelegram


def _print_replies(api: FakeTelegram) -> None:
    """Print each message the bot sends, as it arrives."""
    shown = 0
    while True:
        with api.lock:
            api.lock.wait(1.0)
            new, shown = api.sent[shown:], len(api.sent)
        for message in new:
            print(f"\n[bot → chat {message['chat']['id']}]\n{message['text']}\n> ", end="",
                  flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API server on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-TOKEN")
    parser.add_argument("--chat-id", type=int, default=42, help="the private chat you type in")
    args = parser.parse_args()
    api = FakeTelegram(token=args.token)
    api.start(args.port)
    print(f"Bot API on http://127.0.0.1:{api.port}. Start the bot with:\n"
          f"  TELEGRAM_BOT_TOKEN={args.token} "
          f"TELEGRAM_BASE_URL=http://127.0.0.1:{api.port}/bot .venv/bin/python -m bot\n"
          "Then type messages here as a user (Ctrl-D quits).")
    threading.Thread(target=_print_replies, args=(api,), daemon=True).start()
    try:
        while True:
            line = input("> ")
            if line.strip():
                api.user_message(args.chat_id, line, user_id=args.chat_id)
    except (EOFError, KeyboardInterrupt):
        api.stop()


if __name__ == "__main__":
    main()
