"""The command table: each command once, with its handler, its line in Telegram's command menu
(setMyCommands) and in /help, and whether it is for the bot's maintainers only. The menu, the
/help text and the CommandHandler registrations are all made from it; the menu and /help in
each of the bot's languages (bot.i18n)."""

from __future__ import annotations

from dataclasses import dataclass

from telegram import BotCommand, Update
from telegram.ext import CommandHandler

import bot.chat.admin as admin
import bot.chat.info as info
import bot.chat.questions as questions
import bot.chat.sources as sources
import bot.chat.subscriptions as subscriptions
from bot.chat.access import AdminHandler, Handler, admin_only
from bot.chat.context import ChatContext
from bot.chat.replies import reply
from bot.i18n import ENGLISH, N_, Translator, translator_for

__all__ = ["COMMANDS", "DESCRIPTION", "HELP_TEXT", "Command", "command_handlers", "help_text",
           "menu"]

DESCRIPTION = N_("Ask about the news articles I hold: I reply with the sentences that answer it, "
               "quoted word for word, with their source. I never make up an answer.")
HELP_INTRO = N_(
    "<b>How to use me</b>\n"
    "• In a private chat, just type a question.\n"
    "• In a group, use /ask &lt;question&gt;, mention me, or reply to one of my messages.\n"
    "• I reply with the sentences from the articles that answer it, quoted exactly, with "
    "title, source, date, link and paragraph.\n"
    "• Buttons: <i>Full paragraph</i> shows the whole paragraph, <i>More sources</i> more "
    "quotes, 👍/👎 tell the maintainers how I did.\n"
)


@dataclass(frozen=True)
class Command:
    """One command: `description` puts it in the menu, `help` gives it a line in /help."""

    name: str
    callback: Handler
    description: str | None = None  # English; translated when shown
    help: str | None = None
    admin: bool = False  # for ADMIN_IDS only (kept out of the menu and /help)
    chats: str = "all"  # the menus it is in: "all", "private" or "group"


def maintainers(name: str, callback: AdminHandler) -> Command:
    """An admin command: anyone else gets a refusal, the callback the admin's message."""
    return Command(name, admin_only(callback), admin=True)


async def on_help(update: Update, context: ChatContext) -> None:
    if update.effective_message is not None:
        await reply(update.effective_message,
                    help_text(translator_for(update.effective_user)))


COMMANDS: tuple[Command, ...] = (
    Command("ask", questions.on_ask, N_("Ask a question about the news articles"),
            chats="group"),
    Command("compare", questions.on_compare,
            N_("Each outlet's own words on a question, e.g. /compare How many died?")),
    Command("new", questions.on_new,
            N_("Start afresh: the next question does not follow up the last answer")),
    Command("latest", subscriptions.on_latest,
            N_("The newest articles, e.g. /latest or /latest last week")),
    Command("sources", sources.on_sources, N_("Choose the publishers questions search")),
    Command("subscribe", subscriptions.on_subscribe, N_("Get a message for each new article")),
    Command("unsubscribe", subscriptions.on_unsubscribe, N_("Stop messages for new articles")),
    Command("follow", subscriptions.on_follow,
            N_("Get new articles on a topic, e.g. /follow Libya")),
    Command("unfollow", subscriptions.on_unfollow, N_("Stop following a topic")),
    Command("following", subscriptions.on_following, N_("What this chat follows")),
    Command("help", on_help, N_("How to use the bot")),
    Command("about", info.on_about, N_("What the bot knows: articles, dates, model"),
            help=N_("shows what I know.")),
    Command("start", info.on_start, N_("Greeting and example questions"), chats="private"),
    Command("privacy", info.on_privacy, N_("What the bot stores about you")),
    Command("forget", info.on_forget, N_("Delete everything stored about you")),
    maintainers("stats", admin.on_stats),
    maintainers("reload", admin.on_reload),
    maintainers("fetch", admin.on_fetch),
)


def help_text(tr: Translator = ENGLISH) -> str:
    """/help in HTML: how to use the bot, then a line per command that has one."""
    lines = [tr.fixed(f"/{c.name} {tr.gettext(c.help)}") for c in COMMANDS if c.help]
    return tr.say_html(HELP_INTRO) + "\n".join(lines)


HELP_TEXT = help_text()


def menu(tr: Translator = ENGLISH, chats: str = "all") -> list[BotCommand]:
    """The command menu (setMyCommands) in a language, in the table's order: for private
    chats, for groups, or ("all") for any chat."""
    return [BotCommand(c.name, tr.gettext(c.description)) for c in COMMANDS
            if c.description and (chats == "all" or c.chats in ("all", chats))]


def command_handlers() -> list[CommandHandler[ChatContext, None]]:
    return [CommandHandler(c.name, c.callback) for c in COMMANDS]
