"""The end-to-end tests' shared fixtures: a fake Bot API server per test module, and the real
bot over the seed article's index talking to it (a module may start its own instead)."""

from __future__ import annotations

import pytest

from tests.support.botproc import start_bot
from tests.support.fake_bot_api import FakeTelegram


@pytest.fixture(scope="module")
def api():
    server = FakeTelegram()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bot(api, seed_settings):
    process = start_bot(api, seed_settings)
    yield process
    process.stop()
