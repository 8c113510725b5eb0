"""Build or update the article index: `python build_index.py [--corpus PATH ...] [--full] ...`.

Exit codes: 0 built (bad files skipped with warnings), 1 `--strict` met a bad article or
`--check` found problems, 2 usage error or unreadable corpus / index directory.
The work is `index.cli`; `--fetch` records what it saw in the bot's state database.
"""

from __future__ import annotations

import argparse
import sys

from bot.settings import Settings
from bot.state import State
from index.cli import load_settings, parse_args, run_fetch
from index.cli import main as build_main

__all__ = ["fetch", "main", "parse_args"]


def main(argv: list[str] | None = None) -> int:
    return build_main(argv, fetch=fetch)


def fetch(args: argparse.Namespace) -> int:
    """Feeds into the corpus (the summary printed); 0, or 2 for bad settings or feeds file."""
    settings = load_settings(Settings)
    if settings is None:
        return 2
    if args.corpus:
        settings = settings.model_copy(update={"corpus_dir": args.corpus[0]})
    state = State(settings.resolved_database_url)
    try:
        state.migrate()
        return run_fetch(settings, state.ledger)
    finally:
        state.close()


if __name__ == "__main__":
    sys.exit(main())
