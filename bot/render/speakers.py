"""Who said it, as shown: a quote's speaker in its attribution line ("Mohamed Kanounou (army
spokesman)"), and in /compare the speakers several outlets quote ("Mohamed Kanounou (...), via
Al Jazeera and Anadolu Agency"). Names and roles are shown exactly as the articles word them."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from bot.engine import Quote
from bot.i18n import ENGLISH, N_, Html, Translator

__all__ = ["VIA", "speaker_label", "speaker_lines"]

VIA = N_("{speaker}, via {sources}")
AND = N_("{first} and {last}")
MAX_ROLE = 80  # characters of a role shown; a longer one is left out (the name stays)


def speaker_label(quote: Quote) -> str | None:
    """The quote's speaker and role as the article words them; None when it names none."""
    speaker = quote.speaker
    if speaker is None:
        return None
    if speaker.role and len(speaker.role) <= MAX_ROLE:
        return f"{speaker.name} ({speaker.role})"
    return speaker.name


def speaker_lines(quotes: Sequence[Quote], tr: Translator = ENGLISH) -> list[str]:
    """For /compare: each speaker quoted by two outlets or more, with those outlets (a name
    is one speaker however it is cased or accented, the surname deciding)."""
    groups: dict[str, list[Quote]] = {}
    for quote in quotes:
        if quote.speaker is not None and quote.source:
            groups.setdefault(_key(quote.speaker.name), []).append(quote)
    lines = []
    for found in groups.values():
        sources = list(dict.fromkeys(q.source or "" for q in found))
        if len(sources) < 2:
            continue
        label = speaker_label(found[0]) or ""
        shown = [tr.isolate(source) for source in sources]
        joined = tr.say(AND, first=Html(", ".join(shown[:-1])), last=Html(shown[-1]))
        lines.append(tr.say(VIA, speaker=label, sources=Html(joined)))
    return lines


def _key(name: str) -> str:
    """A speaker's surname without case or accents."""
    last = name.split()[-1] if name.split() else name
    return "".join(c for c in unicodedata.normalize("NFKD", last.casefold())
                   if not unicodedata.combining(c))
