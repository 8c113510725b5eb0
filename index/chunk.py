"""Split article text into paragraphs, sentences and passages, keeping exact offsets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CHUNKER_VERSION = 4  # bump when passage or sentence boundaries change (4: ؟ and CJK marks)
# A paragraph this short is a fragment ("1600 GMT", a results line, "Subs Not Used: ..."): for
# retrieval it joins its neighbour's passage, and it is never quoted on its own.
MIN_FRAGMENT_WORDS = 5
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
# A single line break is not a sentence boundary: Markdown articles are often hard-wrapped.
# Arabic writes "؟" (and Urdu "۔"); Chinese and Japanese end sentences with full-width marks
# and no space after them.
_SENTENCE_END = re.compile(r"""[.!?…؟۔]+['"”’»)\]]*(?=\s)|[。！？]+['"”’」』)）\]]*""")
_NEXT_START = re.compile(r"""\s*(['"“‘(\[]*)(\S)""")
_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "prof", "st", "gen", "col", "lt", "sgt", "capt", "maj", "cmdr",
    "adm", "gov", "sen", "rep", "rev", "jr", "sr", "vs", "etc", "e.g", "i.e", "no", "nos",
    "inc", "ltd", "co", "corp", "jan", "feb", "mar", "apr", "aug", "sep", "sept", "oct", "nov",
    "dec", "u.s", "u.k", "u.n", "a.m", "p.m", "fig", "approx", "dept", "est", "mt", "ft",
}
# A Han or Kana character counts as a word (Chinese and Japanese write no spaces).
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])\w)+", re.UNICODE)


@dataclass
class Span:
    """A slice of an article's text: `text[start:end]`."""

    start: int
    end: int


@dataclass
class Passage(Span):
    """A retrieval unit: a paragraph, or a window of its sentences when it is long."""

    paragraph: int = 1
    sentences: list[Span] = field(default_factory=list)


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def paragraphs(text: str) -> list[Span]:
    """Blank-line-separated paragraphs, trimmed of surrounding white space."""
    spans: list[Span] = []
    pos = 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        _append_trimmed(spans, text, pos, match.start())
        pos = match.end()
    _append_trimmed(spans, text, pos, len(text))
    return spans


def sentences(text: str, start: int = 0, end: int | None = None) -> list[Span]:
    """Sentences inside `text[start:end]`; every span is trimmed and non-empty."""
    end = len(text) if end is None else end
    spans: list[Span] = []
    pos = start
    for match in _SENTENCE_END.finditer(text, start, end):
        cut = match.end()
        if not _is_boundary(text, pos, match.start(), cut, end):
            continue
        _append_trimmed(spans, text, pos, cut)
        pos = cut
    _append_trimmed(spans, text, pos, end)
    return spans


def passages(text: str, max_words: int) -> list[Passage]:
    """Paragraphs as passages; a paragraph over `max_words` becomes windows of whole sentences,
    and a fragment paragraph joins the following paragraph's passage (the preceding one's at
    the end of the article)."""
    result: list[Passage] = []
    for group in _paragraph_groups(text):
        sents = [s for number, para in group for s in (sentences(text, para.start, para.end)
                                                       or [para])]
        number = next((n for n, p in group if not is_fragment(text, p)), group[0][0])
        window: list[Span] = []
        words = 0
        for sent in sents:
            n = word_count(text[sent.start:sent.end])
            if window and words + n > max_words:
                result.append(_passage(window, number))
                window, words = [], 0
            window.append(sent)
            words += n
        if window:
            result.append(_passage(window, number))
    return result


def is_fragment(text: str, para: Span) -> bool:
    return word_count(text[para.start:para.end]) < MIN_FRAGMENT_WORDS


def _paragraph_groups(text: str) -> list[list[tuple[int, Span]]]:
    """Paragraphs (numbered from 1) grouped so that each fragment joins a real paragraph."""
    groups: list[list[tuple[int, Span]]] = []
    pending: list[tuple[int, Span]] = []
    for number, para in enumerate(paragraphs(text), start=1):
        pending.append((number, para))
        if not is_fragment(text, para):
            groups.append(pending)
            pending = []
    if pending:
        if groups:
            groups[-1].extend(pending)
        else:
            groups.append(pending)  # an article of fragments only
    return groups


def _passage(window: list[Span], number: int) -> Passage:
    return Passage(window[0].start, window[-1].end, paragraph=number, sentences=list(window))


def _is_boundary(text: str, sent_start: int, dot: int, cut: int, end: int) -> bool:
    """A sentence ends at `dot` unless it is an abbreviation or the next word is lowercase."""
    nxt = _NEXT_START.match(text, cut, end)
    if nxt is None:
        return True
    if nxt.group(2).islower():
        return False
    if text[dot] == ".":
        token = text[sent_start:dot].rsplit(None, 1)[-1] if text[sent_start:dot].strip() else ""
        token = token.lstrip("(\"'“‘").lower()
        if token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha()):
            return False
        if nxt.group(2).isdigit() and token.isdigit():
            return False
    return True


def _append_trimmed(spans: list[Span], text: str, start: int, end: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append(Span(start, end))
