"""The console chat: type a question, read the quoted answer; Ctrl-D quits."""

from __future__ import annotations

import sys

from bot.engine import open_engine
from bot.i18n import ENGLISH, Html, Translator
from bot.render import as_text, engine_message
from bot.settings import Settings


def run_console(settings: Settings, tr: Translator = ENGLISH) -> int:
    """Chat in the terminal until end of input, the bot's words in `tr`'s language; returns
    the exit code."""
    print(tr.say("Loading the model and the article index…"), file=sys.stderr)
    engine, problem = open_engine(settings)
    summary = engine.summary() if engine is not None else None
    if engine is None or problem or summary is None:
        print(tr.say("error: {problem}", problem=engine_message(problem or "", tr)),
              file=sys.stderr)
        return 2
    articles = tr.nsay("{count} article", "{count} articles", summary.articles)
    passages = tr.nsay("{count} passage", "{count} passages", summary.passages)
    print(tr.say("Verbatim console: {articles}, {passages}. Ask a question (Ctrl-D quits).",
                 articles=Html(articles), passages=Html(passages)))
    while True:
        try:
            question = input("> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question.strip():
            continue
        print(as_text(engine.answer(question), tr))
        print()
