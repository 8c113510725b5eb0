"""The console chat: type a question, read the quoted answer; Ctrl-D quits."""

from __future__ import annotations

import sys

from bot.engine import open_engine
from bot.render import as_text
from bot.settings import Settings


def run_console(settings: Settings) -> int:
    """Chat in the terminal until end of input; returns the exit code."""
    print("Loading the model and the article index…", file=sys.stderr)
    engine, problem = open_engine(settings)
    summary = engine.summary() if engine is not None else None
    if engine is None or problem or summary is None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    print(f"Verbatim console: {summary.articles} articles, {summary.passages} passages. "
          "Ask a question (Ctrl-D quits).")
    while True:
        try:
            question = input("> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question.strip():
            continue
        print(as_text(engine.answer(question)))
        print()
