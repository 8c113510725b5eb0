"""Whether a question encoder may search an index: its probe vectors against the index's."""

from __future__ import annotations

import numpy as np

from index.encoders.base import Encoder
from index.encoders.probes import COMPATIBLE_MIN_COSINE, min_cosine
from index.errors import VerbatimError


class IncompatibleEncoderError(VerbatimError):
    """No encoder here agrees with the index's passage encoder; the message lists the
    cosines tried ("onnx-int8 0.912, torch-fp32 0.990; needed 0.995")."""

    def __init__(self, tried: list[str]) -> None:
        super().__init__(f"{', '.join(tried)}; needed {COMPATIBLE_MIN_COSINE}")
        self.tried = tried


def check_compatible(encoder: Encoder, stored: np.ndarray | None) -> Encoder:
    """The encoder, or else its fallback, whose probe vectors agree with `stored` (the index's
    passage encoder's, `probe.npy`); `encoder` itself when the index has none recorded (built
    before probes were, by torch fp32). Raises IncompatibleEncoderError when none agrees."""
    if stored is None:
        return encoder
    tried = []
    # The fast encoder first; its fallback (torch fp32) when it drifted from the index's
    # passage encoder, e.g. an int8 model exported on another CPU.
    for candidate in (encoder, encoder.fallback):
        if candidate is None:
            continue
        agreement = min_cosine(stored, candidate.probe_vectors())
        if agreement >= COMPATIBLE_MIN_COSINE:
            return candidate
        tried.append(f"{candidate.backend} {agreement:.3f}")
    raise IncompatibleEncoderError(tried)
