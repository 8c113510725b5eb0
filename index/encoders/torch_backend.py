"""The torch encoder: sentence-transformers, fp32, or bf16 where the CPU has it natively."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from index.encoders.base import Encoder
from index.encoders.batching import progress as counted
from index.encoders.batching import token_batches, token_lengths
from index.encoders.models import ModelError, prompts, resolve_model
from index.settings import DEFAULT_MODELS_DIR

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Transformer


class TorchEncoder(Encoder):
    """Normalised float32 embeddings of texts, batched (torch, fp32 unless `to_bf16`).

    With `batch_tokens` texts are batched by padded tokens (`token_batches`), else in fixed
    batches of `batch_size` as sentence-transformers does."""

    backend = "torch-fp32"

    def __init__(self, spec: str, batch_size: int = 16, batch_tokens: int = 0,
                 models_dir: Path = DEFAULT_MODELS_DIR) -> None:
        self.name, self.path = resolve_model(spec, models_dir)
        self.query_prompt, self.passage_prompt = prompts(self.path)
        self.batch_size, self.batch_tokens = batch_size, batch_tokens
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        try:
            self.model: SentenceTransformer = SentenceTransformer(str(self.path), device="cpu")
        except Exception as err:
            raise ModelError(f"Setting EMBEDDING_MODEL: cannot load {self.path}: {err}") from err
        dimension = (getattr(self.model, "get_embedding_dimension", None)
                     or self.model.get_sentence_embedding_dimension)
        self.dimension = int(dimension() or 0)

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        if self.batch_tokens and len(texts) > 1:
            vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
            lengths = token_lengths(self.model.tokenizer, texts, self.model.max_seq_length)
            batches = token_batches(lengths, self.batch_tokens)
            for chosen in counted(batches, progress, len(texts)):
                vectors[chosen] = self._batch([texts[i] for i in chosen], len(chosen), False)
        else:
            vectors = self._batch(texts, self.batch_size, progress)
        if self.backend == "torch-bf16":  # bf16 output is not exactly unit-norm
            vectors /= np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        return np.ascontiguousarray(vectors)

    def _batch(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        vectors = self.model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=progress)
        return np.asarray(vectors, dtype=np.float32)

    @property
    def transformer(self) -> Transformer:
        """The model's first module: the BERT model (`auto_model`) and its tokenizer."""
        return cast("Transformer", self.model[0])

    def to_bf16(self) -> None:
        """Switch the model to bf16 in place (checked against fp32 by the factory)."""
        import torch

        self.model.to(torch.bfloat16)
        bert = getattr(self.transformer, "auto_model", None)
        if bert is not None and hasattr(bert, "set_attn_implementation"):
            # bf16 matrix products through oneDNN: about 10 % more texts/s than the fused
            # CPU attention kernel, which gains little from bf16 with 32-wide heads.
            bert.set_attn_implementation("eager")
        self.backend = "torch-bf16"
        self._changed()
