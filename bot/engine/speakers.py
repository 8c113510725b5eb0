"""Who said it: the speaker a sentence names for what it quotes or reports ("...," said Colonel
Mohamed Kanounou, spokesman for ...; Governor Anna Lind said ...; according to X; X told
Reuters), read off the sentence by patterns over English wording. The name and role are exact
slices of the article (with their offsets): nothing is generated, and a sentence the patterns
do not fit has no speaker (a miss is better than a wrong speaker). Found one article at a
time, when an answer quotes it or a question about a speaker picks it, and kept in a bounded
cache of the index version (never a walk over the whole corpus)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

from bot.engine.memo import bounded, once_per_version
from index import IndexView

__all__ = ["ROLE_WORDS", "SPEAKER_ARTICLES", "Said", "Speaker", "Speakers", "article_speakers",
           "find_speaker", "publishers", "speaker_within"]

_ROLES = ("spokesman|spokeswoman|spokesperson|minister|president|governor|director|chief|"
          "executive|chairman|chairwoman|chair|head|leader|commander|colonel|general|major|"
          "captain|lieutenant|sergeant|officer|official|secretary|ambassador|envoy|adviser|"
          "advisor|analyst|professor|correspondent|reporter|editor|mayor|senator|deputy|"
          "manager|coach|founder|ceo|premier|king|queen|prince|sheikh|emir|judge|prosecutor|"
          "lawyer|economist|researcher|member|mp|chancellor|superintendent|inspector|"
          "representative|author|scientist|expert|activist")
ROLE_WORDS = frozenset(_ROLES.split("|"))  # what a role is called ("spokesman")
SPEAKER_ARTICLES = 20_000  # articles whose attributed sentences a version keeps at a time
_ROLE = rf"(?i:{_ROLES})"
_MODIFIERS = ("army|government|military|police|party|foreign|deputy|senior|former|interior|"
              "defence|defense|media|opposition|rebel|health|finance|regional|local|state|"
              "company|union|club|team|prime|vice|acting|assistant|press|news|field|"
              "security|airport|city|town|national|federal")
# Capitalised words that open a sentence, or name a group, an institution or a date: never
# the first word of a speaker's name ("Police said", "Reuters told").
_STOP = ("He|She|It|They|We|I|You|This|That|These|Those|There|Here|The|A|An|His|Her|Their|"
         "Our|Its|My|In|On|At|After|Before|But|And|Or|Meanwhile|However|Also|When|While|As|"
         "Earlier|Later|Today|Yesterday|Tomorrow|Politically|Officials|Police|Witnesses|"
         "Sources|Analysts|Residents|Experts|Observers|Authorities|Government|Ministry|"
         "Agency|Office|Council|Committee|Department|Army|Forces|Force|Military|Company|"
         "Group|Union|Party|Court|Reuters|Media|News|Television|Radio|Statement|Operation|"
         "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|January|February|March|"
         "April|May|June|July|August|September|October|November|December|Some|Many|Most|"
         "Both|All|Several|Others|People|Everyone|Nobody|Someone|Airport|Organization|"
         "Organisation|Association|Institute|Bank|Service|Services|Corporation|Inc|Ltd|"
         "Shipyards?|Steel|Steelmaker|Carmaker|Automaker|Retailer|Insurer|Lender|Airlines?|"
         "Operator|Firm|Holdings|Industries|Motors|Energy|Partners|Seafoods|Prosecutors|"
         "Investigators|Doctors|Lawyers|Scientists|Researchers|Critics|Protesters|"
         "Activists|Rebels|Militants|Troops|Soldiers|Voters|Workers|Regulators")
_UPPER = "A-ZÀ-ÖØ-ÞĀ-Ž"
_LOWER = "a-zß-öø-ÿ"
# A name's word: capitalised, with a lower-case letter somewhere (an acronym such as "NATO"
# names no person), not a stop word or a role word itself; Arabic "al-" may precede it.
_TOKEN = (rf"(?:(?:al|el|ad|as|ash|an)-)?(?!(?:{_STOP}|{_ROLES.title()})\b)"
          rf"[{_UPPER}](?=[\w'’-]*[{_LOWER}])[\w'’]*(?:-[\w'’]+)*")
_PARTICLE = "(?:bin|ibn|bint|abu|de|da|di|du|van|von|der|den|le|la|dos|das|del)"
_NAME = rf"(?P<name>{_TOKEN}(?:\s+(?:{_PARTICLE}\s+)?{_TOKEN}){{0,3}})"
_CAPWORD = rf"(?!(?:The|A|An)\b)[{_UPPER}][\w'’-]*"
_PREFIX = rf"(?P<prefix>(?:(?:{_CAPWORD}|(?:{_MODIFIERS})|{_ROLE})\s+){{0,4}}?{_ROLE}\s+)"
_APPOS = (rf"(?P<appos>(?:(?:a|an|the)\s+)?(?:[\w'’-]+\s+){{0,3}}?{_ROLE}\b"
          r"[^,.;:()\"“”]{0,70}?)")
_PAREN = r"\((?P<paren>[^()\"“”]{2,60})\)"
# Where a subject may begin (the sentence's start, after a quote or punctuation, after a
# conjunction): a capitalised word inside a clause belongs to that clause, not to who spoke.
_BOUNDARY = (r"(?:^|(?<=[,;:(“\"”—–]\s)|(?<=[“\"])|(?<=\band\s)|(?<=\bbut\s)|(?<=\bwhile\s)"
             r"|(?<=\bas\s)|(?<=\bwhen\s)|(?<=\bthat\s)|(?<=\bthen\s)|(?<=\bso\s))")
_VERB = re.compile(r"\b(?:said|says|told|added|warned|stated|declared|insisted)\b")
# '...," said Colonel Mohamed Kanounou, spokesman for the al-Wefaq government forces.'
_INVERTED = re.compile(rf"[”\"’],?\s+(?:said|says|added|warned|declared)\s+{_PREFIX}?{_NAME}"
                       rf"(?:\s+{_PAREN}|,\s+{_APPOS}(?=\s*[,.;]|\s*$))?(?=\s*[,.;]|\s*$)")
# 'Governor Anna Lind said ...', 'Colonel X, a spokesman for ..., said', 'X (role) told'
_SUBJECT = re.compile(rf"{_BOUNDARY}{_PREFIX}?{_NAME}(?:\s+{_PAREN}|,\s+{_APPOS},)?\s+$")
_ACCORDING = re.compile(rf"\b[Aa]ccording to\s+{_PREFIX}?{_NAME}"
                        rf"(?:\s+{_PAREN}|,\s+{_APPOS}(?=\s*[,.;]|\s*$))?(?=\s*[,.;]|\s*$)")
# 'Anadolu Agency quoted a spokesman for the media center, Mustafa Al-Mujai, as saying'
_QUOTED = re.compile(rf"\bquot(?:ed|ing)\s+{_APPOS},\s+{_NAME},\s+as\s+saying\b")
_CUE = re.compile(r"\b(?:said|says|told|added|warned|stated|declared|insisted|according to|"
                  r"as saying)\b", re.IGNORECASE)
_PLURAL = re.compile(r"(?:ers|ors|ists|ants|ents|ians)$")


@dataclass(frozen=True)
class Speaker:
    """Who a sentence says spoke: the name and role as the article words them, and where they
    stand in its text (`text[start:end]` is the name)."""

    name: str
    start: int
    end: int
    role: str | None = None
    role_start: int | None = None
    role_end: int | None = None

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "role": self.role, "start": self.start, "end": self.end,
                "role_start": self.role_start, "role_end": self.role_end}


@dataclass(frozen=True)
class Said:
    """A sentence with a speaker: its article row, passage, span and speaker."""

    row: int
    passage_id: int
    start: int
    end: int
    speaker: Speaker


@dataclass
class Speakers:
    """Some articles' attributed sentences, by article row in text order."""

    by_row: dict[int, list[Said]] = field(default_factory=dict)

    def all(self) -> Iterable[Said]:
        for found in self.by_row.values():
            yield from found


def article_speakers(index: IndexView, row: int) -> tuple[Said, ...]:
    """The attributed sentences of one article of an index version, in text order: found
    when first asked for, then kept in the version's bounded "speakers" cache (of
    SPEAKER_ARTICLES articles)."""
    # Read once per version: the patterns are slow, and the same articles come back (each
    # answer quoting them, each question about a speaker). The cache starts over when full.
    cache = bounded(index, "speakers", SPEAKER_ARTICLES)
    found = cache.get(row)
    if found is None:
        found = cache[row] = _attributed(index, row)
    return cast(tuple[Said, ...], found)


def speaker_within(index: IndexView, row: int, start: int, end: int) -> Speaker | None:
    """The speaker of the first attributed sentence inside text[start:end] of an article."""
    return next((s.speaker for s in article_speakers(index, row)
                 if s.start < end and s.end > start), None)


def publishers(index: IndexView) -> frozenset[str]:
    """The version's publishers' names, lower case (a publisher is never a speaker): read
    once per version from the articles' facets."""
    return once_per_version(index, "publishers", _publisher_names)


def _publisher_names(index: IndexView) -> frozenset[str]:
    return frozenset(source.lower() for source in index.articles.facets().sources if source)


def _attributed(index: IndexView, row: int) -> tuple[Said, ...]:
    """Every sentence of an English (or undeclared) article that names its speaker; a
    publisher's own name is never taken for one."""
    language = index.articles[row].language
    if language and not language.lower().startswith("en"):
        return ()
    names = publishers(index)
    text = index.article_text(row)
    found = []
    for passage_id in index.article_passages(row):
        for start, end in index.sentence_spans(passage_id):
            speaker = find_speaker(text, int(start), int(end))
            if speaker is not None and speaker.name.lower() not in names:
                found.append(Said(row, passage_id, int(start), int(end), speaker))
    return tuple(found)


def find_speaker(text: str, start: int = 0, end: int | None = None) -> Speaker | None:
    """The speaker `text[start:end]` (one sentence) names, or None (also for a lone word
    that reads as a plural noun: "Prosecutors said")."""
    found = _find(text, start, end)
    if found is not None and " " not in found.name and _PLURAL.search(found.name):
        return None
    return found


def _find(text: str, start: int, end: int | None) -> Speaker | None:
    sentence = text[start:len(text) if end is None else end]
    if not _CUE.search(sentence):
        return None
    found = _INVERTED.search(sentence) or _ACCORDING.search(sentence) or _QUOTED.search(sentence)
    if found is None:
        # "<subject> said": the subject is matched backwards from each verb, within the 200
        # characters before it (room for a four-word name, a role and a 70-character
        # apposition), which bounds the pattern's work on long sentences.
        for verb in _VERB.finditer(sentence):
            before = sentence[max(0, verb.start() - 200):verb.start()]
            match = _SUBJECT.search(before)
            if match is not None:
                return _speaker(match, start + max(0, verb.start() - 200))
        return None
    return _speaker(found, start)


def _speaker(match: re.Match[str], offset: int) -> Speaker:
    """The name and role of a match, with offsets in the article (the role: a parenthesis or
    apposition when there is one, else the words before the name)."""
    groups = match.groupdict()
    role_group = next((g for g in ("paren", "appos", "prefix") if groups.get(g)), None)
    role = role_start = role_end = None
    if role_group is not None:
        raw = match.group(role_group)
        lead = len(raw) - len(raw.lstrip())
        role = raw.strip()
        role_start = offset + match.start(role_group) + lead
        role_end = role_start + len(role)
    return Speaker(match.group("name"), offset + match.start("name"),
                   offset + match.end("name"), role, role_start, role_end)
