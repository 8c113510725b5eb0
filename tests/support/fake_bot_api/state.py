"""What the fake server remembers: chats, message ids, updates, what the bot sent and called."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

BOT_ID = 1000

Failure = tuple[str, int, dict[str, Any] | None, str | None]  # method, code, parameters, text


@dataclass
class Chat:
    """A chat the user side created: private, group or forum, with its administrators."""

    id: int
    type: str = "private"
    title: str | None = None
    is_forum: bool = False
    members: dict[int, str] = field(default_factory=dict)


class TelegramState:
    """The server's state, shared by the user's side, the Bot API methods and the update queue;
    `lock` guards it all and is notified on every change tests may wait for."""

    def __init__(self, token: str = "123456:TEST-TOKEN", username: str = "VerbatimTestBot") -> None:
        self.token = token
        self.username = username
        self.lock = threading.Condition()
        self.updates: list[dict[str, Any]] = []
        self.update_ids = itertools.count(1)
        self.message_ids: dict[int, itertools.count[int]] = {}
        self.chats: dict[int, Chat] = {}
        self.sent: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.commands: list[dict[str, Any]] = []  # the menu for every language
        self.localized_commands: dict[str, list[dict[str, Any]]] = {}  # by language_code
        self.descriptions: dict[str, str] = {}  # by language_code ("" for every language)
        self.callback_answers: list[dict[str, Any]] = []
        self.callback_ids: set[str] = set()  # issued and not answered yet
        self.inline_queries: set[str] = set()
        self.inline_asked: dict[str, float] = {}  # query id -> when it was sent (monotonic)
        self.inline_answers: list[dict[str, Any]] = []
        self.guest_queries: set[str] = set()  # guest_query_id issued and not answered yet
        self.guest_answers: list[dict[str, Any]] = []
        self.posted: list[dict[str, Any]] = []  # messages users posted via the bot (inline)
        self.all_updates: list[dict[str, Any]] = []  # every update ever queued
        self.scoped_commands: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (scope, lang)
        self.failures: list[Failure] = []
        self.confirmed_offset = 0
        self.server: ThreadingHTTPServer | None = None
        self.down = False
        self.webhook: dict[str, Any] | None = None
        self.thread: threading.Thread | None = None
        self.in_delivery: set[int] = set()
        self.retry_at: dict[int, float] = {}
        self.delivery_attempts: dict[int, int] = {}
        self.delivered: list[int] = []
        self.last_update_id = 0
        self.routes: dict[int, str] = {}  # update_id -> URL: the load balancer's choice, in tests
        self.deliverers: list[threading.Thread] = []

    def _next_message_id(self, chat_id: int) -> int:
        counter = self.message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    def _chat_json(self, chat: Chat) -> dict[str, Any]:
        data: dict[str, Any] = {"id": chat.id, "type": chat.type}
        if chat.type == "private":
            data["first_name"] = "Tester"
        else:
            data["title"] = chat.title or f"Group {chat.id}"
        if chat.is_forum:
            data["is_forum"] = True
        return data
