"""A small Bot API server for tests and for trying the bot by hand, on 127.0.0.1 only.

It speaks the HTTP protocol of https://core.telegram.org/bots/api as python-telegram-bot uses
it: form-encoded or JSON parameters, `{"ok": true, "result": ...}` answers, long-polling
`getUpdates` with offsets, message ids per chat, replies and forum topics, and 400 answers for
what Telegram refuses (HTML that does not parse, text over 4,096 UTF-16 units, unknown chats).

Tests drive the user's side through `FakeTelegram` methods in-process; a person runs
`python -m tests.support.fake_bot_api --port 8081` and types messages as a user in a private chat.
"""

from __future__ import annotations

import argparse
import html.parser
import itertools
import json
import re
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

JSON_FIELDS = {"reply_markup", "reply_parameters", "commands", "entities", "link_preview_options",
               "allowed_updates", "scope", "results"}
INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "user_id",
              "message_thread_id", "reply_to_message_id", "cache_time"}
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
                "a", "code", "pre", "blockquote", "tg-emoji"}
BOT_ID = 1000
WEBHOOK_CONNECTIONS = 8  # Telegram's default max_connections is 40
WEBHOOK_RETRY_SECONDS = 1.0


class BadRequest(Exception):
    def __init__(self, description: str, code: int = 400,
                 parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.description, self.code, self.parameters = description, code, parameters


class _TelegramHTML(html.parser.HTMLParser):
    """Checks markup the way Telegram does and returns the plain text after entity parsing."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise BadRequest(f"Bad Request: can't parse entities: unsupported start tag \"{tag}\"")
        if tag == "a" and not dict(attrs).get("href"):
            raise BadRequest("Bad Request: can't parse entities: <a> without href")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            opened = self.stack[-1] if self.stack else tag
            raise BadRequest(f"Bad Request: can't parse entities: can't find end tag "
                             f"corresponding to start tag \"{opened}\"")
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def plain_text(text: str, parse_mode: str | None) -> str:
    if parse_mode is None:
        return text
    if parse_mode.upper() != "HTML":
        raise BadRequest(f"Bad Request: unsupported parse_mode {parse_mode}")
    parser = _TelegramHTML()
    for raw in _raw_ampersands(text):
        raise BadRequest(f"Bad Request: can't parse entities: unescaped '&' near {raw!r}")
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise BadRequest(f"Bad Request: can't parse entities: can't find end tag corresponding "
                         f"to start tag \"{parser.stack[-1]}\"")
    return "".join(parser.text)


def _raw_ampersands(text: str) -> list[str]:
    return re.findall(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)\S{0,6}", text)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Chat:
    id: int
    type: str = "private"
    title: str | None = None
    is_forum: bool = False
    members: dict[int, str] = field(default_factory=dict)


class FakeTelegram:
    """The server's state and the user's side of the conversation."""

    def __init__(self, token: str = "123456:TEST-TOKEN", username: str = "VerbatimTestBot") -> None:
        self.token = token
        self.username = username
        self.lock = threading.Condition()
        self.updates: list[dict[str, Any]] = []
        self.update_ids = itertools.count(1)
        self.message_ids: dict[int, itertools.count] = {}
        self.chats: dict[int, Chat] = {}
        self.sent: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.commands: list[dict[str, Any]] = []
        self.callback_answers: list[dict[str, Any]] = []
        self.callback_ids: set[str] = set()  # issued and not answered yet
        self.inline_queries: set[str] = set()
        self.inline_answers: list[dict[str, Any]] = []
        self.failures: list[tuple[str, int, dict[str, Any] | None, str | None]] = []
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

    # ---- serving -------------------------------------------------------------------------
    def start(self, port: int = 0) -> str:
        self.down = False
        handler = _handler_for(self)
        self.server = _QuietServer(("127.0.0.1", port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self.base_url

    def stop(self) -> None:
        """Go away like a real outage: long polls in progress are cut off without an answer."""
        with self.lock:
            self.down = True
            self.lock.notify_all()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # ---- the user's side -------------------------------------------------------------------
    def add_chat(self, chat_id: int, type_: str = "private", title: str | None = None,
                 is_forum: bool = False, admins: tuple[int, ...] = ()) -> Chat:
        with self.lock:
            chat = self.chats.get(chat_id) or Chat(chat_id, type_, title, is_forum)
            chat.members.update({a: "administrator" for a in admins})
            self.chats[chat_id] = chat
            return chat

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

    def user_message(self, chat_id: int, text: str | None = None, user_id: int = 42,
                     reply_to: dict[str, Any] | None = None, thread_id: int | None = None,
                     sticker: bool = False, entities: list[dict[str, Any]] | None = None,
                     sender_chat: bool = False, first_name: str | None = None,
                     username: str | None = None, via: str | None = None) -> dict[str, Any]:
        """The user sends a message; returns the message as the bot will receive it."""
        with self.lock:
            chat = self.chats.get(chat_id) or self.add_chat(chat_id)
            message: dict[str, Any] = {
                "message_id": self._next_message_id(chat_id),
                "date": int(time.time()),
                "chat": self._chat_json(chat),
                "from": {"id": user_id, "is_bot": False,
                         "first_name": first_name or f"User{user_id}"},
            }
            if username:
                message["from"]["username"] = username
            if sender_chat:
                message["sender_chat"] = self._chat_json(chat)
                message["from"] = {"id": 1087968824, "is_bot": True, "first_name": "Group",
                                   "username": "GroupAnonymousBot"}
            if sticker:
                message["sticker"] = {"file_id": "STICKER", "file_unique_id": "S1", "type":
                                      "regular", "width": 512, "height": 512,
                                      "is_animated": False, "is_video": False}
            else:
                message["text"] = text or ""
                ents = list(entities or [])
                if text and text.startswith("/") and not ents:
                    command = text.split()[0]
                    ents.append({"type": "bot_command", "offset": 0,
                                 "length": utf16_length(command)})
                if ents:
                    message["entities"] = ents
            if reply_to is not None:
                message["reply_to_message"] = reply_to
            if thread_id is not None:
                message["message_thread_id"] = thread_id
                message["is_topic_message"] = True
            self._push({"message": message}, via)
            return message

    def press_button(self, message: dict[str, Any] | None, data: str, user_id: int = 42,
                     inline_message_id: str | None = None) -> str:
        """The user presses a button of `message` (any data: a client can send what it likes),
        or of an inline message (no chat then) when `message` is None."""
        with self.lock:
            callback_id = f"cb{next(self.update_ids)}"
            query: dict[str, Any] = {
                "id": callback_id, "chat_instance": "ci", "data": data,
                "from": {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}}
            if message is not None:
                query["message"] = message
            else:
                query["inline_message_id"] = inline_message_id or f"inline-{callback_id}"
            self.callback_ids.add(callback_id)
            self._push({"callback_query": query})
            return callback_id

    def inline_query(self, query: str, user_id: int = 42) -> str:
        """The user types `@bot query` in any chat: an update that carries no chat."""
        with self.lock:
            query_id = f"iq{next(self.update_ids)}"
            self.inline_queries.add(query_id)
            self._push({"inline_query": {
                "id": query_id, "query": query, "offset": "",
                "from": {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}}})
            return query_id

    def answer_to(self, callback_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait for the bot's answerCallbackQuery for this press."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for answer in self.callback_answers:
                    if answer.get("callback_query_id") == callback_id:
                        return answer
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"callback query {callback_id} was not answered")
                self.lock.wait(remaining)

    def _push(self, payload: dict[str, Any], via: str | None = None) -> None:
        """Queue an update; `via` delivers this one webhook update to that URL instead."""
        payload = {"update_id": next(self.update_ids), **payload}
        self.last_update_id = payload["update_id"]
        if via:
            self.routes[payload["update_id"]] = via
        self.updates.append(payload)
        self.lock.notify_all()

    def fail_next(self, method: str, code: int, parameters: dict[str, Any] | None = None,
                  description: str | None = None) -> None:
        """Make the next call of `method` fail with this HTTP code (429 with retry_after...)."""
        with self.lock:
            self.failures.append((method, code, parameters, description))

    def wait_for(self, predicate, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait until some sent messages match; returns all that do."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                found = [m for m in self.sent if predicate(m)]
                if found:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("no matching message from the bot")
                self.lock.wait(remaining)

    def messages_to(self, chat_id: int) -> list[dict[str, Any]]:
        with self.lock:
            return [m for m in self.sent if m["chat"]["id"] == chat_id]

    # ---- the Bot API -----------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any]) -> Any:
        with self.lock:
            self.calls.append((method, params))
            for i, (name, code, parameters, description) in enumerate(self.failures):
                if name == method:
                    del self.failures[i]
                    description = description or ("Too Many Requests: retry after"
                                                  if code == 429 else "Internal Server Error")
                    raise BadRequest(description, code, parameters)
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            raise BadRequest(f"Not Found: method {method} not found", 404)
        return handler(params)

    def api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Verbatim", "username": self.username,
                "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}

    def api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    def api_setWebhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url") or ""
        if url and not url.startswith(("http://127.0.0.1", "https://127.0.0.1", "http://localhost")):
            raise BadRequest("Bad Request: this test server delivers only to 127.0.0.1")
        with self.lock:
            self.webhook = {"url": url, "secret_token": params.get("secret_token")}
            if url and not self.deliverers:
                for _ in range(WEBHOOK_CONNECTIONS):
                    thread = threading.Thread(target=self._deliver_loop, daemon=True)
                    thread.start()
                    self.deliverers.append(thread)
            self.lock.notify_all()
        return True

    # ---- webhook delivery, as Telegram does it ------------------------------------------------
    def _deliver_loop(self) -> None:
        """POST each update to the webhook; one that gets no 2xx is delivered again later."""
        while True:
            with self.lock:
                while True:
                    hook = self.webhook
                    now = time.monotonic()
                    ready = [] if self.down or not hook or not hook["url"] else [
                        u for u in self.updates if u["update_id"] not in self.in_delivery
                        and self.retry_at.get(u["update_id"], 0.0) <= now]
                    if ready:
                        update = ready[0]
                        self.in_delivery.add(update["update_id"])
                        break
                    self.lock.wait(0.1)
            url = self.routes.get(update["update_id"], hook["url"])
            ok = _post_update(url, hook.get("secret_token"), update)
            with self.lock:
                uid = update["update_id"]
                self.in_delivery.discard(uid)
                self.delivery_attempts[uid] = self.delivery_attempts.get(uid, 0) + 1
                if ok:
                    self.updates = [u for u in self.updates if u["update_id"] != uid]
                    self.delivered.append(uid)
                else:
                    self.retry_at[uid] = time.monotonic() + WEBHOOK_RETRY_SECONDS
                self.lock.notify_all()

    def undelivered(self) -> int:
        with self.lock:
            return len(self.updates)

    def api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        with self.lock:
            if self.webhook and self.webhook["url"]:
                raise BadRequest("Conflict: can't use getUpdates method while webhook is active; "
                                 "use deleteWebhook to delete the webhook first", 409)
            if offset:
                self.confirmed_offset = max(self.confirmed_offset, offset)
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            while True:
                if self.down:
                    raise _Gone
                pending = [u for u in self.updates if u["update_id"] >= self.confirmed_offset]
                if pending:
                    return pending[:limit]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self.lock.wait(remaining)

    def _chat_for(self, params: dict[str, Any]) -> Chat:
        chat_id = params.get("chat_id")
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise BadRequest("Bad Request: chat not found")
        return chat

    def api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = params.get("text") or ""
        visible = plain_text(text, params.get("parse_mode"))
        if not visible.strip():
            raise BadRequest("Bad Request: message text is empty")
        if utf16_length(visible) > 4096:
            raise BadRequest("Bad Request: message is too long")
        with self.lock:
            chat = self._chat_for(params)
            message: dict[str, Any] = {
                "message_id": self._next_message_id(chat.id), "date": int(time.time()),
                "chat": self._chat_json(chat),
                "from": self.api_getMe({}), "text": visible,
            }
            reply = params.get("reply_parameters") or {}
            reply_to = reply.get("message_id") or params.get("reply_to_message_id")
            if params.get("message_thread_id"):
                message["message_thread_id"] = params["message_thread_id"]
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            record = {**message, "html": text, "parse_mode": params.get("parse_mode"),
                      "reply_to": reply_to,
                      "link_preview_options": params.get("link_preview_options")}
            self.sent.append(record)
            self.lock.notify_all()
            return message

    def api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        text = params.get("text") or ""
        visible = plain_text(text, params.get("parse_mode"))
        if utf16_length(visible) > 4096:
            raise BadRequest("Bad Request: message is too long")
        with self.lock:
            chat = self._chat_for(params)
            for record in self.sent:
                if record["chat"]["id"] == chat.id and record["message_id"] == params.get(
                        "message_id"):
                    record.update(text=visible, html=text, edited=True)
                    if "reply_markup" in params:
                        record["reply_markup"] = params["reply_markup"]
                    self.lock.notify_all()
                    return {k: v for k, v in record.items() if k in (
                        "message_id", "date", "chat", "from", "text", "reply_markup")}
            raise BadRequest("Bad Request: message to edit not found")

    def api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        with self.lock:
            chat = self._chat_for(params)
            for record in self.sent:
                if record["chat"]["id"] == chat.id and record["message_id"] == params.get(
                        "message_id"):
                    record["reply_markup"] = params.get("reply_markup")
                    return {k: v for k, v in record.items() if k in (
                        "message_id", "date", "chat", "from", "text", "reply_markup")}
            raise BadRequest("Bad Request: message to edit not found")

    def api_sendChatAction(self, params: dict[str, Any]) -> bool:
        self._chat_for(params)
        return True

    def api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        """Each press is answered at most once, with at most 200 characters."""
        with self.lock:
            query_id = params.get("callback_query_id")
            if query_id not in self.callback_ids:
                raise BadRequest("Bad Request: query is too old and response timeout expired "
                                 "or query ID is invalid")
            if len(params.get("text") or "") > 200:
                raise BadRequest("Bad Request: MESSAGE_TOO_LONG")
            self.callback_ids.discard(query_id)
            self.callback_answers.append(params)
            self.lock.notify_all()
        return True

    def api_answerInlineQuery(self, params: dict[str, Any]) -> bool:
        with self.lock:
            query_id = params.get("inline_query_id")
            if query_id not in self.inline_queries:
                raise BadRequest("Bad Request: query is too old and response timeout expired "
                                 "or query ID is invalid")
            if not isinstance(params.get("results"), list):
                raise BadRequest("Bad Request: can't parse inline query results JSON object")
            self.inline_queries.discard(query_id)
            self.inline_answers.append(params)
            self.lock.notify_all()
        return True

    def api_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands") or []
        if not isinstance(commands, list):
            raise BadRequest("Bad Request: can't parse commands JSON object")
        self.commands = commands
        return True

    def api_getMyCommands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands

    def api_setMyDescription(self, params: dict[str, Any]) -> bool:
        return True

    def api_setMyShortDescription(self, params: dict[str, Any]) -> bool:
        return True

    def api_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for(params)
        user_id = params.get("user_id")
        status = chat.members.get(user_id, "member")
        member: dict[str, Any] = {"status": status, "user": {
            "id": user_id, "is_bot": False, "first_name": f"User{user_id}"}}
        if status == "administrator":
            member.update(can_be_edited=False, is_anonymous=False, can_manage_chat=True,
                          can_delete_messages=True, can_manage_video_chats=True,
                          can_restrict_members=True, can_promote_members=False,
                          can_change_info=True, can_invite_users=True, can_post_stories=False,
                          can_edit_stories=False, can_delete_stories=False)
        return member

    def api_getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for(params)
        return {**self._chat_json(chat), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                        "unique_gifts": False, "premium_subscription": False}}


class _Gone(Exception):
    """The server went away while a request was waiting."""


class _QuietServer(ThreadingHTTPServer):
    """A client that hung up (the bot stopped mid long-poll) is normal, not an error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


def _post_update(url: str, secret: str | None, update: dict[str, Any]) -> bool:
    request = urllib.request.Request(url, data=json.dumps(update).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    if secret:
        request.add_header("X-Telegram-Bot-Api-Secret-Token", secret)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _parse_params(body: bytes, content_type: str, query: str) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if body and content_type.startswith("application/json"):
        params = json.loads(body)
    else:
        pairs = parse_qs(body.decode("utf-8") if body else query, keep_blank_values=True)
        params = {k: v[-1] for k, v in pairs.items()}
        for key in list(params):
            if key in JSON_FIELDS and isinstance(params[key], str):
                params[key] = json.loads(params[key])
            elif isinstance(params[key], str) and params[key].lower() in ("true", "false") and (
                    key not in ("text",)):
                params[key] = params[key].lower() == "true"
    for key in INT_FIELDS:
        value = params.get(key)
        if isinstance(value, str) and value.lstrip("-").isdigit():
            params[key] = int(value)
    return params


def _handler_for(api: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            prefix = f"/bot{api.token}/"
            if not path.startswith("/bot"):
                return self._reply(404, {"ok": False, "error_code": 404,
                                         "description": "Not Found"})
            if not path.startswith(prefix):
                return self._reply(401, {"ok": False, "error_code": 401,
                                         "description": "Unauthorized"})
            method = path[len(prefix):]
            try:
                if api.down:
                    raise _Gone
                params = _parse_params(body, self.headers.get("Content-Type", ""), query)
                result = api.call(method, params)
            except _Gone:
                self.close_connection = True
                return None
            except BadRequest as err:
                payload: dict[str, Any] = {"ok": False, "error_code": err.code,
                                           "description": err.description}
                if err.parameters:
                    payload["parameters"] = err.parameters
                return self._reply(err.code, payload)
            except (ValueError, TypeError) as err:
                return self._reply(400, {"ok": False, "error_code": 400,
                                         "description": f"Bad Request: {err}"})
            return self._reply(200, {"ok": True, "result": result})

        def _reply(self, code: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


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
    shown = 0

    def printer() -> None:
        nonlocal shown
        while True:
            with api.lock:
                api.lock.wait(1.0)
                new, shown_now = api.sent[shown:], len(api.sent)
            shown = shown_now
            for message in new:
                print(f"\n[bot → chat {message['chat']['id']}]\n{message['text']}\n> ", end="",
                      flush=True)

    threading.Thread(target=printer, daemon=True).start()
    try:
        while True:
            line = input("> ")
            if line.strip():
                api.user_message(args.chat_id, line, user_id=args.chat_id)
    except (EOFError, KeyboardInterrupt):
        api.stop()


if __name__ == "__main__":
    main()
