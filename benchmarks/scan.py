"""Corpus scanning with the scan cache: without it (as before), the first scan (every file
read and hashed, the cache written), the next one (unchanged files trusted by size,
modification time and inode, not opened) and a `--verify` scan (every file read and hashed
again), each the median of a few rounds over small generated .txt files, or .md ones with
YAML front matter (warm page cache: the files were just written). "vs no cache" compares
the scan with the fingerprints a build takes of every article (a stub carries its own).

    .venv/bin/python -m benchmarks.scan [--files 20000] [--dir PATH] [--rounds 3] [--suffix md]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import table
from benchmarks.runner import prologue
from index.sources import SCAN_CACHE, read_corpus
from index.sources.files import article_file
from tests.support.texts import FLOOD, MUSEUM, PORT

PER_FOLDER = 200


def generate(corpus: Path, files: int, suffix: str = "txt") -> None:
    """`files` small articles, `PER_FOLDER` a folder, last modified an hour ago (so that
    none is too recent to cache)."""
    paragraphs = [*FLOOD, *PORT, *MUSEUM]
    old = time.time_ns() - 3600 * 10**9
    for i in range(files):
        path = corpus / f"f{i // PER_FOLDER:04d}" / f"article-{i:06d}.{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        body = "\n\n".join(paragraphs[(i + k) % len(paragraphs)] for k in range(3))
        if suffix == "md":
            fields = {"title": f"Story {i}", "source": "Wire", "published": "2024-05-03"}
            path.write_text(article_file(fields, body), encoding="utf-8")
        else:
            path.write_text(f"# Story {i}\n\n{body}\n", encoding="utf-8")
        os.utime(path, ns=(old, old))


def timed(corpus: Path, cache: Path | None,
          verify: bool = False) -> tuple[float, float, int, int]:
    """Seconds of one scan, and of the scan and every article's fingerprint (what a build
    compares with the index); its articles and how many were stubs (files not opened)."""
    started = time.perf_counter()
    scanned = read_corpus([corpus], scan_cache=cache, verify=verify)
    seconds = time.perf_counter() - started
    for article in scanned.articles:
        _ = article.fingerprint
    with_prints = time.perf_counter() - started
    return seconds, with_prints, len(scanned.articles), sum(a.stub for a in scanned.articles)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--dir", type=Path, default=None,
                        help="where to make the temporary corpus (default: the system's)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--suffix", choices=["txt", "md"], default="txt")
    args = prologue(parser, argv)
    work = Path(tempfile.mkdtemp(prefix="verbatim-scan-", dir=args.dir))
    try:
        corpus, cache = work / "corpus", work / "index" / SCAN_CACHE
        generate(corpus, args.files, args.suffix)
        names = ("no cache", "first", "cached", "verify")
        runs: dict[str, list[float]] = {name: [] for name in names}
        printed: dict[str, list[float]] = {name: [] for name in names}
        stubs: dict[str, int] = {}
        articles = 0
        for _ in range(args.rounds):
            cache.unlink(missing_ok=True)
            for name, verify in (("no cache", False), ("first", False), ("cached", False),
                                 ("verify", True)):
                seconds, with_prints, articles, stubs[name] = timed(
                    corpus, None if name == "no cache" else cache, verify)
                runs[name].append(seconds)
                printed[name].append(with_prints)
        size = cache.stat().st_size
    finally:
        shutil.rmtree(work, ignore_errors=True)
    medians = {name: statistics.median(times) for name, times in runs.items()}
    base = statistics.median(printed["no cache"])
    print(table(["scan", "files", "articles", "stubs", "scan s", "files/s",
                 "scan + fingerprints s", "vs no cache"],
                [[name, f"{args.files} .{args.suffix}", articles, stubs[name], seconds,
                  round(args.files / seconds), statistics.median(printed[name]),
                  f"{base / statistics.median(printed[name]):.1f}x"]
                 for name, seconds in medians.items()]))
    print(f"\n{args.rounds} rounds; scan cache {size / 1e6:.1f} MB "
          f"({size / args.files:.0f} bytes a file)")


if __name__ == "__main__":
    main()
