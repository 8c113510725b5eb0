"""The Telegram side (python-telegram-bot): the application and its typed context, the command
table, the handlers by concern (questions, buttons, subscriptions, info, admin), the jobs, the
pushes and their delivery, the update intake (durable inbox, polling, webhook), and the
article page's web server (`pages`)."""

from bot.chat.app import DEFAULTS, build_application, migrate_with_retry, run_bot
from bot.chat.commands import COMMANDS, DESCRIPTION, HELP_TEXT, Command
from bot.chat.context import BotData, ChatApp, ChatContext, Services
from bot.chat.info import PRIVACY
from bot.chat.intake import InboxWorker, is_transient
from bot.chat.pages import ArticleServer
from bot.chat.polling import Poller
from bot.chat.redact import RedactToken, install_redaction
from bot.chat.webhook import WebhookServer, webhook_secret

__all__ = [
    "COMMANDS",
    "DEFAULTS",
    "DESCRIPTION",
    "HELP_TEXT",
    "PRIVACY",
    "ArticleServer",
    "BotData",
    "ChatApp",
    "ChatContext",
    "Command",
    "InboxWorker",
    "Poller",
    "RedactToken",
    "Services",
    "WebhookServer",
    "build_application",
    "install_redaction",
    "is_transient",
    "migrate_with_retry",
    "run_bot",
    "webhook_secret",
]
