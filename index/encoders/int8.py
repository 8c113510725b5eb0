"""The int8 encoder: activation smoothing, then ONNX Runtime dynamic int8 quantisation.

Plain dynamic int8 (one scale per activation tensor) put MiniLM's vectors at cosine 0.92 of
fp32 on short texts: a few hidden channels carry values far larger than the rest, and one
scale for all of them rounds the others away. Following SmoothQuant, each linear layer's input
is divided per channel by `s = max|x|^a / max|w|^(1-a)` and its weights multiplied by `s`,
which leaves the fp32 result unchanged but moves the range into the weights, where int8 scales
are per output channel. The down-projections whose rounding the output is most sensitive to
(measured here with simulated int8 on calibration texts) stay fp32 until the calibration
texts agree with fp32 at `TARGET_COSINE`. The exported model is then checked against torch on
the probes like any other backend; these calibration texts are separate from them.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.encoders.cpu import cpu_flags, needs_reduced_range
from index.encoders.onnx_backend import export_graph

if TYPE_CHECKING:
    import torch
    from sentence_transformers.models import Transformer
    from transformers import PreTrainedTokenizerBase

ALPHA = 0.8  # 0.5 left short questions at cosine 0.98; 0.8 measured best (0.9 was no better)
# Stricter than the probe check (0.995) that the exported model must pass afterwards: the
# simulated int8 here is not exactly ONNX Runtime's, so the calibration keeps a margin.
TARGET_COSINE = 0.998
CALIBRATION = [
    "When did the council approve the new budget?",
    "ok",
    "Shares rose by 4% in early trading after the results beat forecasts.",
    "Who is the author of the report on coastal erosion?",
    "The minister resigned on Tuesday, saying the decision had been a personal one.",
    "Police said three men had been arrested in connection with the robbery.",
    "weather",
    "What did the court decide about the appeal?",
    "The film won two awards at the festival, including best director.",
    "Scientists have found that the species is spreading north as the seas warm, and fishing "
    "crews say their catches have changed markedly over the past ten years.",
    "Il a annoncé sa démission hier soir.",
    "The club confirmed the striker would miss the rest of the season with a knee injury.",
    "How many people live in the capital?",
    "Exports fell for the third month in a row.",
    "1-0",
    "The new line will link the airport to the city centre in under 20 minutes, the operator "
    "said, though the opening has been delayed twice because of funding disputes.",
]


def _quantised(x: torch.Tensor) -> torch.Tensor:
    """What ONNX Runtime's dynamic quantisation does to an activation: uint8, one scale."""
    import torch

    low, high = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
    scale = (high - low) / 255 or 1.0
    zero = round(-low / scale)
    return (torch.clamp(torch.round(x / scale) + zero, 0, 255) - zero) * scale


def _smoothed_linear(linear: torch.nn.Linear, scale: torch.Tensor) -> torch.nn.Module:
    import torch

    class Smoothed(torch.nn.Module):
        """`linear(x)` computed as `(x / s) @ (w * s)`; optionally with simulated int8."""

        def __init__(self) -> None:
            super().__init__()
            self.inverse = torch.nn.Parameter((1.0 / scale).float(), requires_grad=False)
            self.lin = torch.nn.Linear(linear.in_features, linear.out_features)
            with torch.no_grad():
                self.lin.weight.copy_(linear.weight * scale[None, :])
                self.lin.bias.copy_(linear.bias)
                step = self.lin.weight.abs().amax(1, keepdim=True).clamp(min=1e-12) / 127
                self.int8_weight = torch.round(self.lin.weight / step).clamp(-127, 127) * step
            self.simulate = False

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = x * self.inverse
            if not self.simulate:
                return self.lin(x)
            return torch.nn.functional.linear(_quantised(x), self.int8_weight, self.lin.bias)

    return Smoothed()


def _vectors(model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase,
             texts: list[str]) -> np.ndarray:
    """Mean-pooled, normalised vectors, one text at a time (as questions are encoded)."""
    import torch

    rows = []
    with torch.no_grad():
        for text in texts:
            hidden = model(**tokenizer([text], truncation=True, max_length=256,
                                       return_tensors="pt"))[0][0]
            vector = hidden.mean(0).numpy()
            rows.append(vector / np.linalg.norm(vector))
    return np.array(rows)


def smoothed_copy(bert: torch.nn.Module,
                  tokenizer: PreTrainedTokenizerBase) -> tuple[torch.nn.Module, list[str]]:
    """A copy of `bert` with every encoder linear smoothed (same fp32 output), and the names
    of the linears to keep fp32 in the int8 model."""
    import torch

    model = copy.deepcopy(bert).eval()
    reference = _vectors(bert, tokenizer, CALIBRATION)
    peaks: dict[str, torch.Tensor] = {}

    def record(name: str) -> Callable[[torch.nn.Module, tuple, object], None]:
        def hook(_module: torch.nn.Module, inputs: tuple, _output: object) -> None:
            peak = inputs[0].detach().abs().reshape(-1, inputs[0].shape[-1]).amax(0)
            peaks[name] = torch.maximum(peaks[name], peak) if name in peaks else peak
        return hook

    # Record each encoder linear's largest input per channel over the calibration texts,
    # one at a time and padded together; SmoothQuant's scales are made from these peaks.
    modules = dict(model.named_modules())
    linears = [n for n, m in modules.items()
               if isinstance(m, torch.nn.Linear) and n.startswith("encoder.")]
    hooks = [modules[n].register_forward_hook(record(n)) for n in linears]
    _vectors(model, tokenizer, CALIBRATION)
    with torch.no_grad():  # padded batches too: passages are encoded that way
        model(**tokenizer(CALIBRATION, padding=True, truncation=True, max_length=256,
                          return_tensors="pt"))
    for hook in hooks:
        hook.remove()
    smoothed = {}
    for name in linears:
        linear = modules[name]
        scale = (peaks[name].clamp(min=1e-5) ** ALPHA
                 / linear.weight.abs().amax(0).clamp(min=1e-5) ** (1 - ALPHA))
        parent, child = name.rsplit(".", 1)
        smoothed[name] = _smoothed_linear(linear, scale)
        setattr(modules[parent], child, smoothed[name])
    return model, _keep_fp32(model, tokenizer, smoothed, reference)


def _keep_fp32(model: torch.nn.Module, tokenizer: PreTrainedTokenizerBase,
               smoothed: dict[str, Any], reference: np.ndarray) -> list[str]:
    """Down-projections (wider in than out) that stay fp32, most sensitive first, until the
    simulated int8 model agrees with fp32 on the calibration texts; at most half of them."""

    def agreement(kept: list[str]) -> float:
        for name, layer in smoothed.items():
            layer.simulate = name not in kept
        try:
            return float(np.min(np.sum(_vectors(model, tokenizer, CALIBRATION) * reference, 1)))
        finally:
            for layer in smoothed.values():
                layer.simulate = False

    # Down-projections only (the feed-forward outputs, fed by GELU): rounding them is what
    # the output was measured most sensitive to (see the module's docstring).
    candidates = [n for n, m in smoothed.items() if m.lin.in_features > m.lin.out_features]
    kept: list[str] = []
    if agreement(kept) >= TARGET_COSINE:
        return kept
    # Each candidate's gain measured alone, then kept greedily in that order: a search over
    # subsets would cost a model run per subset.
    ranked = sorted(candidates, key=lambda n: agreement([n]), reverse=True)
    for name in ranked[:max(1, len(candidates) // 2)]:
        kept.append(name)
        if agreement(kept) >= TARGET_COSINE:
            break
    return kept


def onnx_nodes(graph_node_names: list[str], linears: list[str], prefix: str = "bert") -> list[str]:
    """The exported MatMul nodes of these linears (their names follow the module path)."""
    # "encoder.layer.0.output.dense" is exported as "/bert/encoder/layer.0/output/dense/..."
    wanted = [f"/{prefix}/{re.sub(r'[.](?![0-9])', '/', name)}/" for name in linears]
    return [node for node in graph_node_names
            if node.endswith("MatMul") and any(node.startswith(w) for w in wanted)]


def export_int8(transformer: Transformer, folder: Path) -> dict[str, list[str]]:
    """Smooth, export, and quantise to int8 (dynamic, weights per channel) as
    `folder/model-int8.onnx`, keeping the most sensitive down-projections fp32; returns which
    ones were kept. `transformer` is the sentence-transformers Transformer module."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model, keep = smoothed_copy(transformer.auto_model, transformer.tokenizer)
    smoothed = folder / "model-smoothed.onnx"
    export_graph(model, transformer.tokenizer, smoothed)
    nodes = [node.name for node in onnx.load(str(smoothed), load_external_data=False).graph.node]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # "consider pre-processing": measured instead, in benchmarks
    try:
        quantize_dynamic(str(smoothed), str(folder / "model-int8.onnx"),
                         weight_type=QuantType.QInt8, per_channel=True,
                         reduce_range=needs_reduced_range(cpu_flags()),
                         nodes_to_exclude=onnx_nodes(nodes, keep))
    finally:
        root.setLevel(level)
        smoothed.unlink(missing_ok=True)
    return {"int8_fp32_linears": keep}
