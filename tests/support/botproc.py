"""Running the real bot process (`python -m bot`) against a Bot API server in tests."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from index.encoders import TorchEncoder, export_onnx, model_key
from index.settings import PACKAGED_MODEL
from tests.support.fake_bot_api import FakeTelegram
from tests.support.workspace import ROOT


@functools.cache
def _session_encoders() -> Path:
    """One ONNX export for every bot of this test run (8 s each otherwise); test_backends
    covers the export itself."""
    folder = Path(tempfile.mkdtemp(prefix="verbatim-encoders-"))
    atexit.register(shutil.rmtree, folder, True)
    encoder = TorchEncoder(PACKAGED_MODEL)
    export_onnx(encoder, folder / model_key(encoder.path))
    return folder


def share_encoders(index_dir: Path) -> None:
    """Point an index's `encoders/` cache at the session's export, unless it has its own."""
    target = Path(index_dir) / "encoders"
    if not target.exists() and not target.is_symlink():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(_session_encoders(), target_is_directory=True)


class BotProcess:
    """A running `python -m bot`, its log file, and the fake server it talks to."""

    def __init__(self, api: FakeTelegram, settings, extra_env: dict[str, str] | None = None):
        self.api = api
        self.log = Path(settings.data_dir) / "bot.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        share_encoders(settings.resolved_index_dir)
        inherited = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env = {**inherited, "TELEGRAM_BOT_TOKEN": api.token, "TELEGRAM_BASE_URL": api.base_url,
               "INDEX_DIR": str(settings.resolved_index_dir), "DATA_DIR": str(settings.data_dir),
               "RELOAD_INTERVAL_SECONDS": "1", "LOG_LEVEL": "DEBUG",
               "PYTHONUNBUFFERED": "1", **(extra_env or {})}
        with open(self.log, "a") as log:  # a restarted bot appends to its log
            self.process = subprocess.Popen([sys.executable, "-m", "bot"], cwd=ROOT, env=env,
                                            stdout=log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_bot(api: FakeTelegram, settings, env: dict[str, str] | None = None) -> BotProcess:
    """Start the bot and wait until it registered its commands (it is serving then)."""
    api.commands = []
    bot = BotProcess(api, settings, env)
    deadline = time.monotonic() + 120
    try:
        while not api.commands:
            assert bot.process.poll() is None, bot.log.read_text()
            assert time.monotonic() < deadline, "bot did not start"
            time.sleep(0.2)
    except BaseException:
        bot.stop()  # never leave a bot process behind
        raise
    return bot


def wait_until(predicate, timeout: float = 60.0, message: str = "condition not reached") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, message
        time.sleep(0.2)
