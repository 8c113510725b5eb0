"""Message text as Telegram reads it: HTML entity parsing, `plain_text` and the limits."""

from __future__ import annotations

import html.parser
import re

from tests.support.fake_bot_api.errors import BadRequest

ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
                "a", "code", "pre", "blockquote", "tg-emoji", "tg-time"}
DATE_TIME_FORMAT = re.compile(r"r|w?[dD]?[tT]?")  # Bot API date_time entities
MESSAGE_LIMIT = 4096  # UTF-16 code units of visible text
CALLBACK_TEXT_LIMIT = 200  # characters of an answerCallbackQuery notification


class _TelegramHTML(html.parser.HTMLParser):
    """Checks markup the way Telegram does and returns the plain text after entity parsing."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            raise BadRequest(f"Bad Request: can't parse entities: unsupported start tag \"{tag}\"")
        if tag == "a" and not dict(attrs).get("href"):
            raise BadRequest("Bad Request: can't parse entities: <a> without href")
        if tag == "tg-time":
            values = dict(attrs)
            if not (values.get("unix") or "").isdigit():
                raise BadRequest("Bad Request: can't parse entities: <tg-time> needs a unix "
                                 "time")
            if not DATE_TIME_FORMAT.fullmatch(values.get("format") or ""):
                raise BadRequest("Bad Request: can't parse entities: invalid date time format")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            opened = self.stack[-1] if self.stack else tag
            raise BadRequest(f"Bad Request: can't parse entities: can't find end tag "
                             f"corresponding to start tag \"{opened}\"")
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def plain_text(text: str, parse_mode: str | None) -> str:
    """The text a user sees, or BadRequest where Telegram refuses the markup."""
    if parse_mode is None:
        return text
    if parse_mode.upper() != "HTML":
        raise BadRequest(f"Bad Request: unsupported parse_mode {parse_mode}")
    parser = _TelegramHTML()
    for raw in _raw_ampersands(text):
        raise BadRequest(f"Bad Request: can't parse entities: unescaped '&' near {raw!r}")
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise BadRequest(f"Bad Request: can't parse entities: can't find end tag corresponding "
                         f"to start tag \"{parser.stack[-1]}\"")
    return "".join(parser.text)


def _raw_ampersands(text: str) -> list[str]:
    return re.findall(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)\S{0,6}", text)


def utf16_length(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2
