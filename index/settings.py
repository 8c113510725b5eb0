"""Settings shared by the index builder, the news fetcher and the bot (env vars and `.env`).

Grouped by concern, one class per group; the environment names are the field names.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["DEFAULT_MODELS_DIR", "PACKAGED_MODEL", "BaseConfig", "CorpusSettings",
           "EncoderSettings", "FetchSettings", "IndexSettings", "SourceSettings",
           "StoreSettings", "describe_error", "postgres_url", "split_list"]

PACKAGED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODELS_DIR = Path("data/models")


def split_list(value: Any) -> Any:
    """Accept a JSON list or comma-separated values for list settings."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            return json.loads(text)
        return [item.strip() for item in text.split(",") if item.strip()]
    return value


class BaseConfig(BaseSettings):
    """The environment and `.env` reading every settings group shares."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)


class CorpusSettings(BaseConfig):
    """Where the articles and the built files live."""

    corpus_dir: Path = Path("corpus")
    corpus_follow_symlinks: bool = False
    data_dir: Path = Path("data")
    index_dir: Path | None = None

    @property
    def resolved_index_dir(self) -> Path:
        return self.index_dir if self.index_dir is not None else self.data_dir / "index"


class EncoderSettings(BaseConfig):
    """Which model embeds passages and questions, and on which backend."""

    embedding_model: str = PACKAGED_MODEL
    models_dir: Path = DEFAULT_MODELS_DIR
    embed_batch_size: int = Field(16, ge=1, le=1024)
    embed_batch_tokens: int = Field(2048, ge=0, le=1_000_000)
    encoder_backend: Literal["auto", "torch-fp32", "torch-bf16", "onnx-fp32", "onnx-int8"] = "auto"


class StoreSettings(BaseConfig):
    """How articles are cut into passages and how the vector index is laid out and kept."""

    max_passage_words: int = Field(180, ge=20, le=2000)
    index_kind: Literal["auto", "flat", "hnsw"] = "auto"
    hnsw_threshold: int = Field(10_000, ge=1)
    hnsw_m: int = Field(32, ge=4, le=128)
    hnsw_ef_construction: int = Field(80, ge=8, le=2000)
    hnsw_ef_search: int = Field(128, ge=8, le=4096)
    keep_index_versions: int = Field(2, ge=1, le=50)
    vector_codec: Literal["sq8", "float"] = "sq8"
    merge_factor: int = Field(8, ge=0, le=100)
    merge_floor_passages: int = Field(2_000, ge=1)
    merge_max_deleted: float = Field(0.25, gt=0, le=1)
    # Where the index lives: FAISS segments in INDEX_DIR, or tables in PostgreSQL (pgvector).
    index_backend: Literal["faiss", "postgresql"] = "faiss"
    index_database_url: str | None = None  # None: DATABASE_URL when that is PostgreSQL
    # Questions read the index here (a read replica); builds always write INDEX_DATABASE_URL.
    index_database_read_url: str | None = None  # None: INDEX_DATABASE_URL
    database_url: str | None = None  # the state database (bot.settings), read for the default

    @field_validator("index_database_url", "index_database_read_url", "database_url",
                     mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("index_database_url", "index_database_read_url")
    @classmethod
    def _postgres_only(cls, value: str | None) -> str | None:
        if value is not None and postgres_url(value) is None:
            raise ValueError("should be a PostgreSQL URL, e.g. postgresql://user:pw@host/db")
        return value

    @model_validator(mode="after")
    def _index_database(self) -> StoreSettings:
        if self.index_backend == "postgresql" and self.resolved_index_database_url is None:
            raise ValueError("INDEX_DATABASE_URL is required with INDEX_BACKEND=postgresql "
                             "(DATABASE_URL is not PostgreSQL)")
        return self

    @property
    def resolved_index_database_url(self) -> str | None:
        """The PostgreSQL index database (libpq form), None when there is none."""
        if self.index_database_url is not None:
            return postgres_url(self.index_database_url)
        return postgres_url(self.database_url) if self.database_url else None

    @property
    def resolved_index_read_url(self) -> str | None:
        """Where questions read the PostgreSQL index: INDEX_DATABASE_READ_URL (a read replica)
        when set, else the primary that builds write (resolved_index_database_url)."""
        if self.index_database_read_url is not None:
            return postgres_url(self.index_database_read_url)
        return self.resolved_index_database_url

    @property
    def index_read_setting(self) -> str:
        """The setting that names the database questions read, for messages."""
        return ("INDEX_DATABASE_READ_URL" if self.index_database_read_url is not None
                else "INDEX_DATABASE_URL")


class IndexSettings(CorpusSettings, EncoderSettings, StoreSettings):
    """Everything the index builder needs."""


class FetchSettings(BaseConfig):
    """The news fetcher: which feeds, how politely and how safely they are read."""

    feeds_file: Path = Path("feeds.toml")
    fetch_user_agent: str = "VerbatimBot/1.0 (+https://github.com/verbatim-news; news quotes)"
    fetch_timeout_seconds: float = Field(20.0, gt=0)
    fetch_max_bytes: int = Field(5_000_000, ge=1_000)
    fetch_host_delay_seconds: float = Field(1.0, ge=0)
    fetch_max_redirects: int = Field(5, ge=0, le=30)
    fetch_deadline_seconds: float = Field(60.0, gt=0)
    fetch_allow_private: bool = False
    fetch_allowed_networks: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("fetch_allowed_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        return split_list(value)

    @field_validator("fetch_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        return [str(ipaddress.ip_network(n, strict=False)) for n in value]  # ValueError: invalid


class SourceSettings(IndexSettings, FetchSettings):
    """The fetcher writes corpus files and rebuilds the index: both groups."""


def postgres_url(url: str) -> str | None:
    """A PostgreSQL URL as libpq takes it (`postgresql+psycopg://` as SQLAlchemy spells it
    becomes `postgresql://`); None for any other database."""
    scheme, sep, rest = url.strip().partition("://")
    if sep and scheme.lower() in ("postgresql", "postgres", "postgresql+psycopg"):
        return f"postgresql://{rest}"
    return None


def describe_error(err: ValidationError) -> str:
    """One clear line per wrong setting, naming it as an environment variable."""
    lines = []
    for item in err.errors():
        name = ".".join(str(p) for p in item["loc"]).upper()
        if not name:  # a check across settings: its message names them (no input: secrets)
            lines.append(f"Settings are invalid: {item['msg'].removeprefix('Value error, ')}")
            continue
        lines.append(f"Setting {name} is invalid: {item['msg']} (got {item.get('input')!r})")
    return "\n".join(lines)
