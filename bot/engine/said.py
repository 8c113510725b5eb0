"""Questions about a speaker ("What did Kanounou say?", "What did the spokesman say?",
"Kanounou's words on the airport"): the recorded speakers (`bot.engine.speakers`) the question
names, matched leniently (case, accents, the surname alone, a letter of spelling), and their
sentences as quotes, the closest to the question first; and each quote's own speaker."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from rapidfuzz.distance import Levenshtein

from bot.engine.quote import Quote
from bot.engine.ranking import article_paragraphs, containing
from bot.engine.search import fold, similarities
from bot.engine.speakers import ROLE_WORDS, Said, Speakers
from index import IndexView

__all__ = ["attribute", "named_speakers", "speaker_quotes"]

_VERBS = r"(?:say|said|says|tell|told|tells|claim|claimed|claims)"
_SAID = r"(?:words?|remarks?|comments?|statements?|quotes?|claims?)"
# Who a question asks about, and only that: "What did <X> say/tell/claim", "<X>'s words",
# "quotes from <X>" ("the word Norman", "according to the theorem" name no speaker).
_ASKED_ABOUT = re.compile(
    rf"\b(?:what|how|when|why|where|who|whom)\s+(?:did|does|do|has|have|had)\s+(?P<who>.+?)\s+"
    rf"{_VERBS}\b|(?P<own>(?:[^\W\d_][\w-]*\s+){{0,3}}[^\W\d_][\w-]*)['’]s?\s+{_SAID}\b|"
    rf"\b{_SAID}\s+(?:from|by)\s+(?P<by>[^?.,;]+)", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_COMMON = frozenset("what did does do the a an of on about say said says tell told words word "
                    "quote quotes who has have had to in for and his her their its".split())


def named_speakers(question: str, speakers: Speakers) -> list[Said]:
    """The attributed sentences whose speaker the question asks about: by name (any of its
    words of four letters or more, a letter off for long ones), else by role ("the
    spokesman"); none unless the question asks what someone said ("What did X say?", "X's
    words", "quotes from X"), and only the words naming that someone count."""
    asked = " ".join(next((g for g in m.groups() if g), "")
                     for m in _ASKED_ABOUT.finditer(question))
    words = {_plain(w) for w in _WORD.findall(asked)} - _COMMON
    if not words:
        return []
    by_name = [said for said in speakers.all() if _names(words, said.speaker.name)]
    if by_name:
        return by_name
    roles = words & ROLE_WORDS
    return [said for said in speakers.all() if roles and said.speaker.role
            and roles & {_plain(w) for w in _WORD.findall(said.speaker.role)}]


def _plain(word: str) -> str:
    """A word folded for matching: lower case, no accents, no possessive."""
    folded = fold(word)
    return re.sub(r"['’]s$", "", folded)


def _names(words: set[str], name: str) -> bool:
    for part in (_plain(w) for w in _WORD.findall(name)):
        bare = re.sub(r"^(?:al|el|ad|as|ash|an)-", "", part)
        for key in {part, bare}:
            if len(key) < 4:
                continue
            if key in words or (len(key) >= 6 and any(
                    abs(len(w) - len(key)) <= 1 and Levenshtein.distance(w, key) <= 1
                    for w in words)):
                return True
    return False


def speaker_quotes(index: IndexView, found: Sequence[Said], vector: np.ndarray,
                   limit: int) -> list[Quote]:
    """The speaker's sentences as quotes (verbatim, with the speaker), closest in meaning to
    the question first, each sentence once."""
    scored: list[tuple[float, Quote]] = []
    seen: set[str] = set()
    for said in found:
        info = index.articles[said.row]
        text = index.article_text(said.row)
        key = " ".join(text[said.start:said.end].lower().split())
        if key in seen:
            continue
        seen.add(key)
        cosine = _cosine(index, said, vector)
        starts, _ = article_paragraphs(index, said.row, text)
        scored.append((cosine, Quote(
            text=text[said.start:said.end], article_id=info.article_id, title=info.title,
            source=info.source, url=info.url, published=info.published,
            paragraph=containing(starts, said.start) + 1, start=said.start, end=said.end,
            score=round(cosine, 4), passage_id=said.passage_id, language=info.language,
            speaker=said.speaker)))
    scored.sort(key=lambda pair: pair[0], reverse=True)
    return [quote for _, quote in scored[:limit]]


def _cosine(index: IndexView, said: Said, vector: np.ndarray) -> float:
    """The question's similarity to the sentence (its passage's when the sentence has no
    vector of its own)."""
    spans = [(int(s), int(e)) for s, e in index.sentence_spans(said.passage_id)]
    vectors = index.sentence_vectors(said.passage_id)
    if (said.start, said.end) in spans and len(vectors) == len(spans):
        row = np.asarray(vectors[spans.index((said.start, said.end))], np.float32)
    else:
        row = np.asarray(index.passage_vector(said.passage_id), np.float32)
    return float(similarities(index, np.array([row @ vector]))[0])


def attribute(index: IndexView, speakers: Speakers, quotes: Sequence[Quote]) -> None:
    """Give each quote the speaker of the first attributed sentence it holds."""
    for quote in quotes:
        info = index.by_article_id.get(quote.article_id)
        if info is not None and quote.speaker is None:
            quote.speaker = speakers.within(info.row, quote.start, quote.end)
