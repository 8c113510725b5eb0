"""Webhook mode: Telegram's secret token header is required; updates posted with it are answered."""

from __future__ import annotations

import json
import socket
import time

import httpx

from tests.support.botproc import BotProcess, wait_until
from tests.support.fake_bot_api import FakeTelegram
from tests.support.services import free_port
from tests.support.texts import QUESTION, answered


def test_webhook_rejects_requests_without_the_secret(seed_settings, tmp_path):
    api = FakeTelegram()
    api.start()
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram-hook"
    settings = seed_settings.model_copy(update={"data_dir": tmp_path / "data"})
    bot = BotProcess(api, settings, {"TELEGRAM_WEBHOOK_URL": url,
                                     "TELEGRAM_WEBHOOK_PORT": str(port),
                                     "TELEGRAM_WEBHOOK_SECRET": "s3cret-token"})
    try:
        wait_until(lambda: api.webhook is not None, 120, "the bot did not set its webhook")
        assert api.webhook == {"url": url, "secret_token": "s3cret-token"}
        api.add_chat(700)
        update = {"update_id": 1, "message": {
            "message_id": 1, "date": int(time.time()), "text": QUESTION,
            "chat": {"id": 700, "type": "private", "first_name": "T"},
            "from": {"id": 700, "is_bot": False, "first_name": "T"}}}
        body = json.dumps(update)
        headers = {"Content-Type": "application/json"}
        refused = httpx.post(url, content=body, headers=headers, timeout=10)
        assert refused.status_code == 403
        wrong = httpx.post(url, content=body, timeout=10,
                           headers={**headers, "X-Telegram-Bot-Api-Secret-Token": "guess"})
        assert wrong.status_code == 403
        time.sleep(1)
        assert not api.messages_to(700)
        accepted = httpx.post(url, content=body, timeout=10,
                              headers={**headers, "X-Telegram-Bot-Api-Secret-Token":
                                       "s3cret-token"})
        assert accepted.status_code == 200
        wait_until(lambda: answered(api, 700), 60)
    finally:
        bot.stop()
        api.stop()


def test_webhook_port_in_use_stops_the_bot_with_the_reason(seed_settings, tmp_path):
    api = FakeTelegram()
    api.start()
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    settings = seed_settings.model_copy(update={"data_dir": tmp_path / "data"})
    bot = BotProcess(api, settings, {"TELEGRAM_WEBHOOK_URL": f"http://127.0.0.1:{port}/hook",
                                     "TELEGRAM_WEBHOOK_PORT": str(port)})
    try:
        assert bot.process.wait(120) == 1
        assert "cannot take updates in" in bot.log.read_text()
    finally:
        bot.stop()
        taken.close()
        api.stop()
