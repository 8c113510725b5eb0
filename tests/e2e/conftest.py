"""The end-to-end tests' shared fixture: a fake Bot API server per test module."""

from __future__ import annotations

import pytest

from tests.support.fake_bot_api import FakeTelegram


@pytest.fixture(scope="module")
def api():
    server = FakeTelegram()
    server.start()
    yield server
    server.stop()
