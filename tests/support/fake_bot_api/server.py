"""`FakeTelegram`, served over HTTP on 127.0.0.1: routing `/bot<token>/<method>`, parameters
(form-encoded or JSON) and `{"ok": ..., "result": ...}` answers as python-telegram-bot reads
them."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs

from tests.support.fake_bot_api.errors import BadRequest, Gone
from tests.support.fake_bot_api.methods import BotMethods
from tests.support.fake_bot_api.user import UserSide

JSON_FIELDS = {"reply_markup", "reply_parameters", "commands", "entities", "link_preview_options",
               "allowed_updates", "scope", "results", "result", "button"}
INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "user_id",
              "message_thread_id", "reply_to_message_id", "cache_time"}


class FakeTelegram(UserSide, BotMethods):
    """The server's state and the user's side of the conversation."""

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


class _QuietServer(ThreadingHTTPServer):
    """A client that hung up (the bot stopped mid long-poll) is normal, not an error."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


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


def _failure(code: int, description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "description": description}


class _Handler(BaseHTTPRequestHandler):
    """One Bot API request: `/bot<token>/<method>` in, JSON out; `api` is set per server."""

    protocol_version = "HTTP/1.1"
    api: ClassVar[FakeTelegram]

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
        prefix = f"/bot{self.api.token}/"
        if not path.startswith("/bot"):
            return self._reply(404, _failure(404, "Not Found"))
        if not path.startswith(prefix):
            return self._reply(401, _failure(401, "Unauthorized"))
        try:
            result = self._call(path[len(prefix):], body, query)
        except Gone:
            self.close_connection = True
            return None
        except BadRequest as err:
            payload = _failure(err.code, err.description)
            if err.parameters:
                payload["parameters"] = err.parameters
            return self._reply(err.code, payload)
        except (ValueError, TypeError) as err:
            return self._reply(400, _failure(400, f"Bad Request: {err}"))
        return self._reply(200, {"ok": True, "result": result})

    def _call(self, method: str, body: bytes, query: str) -> Any:
        if self.api.down:
            raise Gone
        params = _parse_params(body, self.headers.get("Content-Type", ""), query)
        return self.api.call(method, params)

    def _reply(self, code: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _handler_for(api: FakeTelegram) -> type[BaseHTTPRequestHandler]:
    """A handler class bound to this server's state."""
    return type("Handler", (_Handler,), {"api": api})
