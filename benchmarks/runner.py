"""The benchmarks' shared prologue: every script starts with `prologue`, which parses its flags
(with the common `--markdown FILE`) and prints the CPU line once; the quality benchmarks build
their cached indexes with `build` and open their engines with `encoders` and `engine_over`;
`show` prints a named table and, with `--markdown`, keeps it for `python -m benchmarks.tables`
to splice into docs/benchmarks.md.

Only the prologue is shared: what each script measures, and how, stays in the script.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import os
import platform
import shutil
import time
from pathlib import Path

from benchmarks.tables import block
from bot.engine import Engine
from bot.settings import Settings
from index import build_index
from index.encoders import Encoder, TorchEncoder, cpu_flags, passage_encoder, query_encoder
from index.sources import read_corpus

CPU_FLAGS_OF_INTEREST = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
# The tables `show` was given in this run, by name, in the order shown (for --markdown).
SHOWN: dict[str, str] = {}


def cpu_line() -> str:
    """The CPU model and the flags that decide precision and backend choices: the flags as
    the encoder factory reads them (`index.encoders.cpu_flags`), from one read of
    /proc/cpuinfo."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        cpuinfo = ""
    model = platform.processor() or "unknown"
    if model in ("", "unknown", platform.machine()):
        # platform.processor() says "x86_64" on Linux: the model name is in /proc/cpuinfo.
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                 if line.startswith("model name")]
        model = names[0] if names else model
    flags = cpu_flags(cpuinfo) if cpuinfo else set()
    present = [f for f in CPU_FLAGS_OF_INTEREST if f in flags]
    return f"CPU: {model}; {os.cpu_count()} cores; flags: {' '.join(present) or 'none of interest'}"


def prologue(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """The benchmark's arguments, with `--markdown FILE`; its report starts with the CPU line.
    With --markdown, the tables shown are written to FILE when the script ends, whichever
    way it returns."""
    parser.add_argument("--markdown", type=Path, default=None, metavar="FILE",
                        help="also write the named tables to FILE, for "
                             "`python -m benchmarks.tables FILE`")
    args = parser.parse_args(argv)
    print(cpu_line())
    if args.markdown is not None:
        atexit.register(write_shown, args.markdown)
    return args


def show(name: str, text: str) -> None:
    """Print a table, and keep it under `name` for --markdown."""
    print(text)
    SHOWN[name] = text


def write_shown(path: Path) -> None:
    """The tables shown so far, as named blocks, in `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(block(name, text) + "\n\n" for name, text in SHOWN.items()),
                    encoding="utf-8")


def build(name: str, corpus_paths: list[Path], work: Path, encoder: Encoder,
          seed_from: str | None = None) -> Settings:
    """The index `name` under `work`, built or brought up to date from `corpus_paths` (only
    new or changed articles are embedded, so a rerun embeds nothing); `seed_from`: a cached
    index to start from when this one does not exist yet. Abstention is off in its settings,
    so the benchmarks see every answer's evidence."""
    index_dir = work / name / "index"
    if seed_from and not index_dir.exists():
        shutil.copytree(work / seed_from / "index", index_dir, symlinks=True)
    settings = Settings(_env_file=None, index_dir=index_dir, data_dir=work / name,
                        abstain_threshold=-1e9)
    started = time.perf_counter()
    summary = build_index(read_corpus(corpus_paths), index_dir, settings, encoder=encoder,
                          progress=True)
    print(f"index {name}: {summary.passages} passages, {summary.embedded_passages} embedded, "
          f"{time.perf_counter() - started:.1f} s")
    return settings


class Encoders:
    """The default settings and the encoders they choose (ENCODER_BACKEND=auto: by the CPU's
    flags and by timing them here), their exports cached under the benchmark's work folder.
    Each encoder is made when first asked for, so a script that built its index before
    choosing its question encoder still does it in that order."""

    def __init__(self, work: Path, share_fp32: bool = False) -> None:
        self.defaults = Settings(_env_file=None)
        self.work = work
        # share_fp32: the question encoder starts from `fp32` (the torch baseline the script
        # also measures) instead of loading a torch model of its own
        self.share_fp32 = share_fp32

    @functools.cached_property
    def passages(self) -> Encoder:
        return passage_encoder(self.defaults, self.work)

    @functools.cached_property
    def fp32(self) -> TorchEncoder:
        """The torch fp32 encoder of the default model and batching."""
        return TorchEncoder(self.defaults.embedding_model, self.defaults.embed_batch_size,
                            self.defaults.embed_batch_tokens)

    @functools.cached_property
    def questions(self) -> Encoder:
        base = self.fp32 if self.share_fp32 else None
        return query_encoder(self.defaults, self.work, base=base)


def engine_over(settings: Settings, encoder: Encoder) -> Engine:
    """An engine answering with `encoder` on the index of `settings`, loaded."""
    engine = Engine(settings, encoder=encoder)
    engine.load()
    return engine
