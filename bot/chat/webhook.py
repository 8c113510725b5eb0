"""Webhook mode for one or many replicas behind a load balancer.

An update is acknowledged (HTTP 200) only once it is in the durable inbox, so a replica killed
mid-update loses nothing: Telegram delivers what got no 2xx again (to any replica), and what a
dead replica had stored is taken over by another once its claim's lease runs out. Each replica
also answers `GET /healthz` (index loaded, database reachable) for the load balancer, and, with
`PUBLIC_URL` set, the article pages (bot.article_page).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from typing import Any
from urllib.parse import urlparse

import tornado.httpserver
import tornado.web
from telegram import Update
from telegram.error import NetworkError

from bot.chat.context import ChatApp
from bot.chat.intake import InboxWorker
from bot.chat.pages import article_routes, log_request
from bot.chat.retry import Backoff, pause
from bot.engine import Engine
from bot.settings import Settings
from bot.state import State

__all__ = ["SECRET_HEADER", "WebhookServer", "webhook_secret"]

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def webhook_secret(settings: Settings) -> str:
    """The configured secret, or one derived from the token: the same on every replica."""
    if settings.telegram_webhook_secret:
        return settings.telegram_webhook_secret
    token = settings.telegram_bot_token or ""
    return hashlib.sha256(f"verbatim-webhook:{token}".encode()).hexdigest()[:48]


class WebhookServer(InboxWorker):
    """Receives updates over HTTP, stores them, then processes them like the poller does."""

    def __init__(self, app: ChatApp, state: State, settings: Settings, engine: Engine) -> None:
        super().__init__(app, state)
        self.settings = settings
        self.engine = engine
        self.secret = webhook_secret(settings)
        self.lease = settings.inbox_lease_seconds
        self.server: tornado.httpserver.HTTPServer | None = None

    async def take_in(self) -> None:
        path = urlparse(self.settings.telegram_webhook_url or "").path or "/"
        routes: list[tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]] = [
            (path, UpdateHandler, {"worker": self}),
            (r"/healthz", HealthHandler, {"worker": self}),
        ]
        if self.settings.public_url:
            routes += article_routes(self.engine, self.state)
        web = tornado.web.Application(routes, log_function=log_request)
        self.server = tornado.httpserver.HTTPServer(web, max_body_size=4 * 1024 * 1024)
        self.server.listen(self.settings.telegram_webhook_port,
                           address=self.settings.telegram_webhook_listen)
        log.info("webhook listening on %s:%d%s (worker %s)", self.settings.telegram_webhook_listen,
                 self.settings.telegram_webhook_port, path, self.worker)
        await self._register()
        while not self.stopping.is_set():
            try:
                await self._renew_and_sweep()
            except Exception as err:  # the database may be away for a while
                log.warning("inbox sweep failed (%s); trying again", err)
            # Three renewals per lease: a claim outlives a sweep that fails (the database
            # away for a moment) rather than being taken over by another replica.
            await pause(self.lease / 3, self.stopping)

    async def _register(self) -> None:
        """setWebhook, with back-off while the Bot API is away."""
        backoff = Backoff()
        while not self.stopping.is_set():
            try:
                await self.app.bot.set_webhook(
                    url=self.settings.telegram_webhook_url or "", secret_token=self.secret,
                    allowed_updates=Update.ALL_TYPES,
                    max_connections=self.settings.telegram_webhook_max_connections)
                return
            except NetworkError as err:  # TimedOut among them
                delay = backoff.next()
                log.warning("setWebhook failed (%s); retrying in %.0f s", err, delay)
                await pause(delay)

    async def _renew_and_sweep(self) -> None:
        """Keep this replica's claims alive; take over updates whose claim ran out."""
        mine = list(self.claimed)
        if mine:
            await asyncio.to_thread(self.state.inbox.renew, self.worker, mine)
        stale = await asyncio.to_thread(self.state.inbox.claim_stale, self.worker, self.lease)
        for update_id, payload in stale:
            log.info("taking over update %s (its claim ran out)", update_id)
            await self._spawn(update_id, payload)

    async def stop_intake(self) -> None:
        if self.server is not None:
            self.server.stop()

    async def receive(self, body: bytes) -> int:
        """Store one posted update and start on it; the HTTP status to answer."""
        if self.stopping.is_set():
            return 503  # Telegram delivers it again, through another replica
        try:
            data = json.loads(body)
            update_id = int(data["update_id"])
        except (ValueError, KeyError, TypeError):
            return 400
        payload = body.decode("utf-8")
        try:
            fresh = await asyncio.to_thread(self.state.inbox.add, [(update_id, payload)],
                                            self.worker)
        except Exception as err:
            log.warning("could not store update %s (%s); Telegram will deliver it again",
                        update_id, err)
            return 503
        if fresh:
            await self._spawn(update_id, payload)
        return 200

    async def health(self) -> tuple[int, dict[str, object]]:
        """For the load balancer. The worker name (host and pid) is not in it: the endpoint
        is public, and that name is in this replica's log."""
        version = self.engine.version
        database = await asyncio.to_thread(self.state.ping)
        body: dict[str, object] = {"index": version, "database": database,
                                   "in_flight": len(self.in_flight)}
        ready = version is not None and database and not self.stopping.is_set()
        return (200 if ready else 503), body


class UpdateHandler(tornado.web.RequestHandler):
    def initialize(self, worker: WebhookServer) -> None:
        self.worker = worker

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.worker.secret.encode()):
            self.set_status(403)
            return
        self.set_status(await self.worker.receive(self.request.body))


class HealthHandler(tornado.web.RequestHandler):
    def initialize(self, worker: WebhookServer) -> None:
        self.worker = worker

    async def get(self) -> None:
        status, body = await self.worker.health()
        self.set_status(status)
        self.write(body)
