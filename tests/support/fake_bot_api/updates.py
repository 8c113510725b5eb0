"""The update queue: long-polling `getUpdates` with offsets, and webhook delivery as Telegram
does it (several connections, a retry for each update that gets no 2xx)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from tests.support.fake_bot_api.errors import BadRequest, Gone
from tests.support.fake_bot_api.state import TelegramState

WEBHOOK_CONNECTIONS = 8  # Telegram's default max_connections is 40
WEBHOOK_RETRY_SECONDS = 1.0
WEBHOOK_HOSTS = ("http://127.0.0.1", "https://127.0.0.1", "http://localhost")


class UpdateQueue(TelegramState):
    """Updates waiting for the bot, and the Bot API methods that hand them out."""

    def _push(self, payload: dict[str, Any], via: str | None = None) -> None:
        """Queue an update; `via` delivers this one webhook update to that URL instead."""
        payload = {"update_id": next(self.update_ids), **payload}
        self.last_update_id = payload["update_id"]
        if via:
            self.routes[payload["update_id"]] = via
        self.updates.append(payload)
        self.all_updates.append(payload)
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
                    raise Gone
                pending = [u for u in self.updates if u["update_id"] >= self.confirmed_offset]
                if pending:
                    return pending[:limit]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self.lock.wait(remaining)

    def api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    def api_setWebhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url") or ""
        if url and not url.startswith(WEBHOOK_HOSTS):
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

    def _deliver_loop(self) -> None:
        """POST each update to the webhook; one that gets no 2xx is delivered again later."""
        while True:
            update, hook = self._next_for_delivery()
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

    def _next_for_delivery(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Wait for an update no connection is delivering and not waiting for its retry."""
        with self.lock:
            while True:
                hook = self.webhook
                now = time.monotonic()
                ready = [] if self.down or not hook or not hook["url"] else [
                    u for u in self.updates if u["update_id"] not in self.in_delivery
                    and self.retry_at.get(u["update_id"], 0.0) <= now]
                if ready and hook:
                    update = ready[0]
                    self.in_delivery.add(update["update_id"])
                    return update, hook
                self.lock.wait(0.1)


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
