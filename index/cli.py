"""The index builder's command line (`python build_index.py [--corpus PATH ...] [--full]
[--verify] [--merge] ...`).

Exit codes: 0 built (bad files skipped with warnings), 1 `--strict` met a bad article or
`--check` found problems, 2 usage error or unreadable corpus / index directory.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from index.build import build_index
from index.encoders import ModelError
from index.merge import merge_index
from index.pg import IndexDatabaseError, build_pg_index
from index.publish import IndexBusyError, current_version
from index.settings import BaseConfig, IndexSettings, SourceSettings, describe_error
from index.sources import (
    SCAN_CACHE,
    Corpus,
    CorpusError,
    FeedsFileError,
    Ledger,
    fetch_locked,
    read_corpus,
)

__all__ = ["Fetch", "load_settings", "main", "parse_args", "run_fetch"]

# The --fetch step, given the parsed arguments: an exit code (0 to go on with the build). The
# caller supplies it, as it knows where the state database is.
Fetch = Callable[[argparse.Namespace], int]
Config = TypeVar("Config", bound=BaseConfig)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Build the Verbatim article index.")
    parser.add_argument("--corpus", nargs="+", type=Path, metavar="PATH",
                        help="article files or folders (default: CORPUS_DIR)")
    parser.add_argument("--index-dir", type=Path, help="where the index lives (default: INDEX_DIR)")
    parser.add_argument("--full", action="store_true",
                        help="rebuild everything from nothing (implies --verify)")
    parser.add_argument("--verify", action="store_true",
                        help="re-read and re-hash every corpus file instead of trusting "
                             "unchanged sizes and times")
    parser.add_argument("--check", action="store_true",
                        help="validate the corpus and print problems; write nothing")
    parser.add_argument("--merge", action="store_true",
                        help="merge all index segments into one, dropping deleted rows; "
                             "read no corpus")
    parser.add_argument("--strict", action="store_true", help="fail on any bad article")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--fetch", action="store_true",
                        help="first read the feeds of FEEDS_FILE and write new articles into "
                             "the corpus")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None, fetch: Fetch | None = None) -> int:
    """Parse the arguments, fetch first with `--fetch` (through `fetch`), then check or build."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    settings = load_settings(IndexSettings)
    if settings is None:
        return 2
    if args.merge:
        return _merge(args, settings)
    if args.fetch:
        code = fetch(args) if fetch is not None else 2
        if code:
            return code
    corpus = _read(args, settings)
    if isinstance(corpus, int):
        return corpus
    if args.check:
        print(f"Checked {len(corpus.articles)} articles: {len(corpus.problems)} problems "
              f"in {len({p.path for p in corpus.problems})} files")
        return 1 if corpus.problems else 0
    if args.strict and corpus.problems:
        print(f"error: --strict: {len(corpus.problems)} problems, nothing built", file=sys.stderr)
        return 1
    return _build(args, settings, corpus)


def load_settings(kind: type[Config]) -> Config | None:
    """These settings, read from the environment; None when one is wrong (each printed)."""
    try:
        return kind()
    except ValidationError as err:
        print(describe_error(err), file=sys.stderr)
        return None


def _read(args: argparse.Namespace, settings: IndexSettings) -> Corpus | int:
    """The corpus, its problems printed as warnings; or exit code 2 when it cannot be read.
    Files unchanged since the last scan are not read again (the scan cache in the index
    directory), except with --verify or --full; --check reads everything and writes nothing."""
    paths = args.corpus or [settings.corpus_dir]
    index_dir = args.index_dir or settings.resolved_index_dir
    try:
        corpus = read_corpus(paths, follow_symlinks=settings.corpus_follow_symlinks,
                             scan_cache=None if args.check else index_dir / SCAN_CACHE,
                             verify=args.verify or args.full or args.check)
    except CorpusError as err:
        print(f"error: {err} (setting CORPUS_DIR or --corpus)", file=sys.stderr)
        return 2
    for problem in corpus.problems:
        print(f"warning: {problem}", file=sys.stderr)
    return corpus


def _build(args: argparse.Namespace, settings: IndexSettings, corpus: Corpus) -> int:
    """Build and print the summary; 0, 2 (model, busy index, disk) or 130 (interrupted)."""
    index_dir = args.index_dir or settings.resolved_index_dir
    progress = not args.quiet and sys.stderr.isatty()
    if settings.index_backend == "postgresql":
        summary = _writing(index_dir, lambda: build_pg_index(corpus, settings, full=args.full,
                                                             progress=progress))
    else:
        summary = _writing(index_dir, lambda: build_index(
            corpus, index_dir, settings, full=args.full, progress=progress))
    if isinstance(summary, int):
        return summary
    for line in summary.lines():
        print(line)
    return 0


def _merge(args: argparse.Namespace, settings: IndexSettings) -> int:
    """`--merge`: every segment into one; 0, or 2 (no index, busy, disk)."""
    index_dir = args.index_dir or settings.resolved_index_dir
    if settings.index_backend == "postgresql":
        print("Nothing to merge: the PostgreSQL index has no segments")
        return 0
    if current_version(index_dir) is None:
        print(f"error: no index in {index_dir} to merge", file=sys.stderr)
        return 2
    merges = _writing(index_dir, lambda: merge_index(index_dir, settings))
    if isinstance(merges, int):
        return merges
    for merge in merges:
        print(f"Merged {merge.line()}; published version {merge.version}")
    if not merges:
        print("Nothing to merge: the index is one segment without deleted rows")
    return 0


Result = TypeVar("Result")


def _writing(index_dir: Path, write: Callable[[], Result]) -> Result | int:
    """What `write` (a build or a merge of the index in `index_dir`) returns, or the exit
    code of its failure, told on stderr: 2 (model, corpus, busy index, disk) or 130."""
    try:
        return write()
    except (ModelError, CorpusError) as err:
        print(f"error: {err}", file=sys.stderr)
    except IndexBusyError as err:
        print(f"error: {err}; try again when it has finished", file=sys.stderr)
    except IndexDatabaseError as err:
        print(f"error: {err}", file=sys.stderr)
    except KeyboardInterrupt:
        print("interrupted: nothing published, the previous index is intact", file=sys.stderr)
        return 130
    except OSError as err:
        print(f"error: cannot write the index in {index_dir}: {err.strerror or err} "
              "(disk full or read-only?); the previous index is intact", file=sys.stderr)
    return 2


def run_fetch(settings: SourceSettings, ledger: Ledger) -> int:
    """Feeds into the corpus, the summary printed (warnings on stderr); 0, or 2 for a bad
    feeds file."""
    try:
        summary = fetch_locked(settings, ledger)
    except FeedsFileError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for line in summary.lines():
        print(line, file=sys.stderr if line.startswith("warning:") else sys.stdout)
    return 0
