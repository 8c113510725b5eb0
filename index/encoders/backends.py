"""Old import path, kept only until every importer uses the `index.encoders` facade (then
delete this module)."""

from index.encoders.cpu import cpu_flags, native_bf16, needs_reduced_range
from index.encoders.export import EXPORT_VERSION, checked_export, export_onnx, onnx_or_none
from index.encoders.factory import BACKENDS, faster, single_query_ms
from index.encoders.models import model_key
from index.encoders.onnx_backend import OnnxEncoder
from index.encoders.probes import COMPATIBLE_MIN_COSINE, ONNX_FP32_MIN_COSINE, PROBES, min_cosine

__all__ = ["BACKENDS", "COMPATIBLE_MIN_COSINE", "EXPORT_VERSION", "ONNX_FP32_MIN_COSINE", "PROBES",
           "OnnxEncoder", "checked_export", "cpu_flags", "export_onnx", "faster", "min_cosine",
           "model_key", "native_bf16", "needs_reduced_range", "onnx_or_none", "single_query_ms"]
