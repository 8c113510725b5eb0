"""The CPU's features, read from /proc/cpuinfo: they decide bf16 and the int8 weight range."""

from __future__ import annotations

from pathlib import Path


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


def cpu_kind(flags: set[str]) -> list[str]:
    """The flags an export's check depends on (int8 kernels differ with VNNI)."""
    return sorted(flags & {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8",
                           "avx512_bf16", "amx_bf16"})
