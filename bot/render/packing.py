"""Telegram's message limit: 4,096 UTF-16 code units of the text it shows (after the HTML
entities are parsed). A message is composed of `Block`s, each its HTML and its visible text;
`pack` joins them into as few messages as fit, and `_cut` slices one text too long for a
message at sentence boundaries."""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass

from index import sentences

TELEGRAM_LIMIT = 4096


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units of the text after entity parsing."""
    return len(text.encode("utf-16-le")) // 2


@dataclass
class Block:
    """A piece of a message: its HTML and the text Telegram shows for it."""

    html: str
    visible: str


def pack(blocks: list[Block], limit: int = TELEGRAM_LIMIT, separator: str = "\n\n") -> list[str]:
    """Join blocks into as few messages as fit, never splitting a block."""
    messages: list[list[Block]] = []
    gap = utf16_len(separator)
    used = 0  # UTF-16 units of the last message so far
    for block in blocks:
        size = utf16_len(block.visible)
        if messages and used + gap + size <= limit:
            messages[-1].append(block)
            used += gap + size
        else:
            messages.append([block])
            used = size
    return [separator.join(b.html for b in group) for group in messages]


def _cut(text: str, budget: int) -> list[str]:
    """Consecutive slices of `text`, each within `budget`, cut after sentences where possible.
    Linear: UTF-16 offsets are summed once, and each cut is a binary search over them."""
    pieces: list[str] = []
    start = 0
    bounds = sorted({s.end for s in sentences(text)})
    # units[i]: the UTF-16 length of text[:i] (a character beyond the BMP counts two)
    units = [0, *itertools.accumulate(2 if ord(c) > 0xFFFF else 1 for c in text)]
    while start < len(text):
        end = _slice_end(text, start, bounds, units, budget)
        pieces.append(text[start:end].strip())
        start = end
        while start < len(text) and text[start].isspace():
            start += 1
    return [p for p in pieces if p]


def _slice_end(text: str, start: int, bounds: list[int], units: list[int], budget: int) -> int:
    """Where the slice from `start` ends: after the last sentence that fits the budget, else
    (one sentence over the budget) at the last space that fits, else mid-word."""
    # the longest slice that fits: the last offset whose UTF-16 length is within the budget
    reach = bisect.bisect_right(units, units[start] + budget) - 1
    fitting = bisect.bisect_right(bounds, reach) - 1
    if fitting >= 0 and bounds[fitting] > start:
        return bounds[fitting]
    # at least one character, so that a budget below one character still makes progress
    end = max(start + 1, min(reach, len(text)))
    space = text.rfind(" ", start, end)
    return space if space > start and end < len(text) else end
