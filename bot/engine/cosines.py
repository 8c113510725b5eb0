"""Cosines on one scale whatever the model, the one the ranking and abstention weights were
fitted on (MiniLM's). Retrieval, ranking, topics, stories and who-said-it all compare
similarities against those fitted weights, so they all read cosines through here."""

from __future__ import annotations

import numpy as np

from index import IndexView
from index.encoders import MULTILINGUAL_MODEL

__all__ = ["SIMILARITY_SCALES", "similarities", "similarity_scale"]

# multilingual-e5's cosines crowd into 0.75-0.93 where MiniLM's spread over 0.2-0.8
# (percentiles 5 and 95 of the best quote's on XQuAD, benchmarks.languages).
SIMILARITY_SCALES = {MULTILINGUAL_MODEL: (0.70, 3.6)}  # cosine -> (cosine - offset) * scale


def similarity_scale(index: IndexView) -> tuple[float, float]:
    """(offset, scale) mapping the index's model's cosines onto the fitted scale."""
    # A model without an entry (MiniLM, the one fitted on) keeps its cosines as they are.
    return SIMILARITY_SCALES.get(index.manifest.model or "", (0.0, 1.0))


def similarities(index: IndexView, cosines: np.ndarray) -> np.ndarray:
    """Cosines of the index's model on the fitted scale."""
    offset, scale = similarity_scale(index)
    # The identity scale returns the very array: no copy for the common model.
    if scale == 1.0 and not offset:
        return cosines
    return (cosines - offset) * scale
