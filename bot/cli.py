"""Command line: `python -m bot [run|ask|console]`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.chat import run_bot
from bot.console import run_console
from bot.engine import Engine, open_engine
from bot.i18n import translator
from bot.render import as_text
from bot.settings import Settings
from bot.state import State
from index.settings import describe_error

log = logging.getLogger(__name__)

TODAY_HELP = ("the day the question is asked on (YYYY-MM-DD), for periods such as \"last "
              "week\"; default: the system's date")
LANG_HELP = ("the language of the bot's own words (ar, de, en, es, fr, ru, zh; a tag such as "
             "fr-FR works; others get English); quotes are never translated")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="the Telegram bot with a token, else the console (default)")
    sub.add_parser("migrate", help="create or upgrade the state database (DATABASE_URL)")
    console = sub.add_parser("console", help="chat with the engine in the terminal")
    console.add_argument("--index-dir", type=Path)
    console.add_argument("--lang", default="en", metavar="CODE", help=LANG_HELP)
    ask = sub.add_parser("ask", help="answer one question, or a JSONL file of them")
    ask.add_argument("question", nargs="?")
    ask.add_argument("--questions-file", type=Path)
    ask.add_argument("--index-dir", type=Path)
    ask.add_argument("--json", action="store_true")
    ask.add_argument("--lang", default="en", metavar="CODE", help=LANG_HELP)
    ask.add_argument("--today", type=_today_argument, metavar="YYYY-MM-DD", help=TODAY_HELP)
    compare = sub.add_parser("compare", help="one quote per publisher, and where they differ")
    compare.add_argument("question")
    compare.add_argument("--index-dir", type=Path)
    compare.add_argument("--json", action="store_true")
    compare.add_argument("--lang", default="en", metavar="CODE", help=LANG_HELP)
    compare.add_argument("--today", type=_today_argument, metavar="YYYY-MM-DD", help=TODAY_HELP)
    return parser.parse_args(argv)


def iso_day(text: object) -> dt.date:
    """A calendar day written YYYY-MM-DD; ValueError for anything else."""
    try:  # the length check: fromisoformat also takes "20220623" and "2022-W25-4"
        if isinstance(text, str) and len(text) == 10:
            return dt.date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(f"not a YYYY-MM-DD date: {text!r}")


def _today_argument(text: str) -> dt.date:
    """--today's day; a bad one is a usage error that says what was wrong."""
    try:
        return iso_day(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def load_settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "index_dir", None) is not None:
        overrides["index_dir"] = args.index_dir
    return Settings(**overrides)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    args = parse_args(argv)
    try:
        settings = load_settings(args)
    except ValidationError as err:
        print(describe_error(err), file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.log_level.upper() != "DEBUG":
        for noisy in ("faiss.loader", "sentence_transformers", "httpx", "httpcore", "alembic",
                      "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
    command = args.command or "run"
    if command in ("ask", "compare"):
        return ask(args, settings)
    if command == "migrate":
        state = State(settings.resolved_database_url)
        state.migrate()
        state.close()
        print(f"State database is up to date ({state.engine.url.render_as_string()})")
        return 0
    if command == "console" or not settings.telegram_bot_token:
        return run_console(settings, translator(getattr(args, "lang", None)))
    return run_bot(settings)


def ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer one question (or a file of them) on standard output."""
    tr = translator(args.lang)
    if (args.question is None) == (getattr(args, "questions_file", None) is None):
        print(tr.say("error: give a QUESTION or --questions-file F (not both)"),
              file=sys.stderr)
        return 2
    logging.getLogger().setLevel(logging.WARNING)
    engine, problem = open_engine(settings)
    if problem or engine is None:
        if args.json:
            print(json.dumps(error_json(args.question, problem)))
        else:
            print(tr.say("error: {problem}", problem=problem or ""), file=sys.stderr)
        return 2
    if args.command == "compare":
        answer = engine.compare(args.question, today=args.today)
        print(json.dumps(answer.to_json(), ensure_ascii=False) if args.json
              else as_text(answer, tr))
        return 2 if answer.outcome.is_error else 0
    if args.questions_file is not None:
        return ask_many(engine, args.questions_file, args.today)
    answer = engine.answer(args.question, today=args.today)
    print(json.dumps(answer.to_json(), ensure_ascii=False) if args.json else as_text(answer, tr))
    return 2 if answer.outcome.is_error else 0


def ask_many(engine: Engine, path: Path, today: dt.date | None = None) -> int:
    """One JSON object per line of the questions file, in order; a line that is not a question,
    or whose question fails, gets an object with an `error` and the batch goes on. A line's own
    `today` (YYYY-MM-DD) wins over `today` (`--today`)."""
    try:
        lines = path.read_bytes().splitlines()
    except OSError as err:
        print(f"error: cannot read {path}: {err}", file=sys.stderr)
        return 2
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        asked = _question_on(line, number, today)
        record = asked if isinstance(asked, dict) else _answer_json(engine, *asked, number)
        print(json.dumps(record, ensure_ascii=False), flush=True)
    return 0


def error_json(question: str | None, problem: str | None) -> dict[str, Any]:
    """The JSON object of a question that got no answer: the question, why, and no quotes."""
    return {"question": question, "error": problem, "quotes": []}


def _question_on(line: bytes, number: int,
                 today: dt.date | None) -> tuple[str, dt.date | None] | dict[str, Any]:
    """The question of one line of the file and the day it is asked on (the line's `today`,
    else `today`), or the error object saying why there is none; each line is decoded on its
    own, so one line in another encoding spoils only itself."""
    try:
        record = json.loads(line.decode("utf-8"))
        question = record["question"]
        if not isinstance(question, str):
            raise TypeError("'question' is not text")
        question.encode("utf-8")  # a lone surrogate ("\ud800") is no text to print back
    except (ValueError, KeyError, TypeError, RecursionError) as err:
        return error_json(None, f"line {number}: no question ({err})")
    try:
        day = iso_day(record["today"]) if record.get("today") is not None else today
    except (ValueError, TypeError) as err:
        return error_json(question, f"line {number}: bad 'today' ({err})")
    return question, day


def _answer_json(engine: Engine, question: str, today: dt.date | None,
                 number: int) -> dict[str, Any]:
    """The answer's JSON; a question the engine fails on is that line's error object, not the
    end of the batch (the lines after it still get their answers)."""
    try:
        return engine.answer(question, today=today).to_json()
    except Exception as err:  # one question, whatever it does, must not end the batch
        log.exception("line %d: the question failed", number)
        return error_json(question, f"line {number}: the question failed ({err!r})")
