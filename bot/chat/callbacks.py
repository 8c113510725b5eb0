"""The data of the bot's buttons: one letter for what a press asks (`Kind`), then its arguments,
colon-separated. Made and read here only; the strings stay as the first versions wrote them, so
the buttons of old messages in chats keep working."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["ANSWER_KINDS", "Kind", "Press", "answer_id_of", "arguments", "encode", "pattern",
           "read_press"]


class Kind(StrEnum):
    """What a press asks for; its data after the letter in the comments."""

    ARTICLE = "a"  # an abstention's suggested article: <answer id>:<suggestion index>
    COMPARE = "c"  # Compare outlets: <answer id>
    FEEDBACK = "f"  # 👍/👎: <answer id>:<1 or -1>
    MORE = "m"  # More sources: <answer id>
    PARAGRAPH = "p"  # Full paragraph: <answer id>:<quote index>
    SOURCES = "s"  # /sources: <publisher index>:<tag of its name>, or all


# The kinds a button under an answer has: each names the stored answer it acts on.
ANSWER_KINDS = (Kind.ARTICLE, Kind.COMPARE, Kind.FEEDBACK, Kind.MORE, Kind.PARAGRAPH)
_ANSWER_DATA = re.compile(rf"^[{''.join(ANSWER_KINDS)}]:(\d+)(?::|$)")


@dataclass(frozen=True)
class Press:
    """A press on a button under an answer: its kind's letter (any, as a client sent it), the
    stored answer's id and the argument (0 when there is none)."""

    kind: str
    answer_id: int
    arg: int = 0


def encode(kind: Kind, *parts: object) -> str:
    """A button's data: `kind`'s letter and the parts, e.g. encode(Kind.FEEDBACK, 12, -1) is
    "f:12:-1"."""
    return ":".join([kind.value, *map(str, parts)])


def pattern(kind: Kind) -> str:
    """The CallbackQueryHandler pattern of the data of `kind`."""
    return rf"^{kind.value}:"


def arguments(data: str) -> list[str]:
    """The parts of a button's data after its kind's letter ("s:all" has ["all"])."""
    return data.split(":")[1:]


def read_press(data: str) -> Press | None:
    """The press a button's data describes (letter, answer id, argument), or None when it is
    not of that shape. The letter is not checked: the handler the pattern chose knows it."""
    parts = data.split(":")
    try:
        return Press(parts[0], int(parts[1]), int(parts[2]) if len(parts) > 2 else 0)
    except (IndexError, ValueError):
        return None


def answer_id_of(data: str) -> int | None:
    """The id of the stored answer a button under an answer acts on; None for other data."""
    found = _ANSWER_DATA.match(data)
    return int(found[1]) if found else None
