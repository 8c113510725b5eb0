"""From the trained torch model to the shipped folder: ONNX export, int8 dynamic quantisation,
Platt calibration on held-out articles' groups, probe pairs with torch's own probabilities,
and the figures the model card reports."""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from reader.model import (
    CONFIG_FILE,
    MODEL_FILE,
    PROBES_FILE,
    TOKENIZER_FILE,
    Reader,
    encode_texts,
    load_reader,
)
from reader.text import pair_text
from reader.train.pairs import Group

PROBE_GROUPS = 6


def export_onnx(model: Any, tokenizer: Any, folder: Path) -> None:
    """The fp32 graph (dynamic batch and token axes), then int8 weights (ONNX Runtime's dynamic
    quantisation: int8 matrix products, activations quantised per batch)."""
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    feed = {k: torch.from_numpy(v) for k, v in
            encode_texts(tokenizer, [("a probe question?", ">> a probe sentence. <<")]).items()}
    axes = {0: "batch", 1: "tokens"}
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about the BERT graph
        fp32 = Path(tmp) / "reader.fp32.onnx"
        torch.onnx.export(model.eval(), (feed["input_ids"], feed["attention_mask"],
                                         feed["token_type_ids"]), str(fp32),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["logits"], opset_version=17,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                        "token_type_ids": axes, "logits": {0: "batch"}},
                          dynamo=False)
        quantize_dynamic(str(fp32), str(folder / MODEL_FILE), weight_type=QuantType.QInt8,
                         per_channel=True)


def torch_logits(model: Any, tokenizer: Any, groups: list[Group]) -> list[np.ndarray]:
    import torch

    out = []
    with torch.no_grad():
        for group in groups:
            pairs = [pair_text(group.question, c) for c in group.candidates]
            feed = {k: torch.from_numpy(v) for k, v in encode_texts(tokenizer, pairs).items()}
            out.append(model(**feed).logits.view(-1).numpy().astype(np.float32))
    return out


def platt(logits: np.ndarray, labels: np.ndarray, iterations: int = 50) -> tuple[float, float]:
    """The (a, b) of sigmoid(a * logit + b) that best fits the labels (Newton's method on the
    log-loss, a little ridge for stability)."""
    x = np.stack([logits, np.ones_like(logits)], axis=1).astype(np.float64)
    w = np.array([1.0, 0.0])
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ (p - labels) + 1e-3 * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + 1e-3 * np.eye(2)
        w -= np.linalg.solve(hessian, gradient)
    return float(w[0]), float(w[1])


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """The chance that a random positive scores above a random negative (ties count half)."""
    if not len(positive) or not len(negative):
        return float("nan")
    scores = np.concatenate([positive, negative])
    ranks = np.argsort(np.argsort(scores, kind="stable"), kind="stable") + 1.0
    for value in np.unique(scores):  # average ranks of ties
        tied = scores == value
        ranks[tied] = ranks[tied].mean()
    n_pos = len(positive)
    return float((ranks[:n_pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * len(negative)))


def heldout_figures(groups: list[Group], probabilities: list[np.ndarray]) -> dict[str, float]:
    """Top-1 among the answerable groups' candidates; AUC of the best candidate's probability,
    answerable against unanswerable groups; the mean probability of each."""
    answerable = [(g, p) for g, p in zip(groups, probabilities, strict=True) if max(g.labels)]
    unanswerable = [p for g, p in zip(groups, probabilities, strict=True) if not max(g.labels)]
    top1 = np.mean([g.labels[int(np.argmax(p))] for g, p in answerable])
    best_pos = np.array([p.max() for _, p in answerable])
    best_neg = np.array([p.max() for p in unanswerable])
    return {"groups_answerable": len(answerable), "groups_unanswerable": len(unanswerable),
            "top1": round(float(top1), 4), "abstention_auc": round(auc(best_pos, best_neg), 4),
            "mean_best_answerable": round(float(best_pos.mean()), 4),
            "mean_best_unanswerable": round(float(best_neg.mean()), 4)}


def write_folder(model: Any, tokenizer: Any, tokenizer_file: Path, groups: list[Group],
                 config: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Export, calibrate on `groups` (held-out articles), store probes; returns the figures.
    The int8 model's own logits are calibrated: that is the model the project runs."""
    folder.mkdir(parents=True, exist_ok=True)
    export_onnx(model, tokenizer, folder)
    shutil.copyfile(tokenizer_file, folder / TOKENIZER_FILE)
    config = {**config, "calibration": {"a": 1.0, "b": 0.0}}
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=1), encoding="utf-8")
    int8 = Reader(folder)
    logits = [int8.logits(g.question, g.candidates) for g in groups]
    a, b = platt(np.concatenate(logits), np.array([x for g in groups for x in g.labels]))
    config["calibration"] = {"a": round(a, 6), "b": round(b, 6),
                             "fitted_on": f"{len(groups)} groups of held-out training articles"}
    probabilities = [1 / (1 + np.exp(-(a * z + b))) for z in logits]
    config["heldout"] = heldout_figures(groups, probabilities)
    write_probes(model, tokenizer, groups, a, b, folder)
    config["model_bytes"] = (folder / MODEL_FILE).stat().st_size
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=1), encoding="utf-8")
    if load_reader(folder) is None:
        raise RuntimeError(f"the exported reader in {folder} fails its own probe check")
    return config


def write_probes(model: Any, tokenizer: Any, groups: list[Group], a: float, b: float,
                 folder: Path) -> None:
    """A few held-out groups with torch fp32's probabilities, for `load_reader`'s check."""
    step = max(1, len(groups) // PROBE_GROUPS)
    chosen = groups[::step][:PROBE_GROUPS]
    logits = torch_logits(model, tokenizer, chosen)
    probes = {"groups": [
        {"question": g.question,
         "candidates": [vars(c) for c in g.candidates],
         "torch_probabilities": [round(float(1 / (1 + np.exp(-(a * z + b)))), 6) for z in zs]}
        for g, zs in zip(chosen, logits, strict=True)]}
    (folder / PROBES_FILE).write_text(json.dumps(probes, indent=1, ensure_ascii=False),
                                      encoding="utf-8")
