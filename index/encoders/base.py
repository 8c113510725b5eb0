"""The one encoder interface every backend (torch, ONNX, int8) implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from index.encoders.probes import PROBES


class Encoder(ABC):
    """Normalised float32 embeddings of texts, one row per text.

    `backend` names the backend and precision ("torch-fp32", "onnx-int8", ...); `fallback` is
    the torch fp32 encoder a faster question encoder gives way to when the index's vectors
    agree only with that one (see `compat.check_compatible`)."""

    name: str  # the model's name, recorded in the manifest
    path: Path  # the local model folder
    backend: str
    dimension: int
    batch_size: int
    batch_tokens: int  # batch by padded tokens when set, else by `batch_size` texts
    fallback: Encoder | None = None
    # What the model wants before a question or a passage (e5's "query: " / "passage: ").
    query_prompt: str = ""
    passage_prompt: str = ""
    _probe_vectors: np.ndarray | None = None

    def encode(self, texts: list[str], progress: bool = False,
               query: bool = False) -> np.ndarray:
        """The vectors of `texts`, as passages or as questions (`query`), with a progress bar
        when `progress`."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        prompt = self.query_prompt if query else self.passage_prompt
        return self._encode([prompt + t for t in texts] if prompt else texts, progress)

    @abstractmethod
    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        """The vectors of a non-empty list of texts."""

    def encode_query(self, text: str) -> np.ndarray:
        """The vector of one question."""
        return self.encode([text], query=True)[0]

    def probe_vectors(self) -> np.ndarray:
        """This encoder's vectors of the probe sentences (computed once)."""
        if self._probe_vectors is None:
            self._probe_vectors = self.encode(PROBES)
        return self._probe_vectors

    def _changed(self) -> None:
        """Forget the probe vectors after a change of precision."""
        self._probe_vectors = None
