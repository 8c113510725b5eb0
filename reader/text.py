"""The reader's input text: one question and one candidate sentence with its neighbours and the
article's title. Training and run time both build their pairs here, so they cannot drift."""

from __future__ import annotations

from dataclasses import dataclass

# The sentence under test between markers, so that the model can tell it from its neighbours
# (which are there only to resolve "the show", "he", "the country").
OPEN, CLOSE = ">>", "<<"
# Words kept of each part before the tokenizer's own cut: the candidate sentence always keeps
# its start, the sentence before keeps its end (next to the candidate) and the one after its
# start, so that a long neighbour cannot push the candidate out of the model's window.
TITLE_WORDS, BEFORE_WORDS, SENTENCE_WORDS, AFTER_WORDS = 12, 14, 48, 14


@dataclass(frozen=True)
class Candidate:
    """A sentence that may answer a question, with what it is read with."""

    title: str  # the article's title ("" when unknown)
    before: str  # the sentence before the candidate in its paragraph ("" if none)
    sentence: str  # the candidate sentence (verbatim)
    after: str  # the sentence after it ("" if none)


def _head(text: str, words: int) -> str:
    return " ".join(text.split()[:words])


def _tail(text: str, words: int) -> str:
    parts = text.split()
    return " ".join(parts[-words:]) if words and parts else ""


def pair_text(question: str, candidate: Candidate) -> tuple[str, str]:
    """The (first, second) segments the model reads: the question, then
    `title | before >> sentence << after`, each part cut to its word budget."""
    context = " ".join(part for part in (
        _head(candidate.title, TITLE_WORDS) + " |" if candidate.title.strip() else "",
        _tail(candidate.before, BEFORE_WORDS),
        OPEN, _head(candidate.sentence, SENTENCE_WORDS), CLOSE,
        _head(candidate.after, AFTER_WORDS),
    ) if part)
    return " ".join(question.split()), context
