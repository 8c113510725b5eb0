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

from index.encoders.embed import token_batches, token_lengths

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


def needs_reduced_range(flags: set[str]) -> bool:
    """7-bit int8 weights on x86 CPUs without VNNI, whose 8-bit products can saturate (ONNX
    Runtime's advice); the int8 model is checked on the probes either way."""
    return "avx2" in flags and not {"avx512_vnni", "avx_vnni", "amx_int8"} & flags


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
                 batch_size: int = 16, max_length: int = 256, threads: int | None = None,
                 batch_tokens: int = 0):
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
        self.batch_size, self.batch_tokens, self.max_length = batch_size, batch_tokens, max_length
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        if self.batch_tokens and len(texts) > 1:
            batches = token_batches(token_lengths(self.tokenizer, texts, self.max_length),
                                    self.batch_tokens)
        else:
            order = np.argsort([-len(t) for t in texts])  # similar lengths, less padding
            batches = [order[i:i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for chosen in batches:
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


EXPORT_VERSION = 2  # 2: int8 from the smoothed model (index/encoders/quantize.py)


def export_onnx(torch_encoder: Any, folder: Path) -> dict[str, Any]:
    """Export (once per model) the fp32 ONNX model and its int8 quantisation into `folder`,
    check them against torch fp32 on the probes, and record the result in `check.json`."""
    check_file = folder / "check.json"
    if check_file.exists():
        check = json.loads(check_file.read_text())
        # Checked on this kind of CPU: int8 kernels differ with VNNI (a shared index volume
        # may move between machines).
        if check.get("version") == EXPORT_VERSION and check.get("cpu") == _cpu_kind():
            return check
    folder.mkdir(parents=True, exist_ok=True)
    transformer = torch_encoder.model[0]
    fp32 = folder / "model-fp32.onnx"
    _export(transformer.auto_model, transformer.tokenizer, fp32)
    result: dict[str, Any] = {"version": EXPORT_VERSION, "cpu": _cpu_kind(),
                              "model": torch_encoder.name}
    reference = torch_encoder.encode(PROBES)
    result["onnx-fp32"] = min_cosine(reference, _probe(fp32, torch_encoder, "onnx-fp32"))
    try:
        result.update(_export_int8(transformer, folder))
        int8 = OnnxEncoder(folder / "model-int8.onnx", torch_encoder.path, torch_encoder.name,
                           "onnx-int8")
        # int8 rounds each activation tensor with one scale, so a text's vector depends a
        # little on its batch: checked one text at a time (questions) and batched (passages).
        single = np.array([int8.encode_query(text) for text in PROBES])
        result["onnx-int8"] = min(min_cosine(reference, single),
                                  min_cosine(reference, int8.encode(PROBES)))
    except Exception as err:  # int8 is optional
        log.warning("int8 quantisation failed: %s", err)
    check_file.write_text(json.dumps(result, indent=1))
    return result


def _cpu_kind() -> list[str]:
    return sorted(cpu_flags() & {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8",
                                 "avx512_bf16", "amx_bf16"})


def _export(bert: Any, tokenizer: Any, path: Path) -> None:
    import torch

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # keyword args for BERT
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids)[0]

    sample = tokenizer(["a probe sentence"], return_tensors="pt")
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about the BERT graph
        torch.onnx.export(Wrapped().eval(), (sample["input_ids"], sample["attention_mask"],
                                              sample["token_type_ids"]), str(path),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"], opset_version=17,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                        "token_type_ids": axes, "last_hidden_state": axes},
                          dynamo=False)


def _export_int8(transformer: Any, folder: Path) -> dict[str, Any]:
    """Smooth, export, and quantise to int8 (dynamic, weights per channel), keeping the most
    sensitive down-projections fp32; returns which ones were kept."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from index.encoders import quantize

    model, keep = quantize.smoothed_copy(transformer.auto_model, transformer.tokenizer)
    smoothed = folder / "model-smoothed.onnx"
    _export(model, transformer.tokenizer, smoothed)
    nodes = [node.name for node in onnx.load(str(smoothed), load_external_data=False).graph.node]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # "consider pre-processing": measured instead, in benchmarks
    try:
        quantize_dynamic(str(smoothed), str(folder / "model-int8.onnx"),
                         weight_type=QuantType.QInt8, per_channel=True,
                         reduce_range=needs_reduced_range(cpu_flags()),
                         nodes_to_exclude=quantize.onnx_nodes(nodes, keep))
    finally:
        root.setLevel(level)
        smoothed.unlink(missing_ok=True)
    return {"int8_fp32_linears": keep}


def _probe(path: Path, torch_encoder: Any, backend: str) -> np.ndarray:
    return OnnxEncoder(path, torch_encoder.path, torch_encoder.name, backend).encode(PROBES)


def checked_export(base: Any, index_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The folder of the ONNX export beside the index and its probe check (exported once, on
    first use); None, and a log line, when onnxruntime is missing or the export fails."""
    folder = Path(index_dir) / "encoders" / f"{model_key(base.path)}"
    try:
        return folder, export_onnx(base, folder)
    except ImportError as err:
        log.warning("ONNX Runtime is not installed (%s); using torch", err)
    except Exception as err:
        log.warning("ONNX export failed (%s); using torch", err)
    return None


def onnx_or_none(base: Any, index_dir: Path, backend: str, threads: int | None = None,
                 strict: bool = False) -> OnnxEncoder | None:
    """The ONNX encoder exported beside the index, if onnxruntime is here, the export works
    and its vectors pass the check against torch fp32; None (and a log line) otherwise.
    An int8 model that fails its check is still returned when asked for by name (not
    `strict`): the index's own probe check then decides whether it may answer questions."""
    exported = checked_export(base, index_dir)
    if exported is None:
        return None
    folder, check = exported
    agreement = check.get(backend)
    needed = ONNX_FP32_MIN_COSINE if backend == "onnx-fp32" else COMPATIBLE_MIN_COSINE
    if agreement is None or agreement < needed:
        used = backend == "onnx-int8" and not strict
        log.warning("%s vectors disagree with torch fp32 on the probes (cosine %s < %s); %s",
                    backend, agreement, needed, "used as asked" if used else "not used")
        if not used:
            return None
    path = folder / ("model-fp32.onnx" if backend == "onnx-fp32" else "model-int8.onnx")
    return OnnxEncoder(path, base.path, base.name, backend, base.batch_size, threads=threads,
                       batch_tokens=getattr(base, "batch_tokens", 0))


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
