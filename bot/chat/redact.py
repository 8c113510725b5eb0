"""The bot token and the webhook secret kept out of every log line."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote

__all__ = ["RedactToken", "install_redaction"]


class RedactToken(logging.Filter):
    """Keep the bot token (plain or percent-encoded, and its secret half alone) and the webhook
    secret out of every log line: the message, its arguments, and the formatted traceback of
    the exception with its causes (URLs of the Bot API contain the token; at DEBUG
    python-telegram-bot logs setWebhook's parameters, the secret among them)."""

    def __init__(self, token: str, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.token = token
        self.secrets = [s for s in secrets if s]
        self.formatter = logging.Formatter()
        forms = [token, quote(token, safe="")]
        half = token.partition(":")[2]
        if len(half) >= 8:  # the part after the colon is what makes the token secret
            forms.append(half)
        # Case-insensitive: python-telegram-bot lowercases Telegram's error descriptions.
        self.replacements = [(re.compile(re.escape(form), re.IGNORECASE), "<token>")
                             for form in forms if form]
        self.replacements += [(re.compile(re.escape(secret), re.IGNORECASE), "<secret>")
                              for secret in self.secrets]

    def redact(self, text: str) -> str:
        for secret, placeholder in self.replacements:
            text = secret.sub(placeholder, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.replacements:
            return True
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            # Formatted here, chained causes and all, so the handler's formatter uses this text.
            record.exc_text = self.formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def install_redaction(token: str, secrets: Iterable[str] = ()) -> None:
    redact = RedactToken(token, secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
