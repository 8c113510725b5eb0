"""Encoder backends: chosen by the CPU's flags and by probe checks, never assumed."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from bot.answer import Engine
from index import backends
from index.embed import passage_encoder, query_encoder
from index.reader import IndexUnavailableError
from tests.conftest import build

INTEL = "processor: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16\n"
AMD_AVX2 = "processor: 0\nflags\t\t: fpu sse2 avx avx2 fma\n"


def test_cpu_flags_are_read_not_assumed():
    assert backends.native_bf16(backends.cpu_flags(INTEL))
    assert not backends.native_bf16(backends.cpu_flags(AMD_AVX2))
    assert backends.cpu_flags("no flags line here") == set()


@pytest.mark.parametrize(("cpuinfo", "expected"), [(AMD_AVX2, {"torch-fp32", "onnx-fp32"}),
                                                   (INTEL, {"torch-bf16"})])
def test_auto_indexes_with_bf16_only_on_native_support(workspace, monkeypatch, cpuinfo,
                                                       expected):
    monkeypatch.setattr(backends, "cpu_flags", lambda text=None: _flags(cpuinfo))
    sample = [" ".join(backends.PROBES)] * 16
    encoder = passage_encoder(workspace, workspace.resolved_index_dir, sample)
    assert encoder.backend in expected
    vectors = encoder.encode(backends.PROBES)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


class _Timed:
    def __init__(self, backend: str, seconds: float) -> None:
        self.backend, self.seconds = backend, seconds

    def encode(self, texts: list[str]) -> None:
        time.sleep(self.seconds)


def test_without_native_bf16_the_faster_measured_encoder_indexes():
    slow, quick = _Timed("torch-fp32", 0.05), _Timed("onnx-fp32", 0.0)
    assert backends.faster(slow, quick, ["a text"] * 8) is quick
    assert backends.faster(quick, slow, ["a text"] * 8) is quick


def _flags(cpuinfo: str) -> set[str]:
    line = next(line for line in cpuinfo.splitlines() if line.startswith("flags"))
    return set(line.split(":", 1)[1].split())


def test_onnx_export_is_checked_and_a_failing_one_not_used(workspace, encoder):
    folder = workspace.resolved_index_dir / "encoders" / backends.model_key(encoder.path)
    good = backends.onnx_or_none(encoder, workspace.resolved_index_dir, "onnx-fp32")
    assert good is not None and good.backend == "onnx-fp32"
    check = json.loads((folder / "check.json").read_text())
    assert check["onnx-fp32"] >= backends.ONNX_FP32_MIN_COSINE
    assert backends.min_cosine(encoder.encode(backends.PROBES),
                               good.encode(backends.PROBES)) >= 0.9999
    # An export whose vectors disagree (here: its check says so) is never used.
    (folder / "check.json").write_text(json.dumps({**check, "onnx-fp32": 0.93}))
    assert backends.onnx_or_none(encoder, workspace.resolved_index_dir, "onnx-fp32") is None
    chosen = query_encoder(workspace.model_copy(update={"encoder_backend": "onnx-fp32"}),
                           workspace.resolved_index_dir, base=encoder)
    assert chosen is encoder


def test_index_no_question_encoder_agrees_with_is_a_rebuild_message(workspace, encoder):
    (workspace.corpus_dir / "a.md").write_text(
        "The harbour reopened on Monday after the storm damaged two piers last week.\n",
        encoding="utf-8")
    int8 = passage_encoder(workspace.model_copy(update={"encoder_backend": "onnx-int8"}),
                           workspace.resolved_index_dir)
    agreement = backends.min_cosine(encoder.encode(backends.PROBES),
                                    int8.encode(backends.PROBES))
    build(workspace, encoder=int8)
    if agreement >= backends.COMPATIBLE_MIN_COSINE:  # int8 agrees on some CPUs: disagree here
        from index import publish

        folder = publish.current_version(workspace.resolved_index_dir)
        np.save(folder / "probe.npy", np.roll(np.load(folder / "probe.npy"), 1, axis=1))
    engine = Engine(workspace, encoder=encoder)
    with pytest.raises(IndexUnavailableError, match=r"rebuild it with `python build_index\.py"):
        engine.load()
