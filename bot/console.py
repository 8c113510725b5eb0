"""The console chat: type a question, read the quoted answer; Ctrl-D quits."""

from __future__ import annotations

import sys

from bot.settings import Settings


def run_console(settings: Settings) -> int:
    from bot.cli import make_engine
    from bot.render import as_text

    print("Loading the model and the article index…", file=sys.stderr)
    engine, problem = make_engine(settings)
    if engine is None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    index = engine.index
    print(f"Verbatim console: {len(index.articles)} articles, {index.passage_count} passages. "
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
