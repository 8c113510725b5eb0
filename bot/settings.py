"""All settings of the bot (env vars and `.env`), grouped by concern; the index and fetch
groups are shared with the builder (`index.settings`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from index.settings import BaseConfig, SourceSettings, split_list

__all__ = ["EngineSettings", "LimitSettings", "Settings", "StateSettings", "TelegramSettings",
           "UpdateSettings"]


class TelegramSettings(BaseConfig):
    """The Bot API connection, webhook mode, who may use the bot and how many answer at once."""

    telegram_bot_token: str | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_listen: str = "127.0.0.1"
    telegram_webhook_port: int = Field(8443, ge=1, le=65535)
    telegram_webhook_secret: str | None = None
    telegram_webhook_max_connections: int = Field(40, ge=1, le=100)
    # The base URL people reach the bot's web server at (article pages); None: no pages.
    public_url: str | None = None
    article_web_app: bool = False  # "Open in article" as a Mini App in private chats (https)
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    allowed_chat_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    answer_workers: int = Field(2, ge=1, le=64)
    log_level: str = "INFO"

    @field_validator("admin_ids", "allowed_chat_ids", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return split_list(value)

    @field_validator("public_url", mode="before")
    @classmethod
    def _base_url(cls, value: Any) -> Any:
        """An http(s) URL with a host and no query or fragment, without its trailing slash;
        empty is unset."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return None
        try:
            parts = urlsplit(text)
        except ValueError as err:
            raise ValueError(f"not a URL ({err})") from None
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("should be an http(s) URL with a host, e.g. https://bot.example.org")
        if parts.query or parts.fragment:
            raise ValueError("should have no query (?...) or fragment (#...)")
        return text.rstrip("/")


class EngineSettings(BaseConfig):
    """How answers are chosen: quotes per answer and the calibrated thresholds."""

    max_quotes: int = Field(3, ge=1, le=10)
    abstain_threshold: float | None = None  # None: the model's own (abstention.CALIBRATIONS)
    reader: bool = True  # the trained reader reranks the best sentences (package `reader`)
    follow_threshold: float = 0.44
    followup_minutes: float = Field(10, ge=0, le=10_080)  # a private question this soon after
    # an answer may lean on it ("Where did they flee?"); 0: only replies to an answer do

    @field_validator("abstain_threshold", mode="before")
    @classmethod
    def _empty_is_fitted(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value


class StateSettings(BaseConfig):
    """The state database: where it is, how long an update is leased, how long data is kept."""

    database_url: str | None = None
    inbox_lease_seconds: float = Field(30.0, ge=1.0)
    retention_days: int = Field(30, ge=1)
    data_dir: Path = Path("data")

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'state.sqlite3'}"


class LimitSettings(BaseConfig):
    """What one user or chat may ask of the bot."""

    max_question_chars: int = Field(1000, ge=1)
    user_questions_per_minute: int = Field(20, ge=1)
    chat_questions_per_minute: int = Field(60, ge=1)
    max_follows_per_chat: int = Field(20, ge=1, le=1000)


class UpdateSettings(BaseConfig):
    """The bot's schedule: index reloads, pushes, digests and news fetches."""

    reload_interval_seconds: float = Field(5.0, gt=0)
    push_interval_seconds: float = Field(2.0, gt=0)
    push_digest_over: int = Field(5, ge=1)
    fetch_interval_minutes: float | None = Field(None, ge=0.05)

    @field_validator("fetch_interval_minutes", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


class Settings(TelegramSettings, EngineSettings, StateSettings, LimitSettings, UpdateSettings,
               SourceSettings):
    """Every setting, named as its environment variable without a prefix."""
