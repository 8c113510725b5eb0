"""The probe sentences every backend is checked on against torch fp32, and the one check."""

from __future__ import annotations

import numpy as np

# Probes of the kinds the index meets: questions and statements, a two-letter text (where
# quantisation errors show most), a long passage, another language. The check takes the
# lowest cosine over them, so one text that an export gets wrong is enough to refuse it.
PROBES = [
    "How far is Qasr Bin Ghashir from Tripoli?",
    "The regional governor said that about 4,000 people had been moved to higher ground.",
    "Who won the football match on Saturday?",
    "Shares in the company fell sharply after the announcement of lower profits.",
    "hi",
    "The European Commission proposed new rules for the digital market in Brussels.",
    "Rescue teams reached the flooded valley on Friday after three days of heavy rain cut off "
    "twelve villages from the regional capital, and engineers expect the main bridge to reopen.",
    "Was ist die Hauptstadt von Frankreich?",
]
# An ONNX fp32 export computes what torch does, up to float rounding: below 0.9999 it is a
# wrong export, not an approximation.
ONNX_FP32_MIN_COSINE = 0.9999  # an ONNX fp32 export must give torch fp32's vectors
# Approximate encoders (bf16, int8) may encode the questions of an index built with another
# backend only this close to it; further, the neighbours found would shift.
COMPATIBLE_MIN_COSINE = 0.995  # vectors this close may be searched against each other


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The lowest cosine between matching rows of `a` and `b`."""
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float(np.min(np.sum(a * b, axis=1)))


def agrees(reference: np.ndarray, vectors: np.ndarray,
           minimum: float = COMPATIBLE_MIN_COSINE) -> bool:
    """Whether two encoders' vectors of the probes agree (min cosine at least `minimum`)."""
    return min_cosine(reference, vectors) >= minimum


def required_cosine(backend: str) -> float:
    """The agreement with torch fp32 a backend's export needs to be used."""
    return ONNX_FP32_MIN_COSINE if backend == "onnx-fp32" else COMPATIBLE_MIN_COSINE
