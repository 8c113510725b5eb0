"""A small Bot API server for tests and for trying the bot by hand, on 127.0.0.1 only.

It speaks the HTTP protocol of https://core.telegram.org/bots/api as python-telegram-bot uses
it: form-encoded or JSON parameters, `{"ok": true, "result": ...}` answers, long-polling
`getUpdates` with offsets, message ids per chat, replies and forum topics, and 400 answers for
what Telegram refuses (HTML that does not parse, text over 4,096 UTF-16 units, unknown chats).

Tests drive the user's side through `FakeTelegram` methods in-process; a person runs
`python -m tests.support.fake_bot_api --port 8081` and types messages as a user in a private chat.

Modules: `server` (FakeTelegram over HTTP, routing), `methods` (the Bot API methods and what
they refuse), `updates` (update queue, getUpdates, webhook delivery), `user` (the user's side),
`text` (HTML entity parsing, `plain_text`, limits), `state` (chats, ids), `errors`.
"""

from tests.support.fake_bot_api.server import FakeTelegram
from tests.support.fake_bot_api.text import plain_text

__all__ = ["FakeTelegram", "plain_text"]
