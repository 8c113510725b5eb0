"""The ONNX exports of the torch model, fp32 and int8, made once per model beside the index
and used only when their vectors agree with torch fp32's on the probes."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from index.encoders.cpu import cpu_flags, cpu_kind
from index.encoders.int8 import export_int8
from index.encoders.models import model_key
from index.encoders.onnx_backend import OnnxEncoder, export_graph
from index.encoders.probes import PROBES, min_cosine, required_cosine
from index.encoders.torch_backend import TorchEncoder

log = logging.getLogger(__name__)
EXPORT_VERSION = 2  # 2: int8 from the smoothed model (index/encoders/int8.py)


def export_onnx(torch_encoder: TorchEncoder, folder: Path) -> dict[str, Any]:
    """Export (once per model) the fp32 ONNX model and its int8 quantisation into `folder`,
    check them against torch fp32 on the probes, and record the result in `check.json`."""
    check_file = folder / "check.json"
    if check_file.exists():
        check = json.loads(check_file.read_text())
        # Checked on this kind of CPU: int8 kernels differ with VNNI (a shared index volume
        # may move between machines).
        if check.get("version") == EXPORT_VERSION and check.get("cpu") == cpu_kind(cpu_flags()):
            return check
    folder.mkdir(parents=True, exist_ok=True)
    transformer = torch_encoder.transformer
    fp32 = folder / "model-fp32.onnx"
    export_graph(transformer.auto_model, transformer.tokenizer, fp32)
    result: dict[str, Any] = {"version": EXPORT_VERSION, "cpu": cpu_kind(cpu_flags()),
                              "model": torch_encoder.name}
    reference = torch_encoder.encode(PROBES)
    result["onnx-fp32"] = min_cosine(reference, _onnx(fp32, torch_encoder, "onnx-fp32")
                                     .encode(PROBES))
    try:
        result.update(export_int8(transformer, folder))
        int8 = _onnx(folder / "model-int8.onnx", torch_encoder, "onnx-int8")
        # int8 rounds each activation tensor with one scale, so a text's vector depends a
        # little on its batch: checked one text at a time (questions) and batched (passages).
        single = np.array([int8.encode_query(text) for text in PROBES])
        result["onnx-int8"] = min(min_cosine(reference, single),
                                  min_cosine(reference, int8.encode(PROBES)))
    except Exception as err:  # int8 is optional
        log.warning("int8 quantisation failed: %s", err)
    check_file.write_text(json.dumps(result, indent=1))
    return result


def _onnx(path: Path, torch_encoder: TorchEncoder, backend: str) -> OnnxEncoder:
    return OnnxEncoder(path, torch_encoder.path, torch_encoder.name, backend)


def export_folder(base: TorchEncoder, index_dir: Path) -> Path:
    """Where the exports of this model are cached beside the index."""
    return Path(index_dir) / "encoders" / f"{model_key(base.path)}"


def checked_export(base: TorchEncoder, index_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The folder of the ONNX export beside the index and its probe check (exported once, on
    first use); None, and a log line, when onnxruntime is missing or the export fails."""
    folder = export_folder(base, index_dir)
    try:
        return folder, export_onnx(base, folder)
    except ImportError as err:
        log.warning("ONNX Runtime is not installed (%s); using torch", err)
    except Exception as err:
        log.warning("ONNX export failed (%s); using torch", err)
    return None


def onnx_or_none(base: TorchEncoder, index_dir: Path, backend: str, threads: int | None = None,
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
    needed = required_cosine(backend)
    if agreement is None or agreement < needed:
        used = backend == "onnx-int8" and not strict
        log.warning("%s vectors disagree with torch fp32 on the probes (cosine %s < %s); %s",
                    backend, agreement, needed, "used as asked" if used else "not used")
        if not used:
            return None
    path = folder / ("model-fp32.onnx" if backend == "onnx-fp32" else "model-int8.onnx")
    return OnnxEncoder(path, base.path, base.name, backend, base.batch_size, threads=threads,
                       batch_tokens=base.batch_tokens)
