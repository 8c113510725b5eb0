"""The console chat: type a question, read the quoted answer; Ctrl-D quits."""

from __future__ import annotations

import sys
import time

from bot.engine import Exchange, Outcome, open_engine
from bot.i18n import ENGLISH, Html, Translator
from bot.render import NEW_CONVERSATION, as_text
from bot.settings import Settings

NEW_COMMANDS = ("/new", "new")


def run_console(settings: Settings, tr: Translator = ENGLISH) -> int:
    """Chat in the terminal until end of input, the bot's words in `tr`'s language; returns
    the exit code."""
    print(tr.say("Loading the model and the article index…"), file=sys.stderr)
    engine, problem = open_engine(settings)
    summary = engine.summary() if engine is not None else None
    if engine is None or problem or summary is None:
        print(tr.say("error: {problem}", problem=problem or ""),
              file=sys.stderr)
        return 2
    articles = tr.nsay("{count} article", "{count} articles", summary.articles)
    passages = tr.nsay("{count} passage", "{count} passages", summary.passages)
    print(tr.say("Verbatim console: {articles}, {passages}. Ask a question (Ctrl-D quits).",
                 articles=Html(articles), passages=Html(passages)))
    context: Exchange | None = None  # the last exchange, for a follow-up
    answered_at = 0.0
    while True:
        try:
            question = input("> ")
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not question.strip():
            continue
        if question.strip().lower() in NEW_COMMANDS:
            context = None
            print(tr.say(NEW_CONVERSATION) + "\n")
            continue
        recent = time.monotonic() - answered_at <= settings.followup_minutes * 60
        answer = engine.answer(question, context=context if recent else None)
        print(as_text(answer, tr))
        print()
        if answer.outcome is Outcome.QUOTED and answer.quotes:
            context, answered_at = answer.exchange(), time.monotonic()
