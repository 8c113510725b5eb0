"""What kind of answer a question asks for (an amount, a date, a place, a name, a statement, a
reason), and whether a sentence holds one the question does not already name.

"How much profit did Ask Jeeves make?" is answered by the sentence with "$17m" in it, not by
the sentence that only repeats "Ask Jeeves" and "profit": news articles restate their subject
in every paragraph, so an answer's kind tells sentences of the right article apart.
"""

from __future__ import annotations

import re
from enum import Enum


class AnswerType(Enum):
    NUMBER = "number"
    DATE = "date"
    PLACE = "place"
    PERSON = "person"
    STATEMENT = "statement"
    REASON = "reason"
    ANY = "any"


_ASKS = [  # checked in order: "who said" before "when" and "who"
    (AnswerType.NUMBER, r"\bhow (much|many|big|large|long|far|high|low|old|fast|often|deep|"
                        r"tall|heavy|wide)\b|\bby how\b|\bwhat (level|price|percentage|share|"
                        r"amount|figure|proportion|rate|value|sum|size|total|number|score|"
                        r"cost|fee)\b|\bwhat per ?cent\b"),
    (AnswerType.STATEMENT, r"\bwho (said|says|told|warned|claimed|argued|described|called)\b"
                           r"|\bwhat (did|does|do|has|have|had) .{1,60}? (say|said|tell|warn|"
                           r"claim|urge|argue|add|admit|predict|promise|call)\b"),
    (AnswerType.DATE, r"\bwhen\b|\b(what|which) (year|date|day|month|time|season)\b"
                      r"|\bhow soon\b"),
    (AnswerType.PLACE, r"\bwhere\b|\b(which|what|in which|in what) (city|country|town|region|"
                       r"state|nation|venue|stadium|capital|area|county|continent|island|"
                       r"street|village|district|province)\b"),
    (AnswerType.PERSON, r"\bwho\b|\bwhom\b|\bwhose\b|\b(which|what) (minister|analyst|player|"
                        r"man|woman|person|official|star|actor|actress|singer|band|coach|"
                        r"manager|boss|chief|director|executive|leader|spokesman|spokeswoman|"
                        r"judge|president|chairman|economist|striker|captain|presenter|author|"
                        r"writer|rapper|artist|driver|athlete|politician|mp)\b"),
    (AnswerType.REASON, r"\bwhy\b|\bfor what reason\b|\bwhat (caused|led to|prompted)\b"),
]
ASKS = [(kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in _ASKS]
# "What do the articles say about Libya?" asks what is there, not for somebody's words.
_ABOUT = re.compile(r"\bwhat (do|does|did) (the |these |your )?(articles?|news|reports?|"
                    r"stor(y|ies)|papers?|sources?|you) (say|tell)\b", re.IGNORECASE)

_NUMBER = re.compile(r"\d[\d.,]*\w*|\b(two|three|four|five|six|seven|eight|nine|ten|"
                     r"eleven|twelve|"
                     r"twenty|thirty|forty|fifty|sixty|hundreds?|thousands?|millions?|"
                     r"billions?|trillions?|half|dozens?|double|doubled|"
                     r"treble|tripled)\b", re.IGNORECASE)
_DATE = re.compile(r"\b(January|February|March|April|May|June|July|August|September|October|"
                   r"November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec|"
                   r"Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
                   r"|\b(?i:yesterday|today|tomorrow|week|weekend|month|year|decade|century|"
                   r"spring|summer|autumn|winter)\b|\b(1[89]|20)\d\d\b")  # "may" is no month
_NAME = re.compile(r"(?<![.!?:\"“] )(?<!^)\b[A-Z][\w'’-]*[a-z][\w'’-]*")
_PLACE = re.compile(r"\b(?i:in|at|to|towards|toward|from|near|into|across|outside|inside|"
                    r"throughout|around|via|between|south of|north of|east of|west of)"
                    r"\s+(?:the\s+)?([A-Z][\w'’-]*[a-z][\w'’-]*|[A-Z]{2,})")
_STATEMENT = re.compile(r"[\"“”]|\b(said|says|told|added|according to|warned|argued|claimed|"
                        r"insisted|admitted|stated)\b", re.IGNORECASE)
_REASON = re.compile(r"\b(because|due to|as a result|after|since|so that|reason|owing to|"
                     r"thanks to|in order to|amid|following|blamed|caused by)\b", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")


def asked_type(question: str) -> AnswerType:
    """The kind of answer an English question asks for; ANY when its wording does not say."""
    if _ABOUT.search(question):
        return AnswerType.ANY
    for kind, pattern in ASKS:
        if pattern.search(question):
            return kind
    return AnswerType.ANY


def holds_answer(kind: AnswerType, sentence: str, question: str) -> bool:
    """Whether the sentence holds an answer of that kind the question does not already name
    ("$17m" for "How much profit...", not the "2005" the question itself mentions)."""
    if kind is AnswerType.ANY:
        return True
    if kind is AnswerType.STATEMENT:
        return bool(_STATEMENT.search(sentence))
    if kind is AnswerType.REASON:
        return bool(_REASON.search(sentence))
    # What the question itself says is no answer: "Libya" does not answer "Where did Libya's
    # rebels go?".
    named = {word.lower() for word in _WORD.findall(question)}
    if kind is AnswerType.PLACE:
        # A place counts only after a preposition ("towards Tarhuna"): a capitalised word
        # alone is as often a person or an organisation.
        return any(_new(match.group(1), named) for match in _PLACE.finditer(sentence))
    if kind is AnswerType.NUMBER:
        pattern = _NUMBER
    elif kind is AnswerType.DATE:
        pattern = _DATE
    else:  # PERSON: a capitalised word that does not open the sentence
        pattern = _NAME
    return any(_new(match.group(0), named) for match in pattern.finditer(sentence))


def _new(found: str, named: set[str]) -> bool:
    """Whether a match brings something the question does not say (a number counts as new
    unless the question has the same digits)."""
    words = {word.lower() for word in _WORD.findall(found)}
    return bool(words) and not words <= named
