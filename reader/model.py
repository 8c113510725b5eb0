"""The shipped reader at run time: ONNX Runtime (int8) and the fast tokenizer, no torch.

`load_reader` checks the model on the probe pairs stored beside it (the training framework's
own scores, written at export) and declines a model that disagrees, like the encoders' probes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reader.text import Candidate, pair_text

log = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MODEL_FILE, TOKENIZER_FILE = "reader.int8.onnx", "tokenizer.json"
CONFIG_FILE, PROBES_FILE = "reader.json", "probes.json"
# The int8 model's probability on a probe pair may differ this much from torch fp32's; a
# corrupted or mismatched file is far off (a random head gives about 0.5 everywhere).
PROBE_TOLERANCE = 0.06


@dataclass(frozen=True)
class ReaderConfig:
    """What the weights folder's `reader.json` says about the model."""

    max_length: int  # tokens of question + candidate text the model reads
    max_candidates: int  # the K the latency budget allows
    platt_a: float  # probability = sigmoid(platt_a * logit + platt_b)
    platt_b: float

    @classmethod
    def read(cls, path: Path) -> ReaderConfig:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return cls(int(raw["max_length"]), int(raw["max_candidates"]),
                   float(raw["calibration"]["a"]), float(raw["calibration"]["b"]))


def tokenizer_for(path: Path, max_length: int) -> Any:
    """The fast tokenizer from `tokenizer.json`, cutting pairs to `max_length` tokens (the
    longer segment first: the candidate text) and padding a batch to its longest pair."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_length=max_length, strategy="longest_first")
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0, pad_token="[PAD]")
    return tokenizer


def encode_pairs(tokenizer: Any, question: str,
                 candidates: Sequence[Candidate]) -> dict[str, np.ndarray]:
    """The model's int64 inputs for one question against each candidate."""
    return encode_texts(tokenizer, [pair_text(question, c) for c in candidates])


def encode_texts(tokenizer: Any, pairs: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
    """The model's int64 inputs for `pair_text` pairs (training batches them across questions)."""
    encodings = tokenizer.encode_batch(list(pairs))
    return {"input_ids": np.array([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encodings], dtype=np.int64)}


class Reader:
    """Scores (question, candidate sentence) pairs: the calibrated probability that the
    sentence, read with its neighbours and title, answers the question."""

    def __init__(self, folder: Path, threads: int = 2):
        import onnxruntime as ort

        self.config = ReaderConfig.read(folder / CONFIG_FILE)
        self.max_candidates = self.config.max_candidates
        self.tokenizer = tokenizer_for(folder / TOKENIZER_FILE, self.config.max_length)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # No busy-waiting between runs (see index/encoders/onnx_backend.py).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(folder / MODEL_FILE), options,
                                            providers=["CPUExecutionProvider"])

    def logits(self, question: str, candidates: Sequence[Candidate]) -> np.ndarray:
        """The model's raw scores, one batch."""
        if not candidates:
            return np.zeros(0, dtype=np.float32)
        out = self.session.run(None, encode_pairs(self.tokenizer, question, candidates))[0]
        return np.asarray(out, dtype=np.float32).reshape(-1)

    def score(self, question: str, candidates: Sequence[Candidate]) -> np.ndarray:
        """One calibrated probability (float32, 0..1) per candidate."""
        z = self.config.platt_a * self.logits(question, candidates) + self.config.platt_b
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def probe_gap(reader: Reader, probes: dict[str, Any]) -> float:
    """The largest difference between this model's probabilities on the probe pairs and the
    ones torch gave at export."""
    gaps = []
    for group in probes["groups"]:
        candidates = [Candidate(**c) for c in group["candidates"]]
        gaps.extend(np.abs(reader.score(group["question"], candidates)
                           - np.asarray(group["torch_probabilities"], dtype=np.float32)))
    return float(max(gaps))


def load_reader(path: Path | None = None, threads: int = 2) -> Reader | None:
    """The reader in `path` (the shipped weights by default), or None with a warning when its
    files are missing, unreadable or disagree with their probes."""
    folder = WEIGHTS_DIR if path is None else Path(path)
    try:
        reader = Reader(folder, threads=threads)
        gap = probe_gap(reader, json.loads((folder / PROBES_FILE).read_text(encoding="utf-8")))
    except Exception as error:  # any broken file means no reader, never a crash
        log.warning("reader: no model loaded from %s (%s: %s)", folder,
                    type(error).__name__, error)
        return None
    if gap > PROBE_TOLERANCE:
        log.warning("reader: %s fails its probe check (probability off by %.3f > %.3f)",
                    folder, gap, PROBE_TOLERANCE)
        return None
    return reader
