"""The bot's scheduled jobs: the hot reload of a newer index (which plans the pushes), the news
fetch with its incremental build, the push delivery and the retention pruning."""

from __future__ import annotations

import asyncio
import logging

from telegram.ext import JobQueue

from bot.chat.context import ChatContext, Services
from bot.chat.delivery import deliver
from bot.chat.pushes import plan_pushes
from bot.engine import IndexUnavailableError
from bot.i18n import ENGLISH, N_, Translator
from bot.settings import Settings
from index.refresh import fetch_and_build
from index.sources import FeedsFileError

__all__ = ["fetch_news", "plan_at_start", "refresh_index", "schedule"]

log = logging.getLogger(__name__)
RETENTION_INTERVAL = 24 * 3600
NONE = N_("none")  # no index served
FETCH_FAILED = N_("Fetch failed: {error}")


def plan_at_start(svc: Services) -> str | None:
    """Plan for the index loaded at start before any reload can swap in a newer one: on a new
    database that index is the baseline, and a build published meanwhile is pushed. The
    version planned for, or None (no index, or planning failed: the next reload retries)."""
    version = svc.engine.version
    if version is None:
        return None
    try:
        plan_pushes(svc.engine, svc.state, svc.settings.follow_threshold)
    except Exception:  # the bot serves questions anyway; the next reload check retries
        log.exception("push planning failed at start")
        return None
    return version


def schedule(jobs: JobQueue[ChatContext], settings: Settings) -> None:
    """The repeating jobs, by the settings' intervals."""
    jobs.run_repeating(_check_index, interval=settings.reload_interval_seconds, first=0.5,
                       name="index-reload")
    jobs.run_repeating(_prune, interval=RETENTION_INTERVAL, first=60, name="retention")
    if settings.fetch_interval_minutes:
        jobs.run_repeating(_fetch_job, interval=settings.fetch_interval_minutes * 60,
                           first=min(30.0, settings.fetch_interval_minutes * 60),
                           name="news-fetch")
    jobs.run_repeating(_deliver, interval=settings.push_interval_seconds,
                       first=settings.push_interval_seconds, name="push-delivery")


async def _check_index(context: ChatContext) -> None:
    await refresh_index(context)


async def refresh_index(context: ChatContext, tr: Translator = ENGLISH) -> str:
    """Swap to a newer index when `build_index.py` published one (the old one keeps serving
    when the new one fails to load), then queue pushes for articles not announced yet. What
    happened, in `tr`'s language (for /reload)."""
    svc, memory = context.services, context.bot_data
    engine = svc.engine
    try:
        changed = await asyncio.to_thread(engine.load)
    except IndexUnavailableError as err:
        if memory.last_index_error != str(err):
            memory.last_index_error = str(err)
            log.warning("index not (re)loaded: %s", err)
        await _tell_admins(context, f"⚠️ Index not loaded: {err}")
        return tr.say(N_("The index could not be loaded: {error} Still serving: {version}."),
                      error=str(err), version=engine.version or tr.gettext(NONE))
    version = engine.version
    if changed:
        log.info("now serving index version %s", version or "?")
    if version is not None and memory.planned_version != version:
        # On the planner's thread: planning a large new index never holds up the answers.
        queued = await asyncio.get_running_loop().run_in_executor(
            svc.planner, plan_pushes, engine, svc.state, svc.settings.follow_threshold)
        memory.planned_version = version
        return tr.nsay("Serving index {version}; {count} push queued.",
                       "Serving index {version}; {count} pushes queued.", queued,
                       version=version)
    return tr.say(N_("Serving index {version}; nothing new."),
                  version=version or tr.gettext(NONE))


async def _fetch_job(context: ChatContext) -> None:
    log.info("%s", await fetch_news(context))


async def fetch_news(context: ChatContext, tr: Translator = ENGLISH) -> str:
    """Feeds into the corpus, an incremental build (with the engine's encoder: no second model
    is loaded), then the hot reload that pushes. The summary's lines are the fetcher's (in
    English); the bot's own words around them in `tr`'s language."""
    svc = context.services
    try:
        summary = await asyncio.to_thread(fetch_and_build, svc.settings, svc.state.ledger,
                                          encoder=svc.engine.encoder)
    except FeedsFileError as err:
        return tr.say(FETCH_FAILED, error=str(err))
    except Exception as err:  # a build that fails leaves the served index as it was
        log.exception("fetch failed")
        return tr.say(FETCH_FAILED, error=str(err))
    lines = summary.lines()
    if summary.written:
        lines.append(await refresh_index(context, tr))
    return "\n".join(lines)


async def _tell_admins(context: ChatContext, text: str) -> None:
    """Tell each admin once per distinct problem (in plain text, as ever)."""
    if context.bot_data.last_admin_alert == text:
        return
    context.bot_data.last_admin_alert = text
    for admin in context.services.settings.admin_ids:
        try:
            await context.bot.send_message(admin, text, parse_mode=None,
                                           link_preview_options=None)
        except Exception as err:
            log.warning("could not alert admin %s: %s", admin, err)


async def _prune(context: ChatContext) -> None:
    svc = context.services
    gone = await asyncio.to_thread(svc.state.prune, svc.settings.retention_days)
    log.info("retention: %d old rows deleted", gone)


async def _deliver(context: ChatContext) -> None:
    svc = context.services
    sent = await deliver(context.bot, svc.state, svc.settings.push_digest_over)
    if sent:
        log.info("delivered %d pushes", sent)
