"""Settings: names without prefix, list parsing, one clear line for a wrong value."""

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from bot.settings import Settings
from index.settings import describe_error
from tests.support.workspace import ROOT


def test_list_settings_accept_json_or_commas(monkeypatch):
    monkeypatch.setenv("ADMIN_IDS", "[1, 2]")
    monkeypatch.setenv("ALLOWED_CHAT_IDS", "-100, 5")
    settings = Settings(_env_file=None)
    assert settings.admin_ids == [1, 2]
    assert settings.allowed_chat_ids == [-100, 5]


def test_defaults_and_env_names(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BASE_URL", "http://127.0.0.1:9/bot")
    settings = Settings(_env_file=None)
    assert settings.telegram_base_url == "http://127.0.0.1:9/bot"
    assert settings.telegram_base_file_url == "https://api.telegram.org/file/bot"
    assert str(settings.resolved_index_dir) == "data/index"


def test_wrong_setting_names_it(monkeypatch):
    monkeypatch.setenv("MAX_QUESTION_CHARS", "many")
    with pytest.raises(ValidationError) as err:
        Settings(_env_file=None)
    assert describe_error(err.value).startswith("Setting MAX_QUESTION_CHARS is invalid")


def test_unknown_model_path_is_one_clear_line(tmp_path):
    env = {**os.environ, "EMBEDDING_MODEL": str(tmp_path / "no-model"),
           "INDEX_DIR": str(tmp_path / "ix")}
    result = subprocess.run([sys.executable, "-m", "bot", "ask", "question?"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "EMBEDDING_MODEL" in result.stderr and "Traceback" not in result.stderr


def test_migrate_command_upgrades_an_old_database(tmp_path):
    import sqlite3

    from bot.state import MIGRATIONS, State

    url = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    old = State(url)
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with old.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    with old.engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO answers (chat_id, question, abstained, quotes, suggestions, latency_ms,"
            " created_at) VALUES (1, 'kept?', 0, '[]', '[]', 1.0, '2026-01-01')")
    old.close()
    env = {**os.environ, "DATA_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "bot", "migrate"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    db = sqlite3.connect(tmp_path / "state.sqlite3")
    assert db.execute("SELECT question FROM answers").fetchall() == [("kept?",)]
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"subscriptions", "follows", "outbox", "inbox", "rate_counters"} <= tables


def test_rate_counter_is_exact_under_concurrency(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from bot.state import State

    state = State(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    state.migrate()
    with ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(lambda _: state.count_event("user:1"), range(40)))
    assert sorted(counts) == list(range(1, 41))
    assert state.count_event("user:1", window_seconds=0) == 1  # a new window starts over


def test_env_example_lists_every_setting_and_loads():
    import re

    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    missing = [name.upper() for name in Settings.model_fields
               if not re.search(rf"^{name.upper()}=", example, re.MULTILINE)]
    assert not missing, f".env.example does not document {missing}"
    loaded = Settings(_env_file=ROOT / ".env.example")
    assert loaded.encoder_backend == "auto" and loaded.fetch_interval_minutes is None
