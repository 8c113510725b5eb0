"""Which encoder to use, from ENCODER_BACKEND and the CPU's flags, measured where `auto`."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from index.encoders.base import Encoder
from index.encoders.cpu import cpu_flags, native_bf16
from index.encoders.export import checked_export, onnx_or_none
from index.encoders.probes import PROBES, agrees, min_cosine
from index.encoders.torch_backend import TorchEncoder
from index.settings import EncoderSettings

log = logging.getLogger(__name__)
BACKENDS = ("auto", "torch-fp32", "torch-bf16", "onnx-fp32", "onnx-int8")


def torch_encoder(settings: EncoderSettings, batch_tokens: bool = True) -> TorchEncoder:
    """The torch fp32 encoder of EMBEDDING_MODEL, batched as the settings say."""
    return TorchEncoder(settings.embedding_model, settings.embed_batch_size,
                        settings.embed_batch_tokens if batch_tokens else 0, settings.models_dir)


def passage_encoder(settings: EncoderSettings, index_dir: Path,
                    sample: list[str] | None = None, backend: str | None = None) -> Encoder:
    """The encoder for indexing: `backend` (the one an index recorded, so that its builds
    keep one backend and time nothing), else ENCODER_BACKEND, or with `auto` bf16 where the
    CPU has it natively, else whichever of torch fp32 and ONNX fp32 encodes `sample` faster
    here."""
    base = torch_encoder(settings)
    choice = backend if backend in BACKENDS else settings.encoder_backend
    if choice == "auto":
        if native_bf16(cpu_flags()):
            checked_export(base, index_dir)  # for the questions, beside the index
            choice = "torch-bf16"
        else:
            onnx = onnx_or_none(base, index_dir, "onnx-fp32")
            return faster(base, onnx, sample) if onnx and sample else base
    # bf16 is kept only when its probe vectors agree with fp32's: an index built in bf16 must
    # still be searchable by fp32 and ONNX question encoders.
    if choice == "torch-bf16":
        reference = base.probe_vectors()
        base.to_bf16()
        if agrees(reference, base.probe_vectors()):
            return base
        log.warning("bf16 vectors disagree with fp32 (cosine %.4f); using fp32",
                    min_cosine(reference, base.probe_vectors()))
        return torch_encoder(settings)
    if choice.startswith("onnx"):
        return onnx_or_none(base, index_dir, choice) or base
    return base


def query_encoder(settings: EncoderSettings, index_dir: Path,
                  base: TorchEncoder | None = None) -> Encoder:
    """The encoder for questions: ENCODER_BACKEND, or with `auto` the fastest of torch fp32,
    ONNX fp32 and ONNX int8 (where its vectors pass the probe check), measured here on single
    questions; its `fallback` is torch fp32."""
    base = base or torch_encoder(settings, batch_tokens=False)
    choice = settings.encoder_backend
    if choice == "torch-fp32":
        return base
    if choice.startswith("onnx"):  # one thread, as in question_candidates
        return onnx_or_none(base, index_dir, choice, threads=1) or base
    if choice == "torch-bf16":
        base.to_bf16()
        return base
    # Timed on this machine: which backend is fastest depends on the CPU (VNNI, core count).
    candidates = question_candidates(base, index_dir)
    timed = sorted((single_query_ms(c), i) for i, c in enumerate(candidates))
    chosen = candidates[timed[0][1]]
    log.info("question encoder: %s (%s)", chosen.backend,
             ", ".join(f"{candidates[i].backend} {ms:.1f} ms" for ms, i in timed))
    chosen.fallback = base
    return chosen


def question_candidates(base: TorchEncoder, index_dir: Path) -> list[Encoder]:
    """Torch fp32 and the ONNX fp32 and int8 encoders that pass their probe checks, on one
    thread each: as fast as two for a short text (5.3 against 4.6-6.3 ms here), and it leaves
    a core to the lexical search and to other questions answered meanwhile."""
    candidates: list[Encoder] = [base]
    for backend in ("onnx-fp32", "onnx-int8"):
        onnx = onnx_or_none(base, index_dir, backend, threads=1, strict=True)
        if onnx is not None:
            candidates.append(onnx)
    return candidates


def faster(first: Encoder, second: Encoder, sample: list[str]) -> Encoder:
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


def single_query_ms(encoder: Encoder, repeats: int = 15) -> float:
    """Median time to encode one short question (after a warm-up)."""
    encoder.encode_query("warm up the encoder")
    times = []
    for i in range(repeats):
        started = time.perf_counter()
        encoder.encode_query(PROBES[i % len(PROBES)])
        times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))
