"""Encoder backends: chosen by the CPU's flags and by probe checks, never assumed."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from bot.engine.answer import Engine
from index import encoders
from index.encoders import factory, passage_encoder, query_encoder
from index.encoders import int8 as quantize
from index.reader import IndexUnavailableError
from tests.support.workspace import build

INTEL = "processor: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_bf16 amx_bf16\n"
AMD_AVX2 = "processor: 0\nflags\t\t: fpu sse2 avx avx2 fma\n"
MIXED_LENGTHS = [*encoders.PROBES, "Short.", " ".join(["The airport reopened on Tuesday."] * 30)]


def test_cpu_flags_are_read_not_assumed():
    assert encoders.native_bf16(encoders.cpu_flags(INTEL))
    assert not encoders.native_bf16(encoders.cpu_flags(AMD_AVX2))
    assert encoders.cpu_flags("no flags line here") == set()


@pytest.mark.parametrize(("cpuinfo", "expected"), [(AMD_AVX2, {"torch-fp32", "onnx-fp32"}),
                                                   (INTEL, {"torch-bf16"})])
def test_auto_indexes_with_bf16_only_on_native_support(workspace, monkeypatch, cpuinfo,
                                                       expected):
    monkeypatch.setattr(factory, "cpu_flags", lambda text=None: _flags(cpuinfo))
    sample = [" ".join(encoders.PROBES)] * 16
    encoder = passage_encoder(workspace, workspace.resolved_index_dir, sample)
    assert encoder.backend in expected
    vectors = encoder.encode(encoders.PROBES)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


class _Timed:
    def __init__(self, backend: str, seconds: float) -> None:
        self.backend, self.seconds = backend, seconds

    def encode(self, texts: list[str]) -> None:
        time.sleep(self.seconds)


def test_without_native_bf16_the_faster_measured_encoder_indexes():
    slow, quick = _Timed("torch-fp32", 0.05), _Timed("onnx-fp32", 0.0)
    assert encoders.faster(slow, quick, ["a text"] * 8) is quick
    assert encoders.faster(quick, slow, ["a text"] * 8) is quick


def _flags(cpuinfo: str) -> set[str]:
    line = next(line for line in cpuinfo.splitlines() if line.startswith("flags"))
    return set(line.split(":", 1)[1].split())


def test_onnx_export_is_checked_and_a_failing_one_not_used(workspace, encoder):
    folder = workspace.resolved_index_dir / "encoders" / encoders.model_key(encoder.path)
    good = encoders.onnx_or_none(encoder, workspace.resolved_index_dir, "onnx-fp32")
    assert good is not None and good.backend == "onnx-fp32"
    check = json.loads((folder / "check.json").read_text())
    assert check["onnx-fp32"] >= encoders.ONNX_FP32_MIN_COSINE
    assert encoders.min_cosine(encoder.encode(encoders.PROBES),
                               good.encode(encoders.PROBES)) >= 0.9999
    good.batch_tokens = 64  # batches by padded tokens, reordered by length: same vectors
    assert encoders.min_cosine(encoder.encode(MIXED_LENGTHS),
                               good.encode(MIXED_LENGTHS)) >= 0.9999
    # An export whose vectors disagree (here: its check says so) is never used.
    (folder / "check.json").write_text(json.dumps({**check, "onnx-fp32": 0.93}))
    assert encoders.onnx_or_none(encoder, workspace.resolved_index_dir, "onnx-fp32") is None
    chosen = query_encoder(workspace.model_copy(update={"encoder_backend": "onnx-fp32"}),
                           workspace.resolved_index_dir, base=encoder)
    assert chosen is encoder


def test_index_no_question_encoder_agrees_with_is_a_rebuild_message(workspace, encoder):
    (workspace.corpus_dir / "a.md").write_text(
        "The harbour reopened on Monday after the storm damaged two piers last week.\n",
        encoding="utf-8")
    int8 = passage_encoder(workspace.model_copy(update={"encoder_backend": "onnx-int8"}),
                           workspace.resolved_index_dir)
    agreement = encoders.min_cosine(encoder.encode(encoders.PROBES),
                                    int8.encode(encoders.PROBES))
    build(workspace, encoder=int8)
    if agreement >= encoders.COMPATIBLE_MIN_COSINE:  # int8 agrees on some CPUs: disagree here
        from index import publish

        folder = publish.current_version(workspace.resolved_index_dir)
        np.save(folder / "probe.npy", np.roll(np.load(folder / "probe.npy"), 1, axis=1))
    engine = Engine(workspace, encoder=encoder)
    with pytest.raises(IndexUnavailableError, match=r"rebuild it with `python build_index\.py"):
        engine.load()


def test_smoothing_leaves_the_fp32_vectors_unchanged(encoder):
    transformer = encoder.model[0]
    smoothed, keep = quantize.smoothed_copy(transformer.auto_model, transformer.tokenizer)
    texts = ["Who reopened the harbour after the storm?", "ok", encoders.PROBES[6]]
    before = quantize._vectors(transformer.auto_model, transformer.tokenizer, texts)
    after = quantize._vectors(smoothed, transformer.tokenizer, texts)
    assert encoders.min_cosine(before, after) > 0.99999
    assert all(name.endswith("output.dense") for name in keep)  # only down-projections


def test_int8_export_keeps_the_chosen_linears_fp32_and_is_checked(workspace, encoder):
    import onnx

    folder = workspace.resolved_index_dir / "encoders" / encoders.model_key(encoder.path)
    encoders.onnx_or_none(encoder, workspace.resolved_index_dir, "onnx-fp32")
    check = json.loads((folder / "check.json").read_text())
    graph = onnx.load(str(folder / "model-int8.onnx")).graph
    ops = {node.name: node.op_type for node in graph.node}
    kept = quantize.onnx_nodes(list(ops), check["int8_fp32_linears"])
    assert len(kept) == len(check["int8_fp32_linears"]) >= 1
    assert {ops[name] for name in kept} == {"MatMul"}  # these stayed fp32
    assert sum(op.startswith(("MatMulInteger", "DynamicQuantizeMatMul")) for op in
               ops.values()) >= 20  # everything else is int8
    int8 = encoders.onnx_or_none(encoder, workspace.resolved_index_dir, "onnx-int8",
                                 strict=True)
    if check["onnx-int8"] >= encoders.COMPATIBLE_MIN_COSINE:
        vectors = np.array([int8.encode_query(text) for text in encoders.PROBES])
        assert encoders.min_cosine(encoder.encode(encoders.PROBES), vectors) >= 0.995
    else:  # a CPU whose int8 disagrees: never chosen for questions
        assert int8 is None
    # A failing check keeps int8 out of `auto`, whatever its speed.
    (folder / "check.json").write_text(json.dumps({**check, "onnx-int8": 0.91}))
    assert encoders.onnx_or_none(encoder, workspace.resolved_index_dir, "onnx-int8",
                                 strict=True) is None
    chosen = query_encoder(workspace, workspace.resolved_index_dir, base=encoder)
    assert chosen.backend in {"torch-fp32", "onnx-fp32"}


def test_onnx_node_names_follow_module_paths():
    nodes = ["/bert/encoder/layer.2/output/dense/lin/MatMul",
             "/bert/encoder/layer.2/output/dense/lin/Add",
             "/bert/encoder/layer.12/output/dense/lin/MatMul",
             "/bert/encoder/layer.1/attention/output/dense/lin/MatMul"]
    linears = ["encoder.layer.2.output.dense", "encoder.layer.1.output.dense"]
    assert quantize.onnx_nodes(nodes, linears) == ["/bert/encoder/layer.2/output/dense/lin/MatMul"]


def test_int8_weights_use_seven_bits_only_without_vnni():
    assert encoders.needs_reduced_range(_flags(AMD_AVX2))
    assert not encoders.needs_reduced_range(_flags(INTEL) | {"avx512_vnni"})
    assert not encoders.needs_reduced_range(set())


def test_token_batches_keep_every_text_once_within_the_padded_budget():
    rng = np.random.default_rng(0)
    lengths = [int(x) for x in rng.integers(3, 256, 700)] + [4] * 600 + [3000]
    batches = encoders.token_batches(lengths, 2048)
    seen = np.concatenate(batches)
    assert sorted(seen.tolist()) == list(range(len(lengths)))  # none lost, none twice
    assert lengths[batches[0][0]] == 3000 and len(batches[0]) == 1  # over budget: alone
    for batch in batches[1:]:
        padded = len(batch) * max(lengths[i] for i in batch)
        assert padded <= 2048 and len(batch) <= encoders.MAX_BATCH_TEXTS
    assert max(len(b) for b in batches) == encoders.MAX_BATCH_TEXTS  # short texts in large batches


def test_token_batched_vectors_match_fixed_batches_text_for_text(encoder):
    fixed = encoder.encode(MIXED_LENGTHS)
    encoder.batch_tokens = 64  # several batches of different sizes, reordered by length
    try:
        batched = encoder.encode(MIXED_LENGTHS)
    finally:
        encoder.batch_tokens = 0
    assert np.allclose(np.sum(fixed * batched, axis=1), 1.0, atol=1e-4)
