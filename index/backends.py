"""Encoder backends and precisions: torch fp32 / bf16 and ONNX Runtime fp32 / int8, chosen by
the CPU's features and by measurement, each checked against torch fp32 on a probe set.

The ONNX model is exported by the project from the local sentence-transformers model (never
downloaded), cached beside the index in `INDEX_DIR/encoders/`, and used only when its vectors
agree with torch fp32's (cosine >= 0.9999 for fp32).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)
BACKENDS = ("auto", "torch-fp32", "torch-bf16", "onnx-fp32", "onnx-int8")
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
ONNX_FP32_MIN_COSINE = 0.9999
COMPATIBLE_MIN_COSINE = 0.995


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The CPU's feature flags (Linux /proc/cpuinfo); empty where unknown."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def native_bf16(flags: set[str]) -> bool:
    """bf16 only where the CPU does it natively; emulated, it was 7x slower than fp32."""
    return bool({"avx512_bf16", "amx_bf16"} & flags)


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float(np.min(np.sum(a * b, axis=1)))


def model_key(model_path: Path) -> str:
    """Identifies the model's weights, so an export is redone when they change."""
    digest = hashlib.sha256()
    for name in ("config.json", "tokenizer.json", "modules.json"):
        file = model_path / name
        if file.exists():
            digest.update(file.read_bytes())
    for weights in sorted(model_path.glob("*.safetensors")) + sorted(model_path.glob("*.bin")):
        stat = weights.stat()
        digest.update(f"{weights.name}:{stat.st_size}".encode())
    return digest.hexdigest()[:16]


class OnnxEncoder:
    """Mean-pooled, normalised MiniLM vectors from an ONNX Runtime session."""

    def __init__(self, onnx_path: Path, model_path: Path, name: str, backend: str,
                 batch_size: int = 32, max_length: int = 256, threads: int | None = None):
        import onnxruntime as ort
        from transformers import AutoTokenizer

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # No busy-waiting between runs: spinning threads took the cores from everything else
        # (torch's one-question encode went from 11 to 55 ms p95 beside it; ONNX's own p95 from
        # 5 to 11 ms under interleaved load).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(onnx_path), options,
                                            providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_path))
        self.name, self.path, self.backend = name, model_path, backend
        self.batch_size, self.max_length = batch_size, max_length
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts])  # similar lengths batch with less padding
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            chosen = order[start:start + self.batch_size]
            batch = self.tokenizer([texts[i] for i in chosen], padding=True, truncation=True,
                                   max_length=self.max_length, return_tensors="np")
            feed = {k: v.astype(np.int64) for k, v in batch.items() if k in self.inputs}
            hidden = self.session.run(None, feed)[0]
            mask = batch["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            out[chosen] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True),
                                           1e-12, None)
        return out

    def encode_query(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


def export_onnx(torch_encoder: Any, folder: Path) -> dict[str, Any]:
    """Export (once per model) the fp32 ONNX model and its int8 quantisation into `folder`,
    check them against torch fp32 on the probes, and record the result in `check.json`."""
    check_file = folder / "check.json"
    if check_file.exists():
        return json.loads(check_file.read_text())
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    transformer = torch_encoder.model[0]
    bert = transformer.auto_model

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # keyword args for BERT
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids)[0]

    sample = transformer.tokenizer(["a probe sentence"], return_tensors="pt")
    fp32 = folder / "model-fp32.onnx"
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about the BERT graph
        torch.onnx.export(Wrapped().eval(), (sample["input_ids"], sample["attention_mask"],
                                              sample["token_type_ids"]), str(fp32),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"], opset_version=17,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                        "token_type_ids": axes, "last_hidden_state": axes},
                          dynamo=False)
    result: dict[str, Any] = {"model": torch_encoder.name}
    reference = torch_encoder.encode(PROBES)
    result["onnx-fp32"] = min_cosine(reference, _probe(fp32, torch_encoder, "onnx-fp32"))
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        int8 = folder / "model-int8.onnx"
        root = logging.getLogger()
        level = root.level
        root.setLevel(logging.ERROR)  # "consider pre-processing": measured instead, below
        try:
            quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
        finally:
            root.setLevel(level)
        result["onnx-int8"] = min_cosine(reference, _probe(int8, torch_encoder, "onnx-int8"))
    except Exception as err:  # quantisation is optional
        log.warning("int8 quantisation failed: %s", err)
    check_file.write_text(json.dumps(result, indent=1))
    return result


def _probe(path: Path, torch_encoder: Any, backend: str) -> np.ndarray:
    return OnnxEncoder(path, torch_encoder.path, torch_encoder.name, backend).encode(PROBES)


def onnx_or_none(base: Any, index_dir: Path, backend: str,
                 threads: int | None = None) -> OnnxEncoder | None:
    """The ONNX encoder exported beside the index, if onnxruntime is here, the export works
    and its vectors pass the check against torch fp32; None (and a log line) otherwise."""
    folder = Path(index_dir) / "encoders" / f"{model_key(base.path)}"
    try:
        check = export_onnx(base, folder)
    except ImportError as err:
        log.warning("ONNX Runtime is not installed (%s); using torch", err)
        return None
    except Exception as err:
        log.warning("ONNX export failed (%s); using torch", err)
        return None
    agreement = check.get(backend)
    needed = ONNX_FP32_MIN_COSINE if backend == "onnx-fp32" else COMPATIBLE_MIN_COSINE
    if agreement is None or agreement < needed:
        log.warning("%s vectors disagree with torch fp32 on the probes (cosine %s < %s); "
                    "not used", backend, agreement, needed)
        if backend != "onnx-int8":
            return None
    path = folder / ("model-fp32.onnx" if backend == "onnx-fp32" else "model-int8.onnx")
    return OnnxEncoder(path, base.path, base.name, backend, base.batch_size, threads=threads)


def faster(first: Any, second: Any, sample: list[str]) -> Any:
    """Whichever encoder takes less time over `sample` (after a warm-up batch)."""
    timings = []
    for encoder in (first, second):
        encoder.encode(sample[:8])
        started = time.perf_counter()
        encoder.encode(sample)
        timings.append(time.perf_counter() - started)
    chosen = first if timings[0] <= timings[1] else second
    log.info("passage encoder: %s (%s %.2f s, %s %.2f s on %d texts)", chosen.backend,
             first.backend, timings[0], second.backend, timings[1], len(sample))
    return chosen


def single_query_ms(encoder: Any, repeats: int = 15) -> float:
    """Median time to encode one short question (after a warm-up)."""
    encoder.encode_query("warm up the encoder")
    times = []
    for i in range(repeats):
        started = time.perf_counter()
        encoder.encode_query(PROBES[i % len(PROBES)])
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))
