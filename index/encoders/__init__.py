"""Encoders: text to normalised vectors (torch fp32 / bf16, ONNX fp32 / int8), chosen by
settings and CPU flags, each checked against torch fp32 on the probe sentences."""

from index.encoders.backends import (
    BACKENDS,
    COMPATIBLE_MIN_COSINE,
    ONNX_FP32_MIN_COSINE,
    PROBES,
    OnnxEncoder,
    checked_export,
    cpu_flags,
    export_onnx,
    faster,
    min_cosine,
    model_key,
    native_bf16,
    needs_reduced_range,
    onnx_or_none,
    single_query_ms,
)
from index.encoders.embed import (
    MAX_BATCH_TEXTS,
    Encoder,
    ModelError,
    passage_encoder,
    query_encoder,
    question_candidates,
    resolve_model,
    token_batches,
    token_lengths,
)
from index.encoders.quantize import onnx_nodes, smoothed_copy

TorchEncoder = Encoder

__all__ = [
    "BACKENDS",
    "COMPATIBLE_MIN_COSINE",
    "MAX_BATCH_TEXTS",
    "ONNX_FP32_MIN_COSINE",
    "PROBES",
    "Encoder",
    "ModelError",
    "OnnxEncoder",
    "TorchEncoder",
    "checked_export",
    "cpu_flags",
    "export_onnx",
    "faster",
    "min_cosine",
    "model_key",
    "native_bf16",
    "needs_reduced_range",
    "onnx_nodes",
    "onnx_or_none",
    "passage_encoder",
    "query_encoder",
    "question_candidates",
    "resolve_model",
    "single_query_ms",
    "smoothed_copy",
    "token_batches",
    "token_lengths",
]
