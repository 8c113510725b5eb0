"""Settings shared by the index builder and the bot (env vars and an optional `.env`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


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


class IndexSettings(BaseSettings):
    """Where the corpus and the index live, and how passages are embedded."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    corpus_dir: Path = Path("corpus")
    corpus_follow_symlinks: bool = False
    data_dir: Path = Path("data")
    index_dir: Path | None = None
    embedding_model: str = PACKAGED_MODEL
    embed_batch_size: int = Field(16, ge=1, le=1024)
    embed_batch_tokens: int = Field(2048, ge=0, le=1_000_000)
    max_passage_words: int = Field(180, ge=20, le=2000)
    index_kind: Literal["auto", "flat", "hnsw"] = "auto"
    hnsw_threshold: int = Field(10_000, ge=1)
    hnsw_m: int = Field(32, ge=4, le=128)
    hnsw_ef_construction: int = Field(80, ge=8, le=2000)
    hnsw_ef_search: int = Field(128, ge=8, le=4096)
    keep_index_versions: int = Field(2, ge=1, le=50)
    encoder_backend: Literal["auto", "torch-fp32", "torch-bf16", "onnx-fp32", "onnx-int8"] = "auto"

    @property
    def resolved_index_dir(self) -> Path:
        return self.index_dir if self.index_dir is not None else self.data_dir / "index"


def describe_error(err: ValidationError) -> str:
    """One clear line per wrong setting, naming it as an environment variable."""
    lines = []
    for item in err.errors():
        name = ".".join(str(p) for p in item["loc"]).upper() or "settings"
        lines.append(f"Setting {name} is invalid: {item['msg']} (got {item.get('input')!r})")
    return "\n".join(lines)
