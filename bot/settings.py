"""All settings of the bot (env vars and `.env`); the index settings are shared with the builder."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from index.settings import IndexSettings, split_list


class Settings(IndexSettings):
    """Every setting, named as its environment variable without a prefix."""

    telegram_bot_token: str | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = Field(8443, ge=1, le=65535)
    telegram_webhook_secret: str | None = None
    telegram_webhook_max_connections: int = Field(40, ge=1, le=100)
    inbox_lease_seconds: float = Field(30.0, ge=1.0)
    database_url: str | None = None
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    allowed_chat_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    max_question_chars: int = Field(1000, ge=1)
    max_quotes: int = Field(3, ge=1, le=10)
    abstain_threshold: float = 1.06
    answer_workers: int = Field(2, ge=1, le=64)
    reload_interval_seconds: float = Field(5.0, gt=0)
    push_interval_seconds: float = Field(2.0, gt=0)
    push_digest_over: int = Field(5, ge=1)
    follow_threshold: float = 0.44
    max_follows_per_chat: int = Field(20, ge=1, le=1000)
    user_questions_per_minute: int = Field(20, ge=1)
    chat_questions_per_minute: int = Field(60, ge=1)
    retention_days: int = Field(30, ge=1)
    log_level: str = "INFO"
    feeds_file: Path = Path("feeds.toml")
    fetch_interval_minutes: float | None = Field(None, ge=0.05)
    fetch_user_agent: str = "VerbatimBot/1.0 (+https://github.com/verbatim-news; news quotes)"
    fetch_timeout_seconds: float = Field(20.0, gt=0)
    fetch_max_bytes: int = Field(5_000_000, ge=1_000)
    fetch_host_delay_seconds: float = Field(1.0, ge=0)
    fetch_max_redirects: int = Field(5, ge=0, le=30)
    fetch_deadline_seconds: float = Field(60.0, gt=0)
    fetch_allow_private: bool = False
    fetch_allowed_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("fetch_interval_minutes", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("admin_ids", "allowed_chat_ids", "fetch_allowed_networks", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return split_list(value)

    @field_validator("fetch_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        return [str(ipaddress.ip_network(n, strict=False)) for n in value]  # ValueError: invalid

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'state.sqlite3'}"
