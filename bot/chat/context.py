"""The typed custom context (as python-telegram-bot's examples/contexttypesbot.py): every handler
and job reaches the services and the bot's run-time memory as attributes of `context`, not as
string keys of `bot_data`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from telegram import Update
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot, JobQueue

from bot.engine import Engine
from bot.settings import Settings
from bot.state import State

__all__ = ["CONTEXT_TYPES", "BotData", "ChatApp", "ChatContext", "Progress", "Services"]


@dataclass(frozen=True)
class Services:
    """What every handler needs, created once at start-up."""

    settings: Settings
    engine: Engine
    state: State
    executor: ThreadPoolExecutor  # the answering threads
    planner: ThreadPoolExecutor  # push planning: questions never queue behind it


@dataclass
class Progress:
    """What the handling of one update already did, so that an update handled again after a
    transient failure does not repeat it."""

    allowed: bool | None = None  # within the rate limits (None: not counted yet)
    first_refusal: bool = False  # the refusal to tell (once a minute)
    answer_id: int | None = None  # the stored answer
    sent: int = 0  # pages sent
    message_ids: list[int] = field(default_factory=list)  # of the pages sent
    answered: bool = False  # the button press answered


@dataclass
class BotData:
    """`context.bot_data`: the services (wired by build_application; python-telegram-bot
    creates bot_data without arguments) and the bot's memory while it runs."""

    wired: Services | None = None
    planned_version: str | None = None  # the index version pushes were planned for
    last_index_error: str | None = None  # logged once per distinct reason
    last_admin_alert: str | None = None  # admins are told once per distinct problem
    # Keyed by the Update object being handled (the same one through its retries), not its
    # id: two updates may share an id (a Bot API numbering afresh while an old one is pending).
    progress: dict[int, Progress] = field(default_factory=dict)
    failures: dict[int, BaseException] = field(default_factory=dict)  # error its handler raised

    @property
    def services(self) -> Services:
        if self.wired is None:
            raise RuntimeError("the application was not built by bot.chat.app.build_application")
        return self.wired

    def take_failure(self, update: Update) -> BaseException | None:
        """The error the handlers of `update` raised (recorded by on_error), and forget it."""
        return self.failures.pop(id(update), None)

    def forget_progress(self, update: Update) -> None:
        self.progress.pop(id(update), None)


# ExtBot[int]: the bot's rate limiter (AIORateLimiter) takes an int of retries per request.
class ChatContext(CallbackContext[ExtBot[int], dict[Any, Any], dict[Any, Any], BotData]):
    """The context of every handler and job."""

    @property
    def services(self) -> Services:
        return self.bot_data.services

    def progress(self, update: Update) -> Progress:
        """What the handling of `update` already did (limits counted, answer stored, pages
        sent)."""
        return self.bot_data.progress.setdefault(id(update), Progress())


CONTEXT_TYPES = ContextTypes(context=ChatContext, bot_data=BotData)
ChatApp: TypeAlias = Application[ExtBot[int], ChatContext, dict[Any, Any], dict[Any, Any],
                                 BotData, JobQueue[ChatContext]]
