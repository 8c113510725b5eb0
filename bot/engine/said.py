"""Questions about a speaker ("What did Kanounou say?", "What did the spokesman say?",
"Kanounou's words on the airport"): the recorded speakers (`bot.engine.speakers`) the question
names, matched leniently (case, accents, the surname alone, a letter of spelling), looked for
in the articles whose passages best match the asked words in BM25 (for a role, also of the
sentences nearest the question; never every article), and their sentences as quotes, the
closest to the question first; and each quote's own speaker."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
from rapidfuzz.distance import Levenshtein

from bot.engine.cosines import similarities
from bot.engine.quote import Quote
from bot.engine.ranking import article_paragraphs, containing
from bot.engine.search import Retriever
from bot.engine.speakers import ROLE_WORDS, Said, Speakers, article_speakers, speaker_within
from bot.engine.text import fold
from index import IndexView

__all__ = ["CANDIDATE_PASSAGES", "NEAREST_SENTENCES", "asked_words", "attribute",
           "named_speakers", "speaker_quotes", "speakers_asked"]

CANDIDATE_PASSAGES = 400  # best BM25 passages for the asked words whose articles are read
AMONG_POOL = 10  # with a period or publisher filter, this many times more looked through
NEAREST_SENTENCES = 200  # for a role, the articles of the sentences nearest the question too

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


def asked_words(question: str) -> set[str]:
    """The words naming who a question asks about, folded; none unless it asks what someone
    said ("What did X say?", "X's words", "quotes from X")."""
    # Each match fills the group of the one alternative it took ("who", "own" or "by").
    named = [next((g for g in m.groups() if g), "") for m in _ASKED_ABOUT.finditer(question)]
    asked = " ".join(named)
    return {_plain(w) for w in _WORD.findall(asked)} - _COMMON


def named_speakers(question: str, speakers: Speakers) -> list[Said]:
    """The attributed sentences whose speaker the question asks about: by name (any of its
    words of four letters or more, a letter off for long ones), else by role ("the
    spokesman"); only the words naming that someone count (`asked_words`)."""
    return _matching(asked_words(question), list(speakers.all()))


def _matching(words: set[str], found: Sequence[Said]) -> list[Said]:
    """The sentences whose speaker's name has one of the words, else whose role does."""
    if not words:
        return []
    by_name = [said for said in found if _names(words, said.speaker.name)]
    if by_name:
        return by_name
    roles = words & ROLE_WORDS
    return [said for said in found if roles and said.speaker.role
            and roles & {_plain(w) for w in _WORD.findall(said.speaker.role)}]


def speakers_asked(retriever: Retriever, question: str, among: np.ndarray | None = None,
                   vector: np.ndarray | None = None) -> list[Said]:
    """`named_speakers` over the articles of the passages that best match the asked words
    in BM25 (`CANDIDATE_PASSAGES`; spellings a letter or two off included, as searching
    does), within `among` (article rows) when given; articles in corpus order. When no name
    matches, a role is also looked for in the articles of the sentences nearest `vector`
    (the question's), which the quotes are ranked by: a role word is in too many passages
    for the best of BM25 to hold them all."""
    words = asked_words(question)
    if not words:
        return []
    index = retriever.index
    rows = _candidates(retriever, words, among)
    found = _matching(words, _read(index, rows))
    named = any(_names(words, said.speaker.name) for said in found)
    if named or vector is None or not words & ROLE_WORDS:
        return found
    return _matching(words, _read(index, set(rows) | _nearest(index, vector, among)))


def _read(index: IndexView, rows: Iterable[int]) -> list[Said]:
    """The attributed sentences of some articles, the articles in corpus order."""
    ordered = sorted(set(rows), key=lambda row: index.articles.position(row) or 0)
    return [said for row in ordered for said in article_speakers(index, row)]


def _nearest(index: IndexView, vector: np.ndarray, among: np.ndarray | None) -> set[int]:
    """The article rows of the NEAREST_SENTENCES sentences closest to the vector."""
    if among is None:
        _, passages = index.search_sentences(vector, NEAREST_SENTENCES)
    else:
        _, passages = index.search_within(vector, among, NEAREST_SENTENCES, False)
    return {index.passage(int(pid))[0] for pid in passages}


def _candidates(retriever: Retriever, words: Iterable[str],
                among: np.ndarray | None) -> list[int]:
    """The article rows of the best BM25 passages for the words that can name a speaker
    (four letters or more) or a role."""
    index = retriever.index
    query = retriever.query_terms(" ".join(w for w in words if len(w) >= 4 or w in ROLE_WORDS))
    if not query.stems:
        return []
    # Within a filter most of the best passages fall outside it: look through more of them,
    # then keep CANDIDATE_PASSAGES of those inside.
    pool = CANDIDATE_PASSAGES * (1 if among is None else AMONG_POOL)
    rows = [index.passage(pid)[0] for pid in index.lexical.search(query.phrases(), pool)]
    if among is not None:
        allowed = set(among.tolist())
        rows = [row for row in rows if row in allowed]
    return list(dict.fromkeys(rows[:CANDIDATE_PASSAGES]))


def _plain(word: str) -> str:
    """A word folded for matching: lower case, no accents, no possessive."""
    folded = fold(word)
    return re.sub(r"['’]s$", "", folded)


def _names(words: set[str], name: str) -> bool:
    """Whether one of the asked words names a part of the speaker's name."""
    for part in (_plain(w) for w in _WORD.findall(name)):
        # "al-Mujai" is asked for as "Mujai" too.
        bare = re.sub(r"^(?:al|el|ad|as|ash|an)-", "", part)
        for key in {part, bare}:
            # Initials and short particles ("Li", "bin") would match too many speakers; a
            # letter off is forgiven only in names of six letters or more, where it is a
            # misspelling rather than another name.
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
        # A wire copy repeats the sentence in several articles: quoted once, the first found.
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


def attribute(index: IndexView, quotes: Sequence[Quote]) -> None:
    """Give each quote the speaker of the first attributed sentence it holds (only the
    quoted articles are read)."""
    for quote in quotes:
        info = index.by_article_id.get(quote.article_id)
        if info is not None and quote.speaker is None:
            quote.speaker = speaker_within(index, info.row, quote.start, quote.end)
