"""Follow-up questions: the last exchange of a conversation as the context of the next
question, so that "Where did they flee?" after "Who retook Tripoli airport?" is asked about
what was just discussed. Nothing is rewritten for the reader: the context steers retrieval
(the earlier question's words beside the new one's) and ranking (the earlier answer's
articles and paragraphs first); the quotes stay the articles' own text."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CONTEXT_WEIGHT", "MAX_EARLIER", "PARAGRAPH_WEIGHT", "Exchange", "context_bonus",
           "leans_on", "refers_back"]

# In rank-score units (as the news questions' recency bonus): an earlier answer's article, and
# its very paragraphs and their neighbours, rank this much higher for a follow-up.
CONTEXT_WEIGHT = 1.5
PARAGRAPH_WEIGHT = 1.0
_REFERRING = re.compile(
    r"\b(he|she|it|its|it's|they|them|their|theirs|his|her|hers|him|there|then|that|this|"
    r"these|those|same|other|another|latter|former|second|first|third|last|one|ones|also|"
    r"else)\b", re.IGNORECASE)
_OPENING = re.compile(r"^\W*(and|but|so|or|what about|how about)\b", re.IGNORECASE)
_CONTENT = re.compile(r"[^\W\d_]{3,}", re.UNICODE)
MAX_ELLIPTIC_WORDS = 4  # a question this short ("When was that?") leans on the one before
MAX_EARLIER = 2  # questions of a conversation kept as a follow-up's context besides the last


@dataclass(frozen=True)
class Exchange:
    """A question and where its answer stood: the context of the next question."""

    question: str
    article_ids: tuple[str, ...] = ()
    paragraphs: tuple[tuple[str, int], ...] = ()  # (article id, paragraph) of its quotes
    earlier: tuple[str, ...] = ()  # the questions it followed up, oldest first (at most 2)
    # The new question replies to this answer: the strongest sign of context there is, so the
    # question leans on it however self-contained its wording ("Where did the militia flee
    # to?" as a reply to an answer about Tripoli airport asks about that airport's militia).
    replied: bool = False

    def asked_with(self, question: str) -> str:
        """What a follow-up is retrieved by: the conversation's questions, then this one."""
        return " ".join([*self.earlier, self.question, question])

    def to_dict(self) -> dict[str, Any]:
        return {"question": self.question, "article_ids": list(self.article_ids),
                "paragraphs": [list(p) for p in self.paragraphs], "earlier": list(self.earlier),
                "replied": self.replied}

    @classmethod
    def of_stored(cls, question: str, quotes: list[Mapping[str, Any]],
                  earlier: tuple[str, ...] = (), replied: bool = False) -> Exchange | None:
        """The exchange of an answer (its question and quote dicts, as stored); None without
        quotes. `replied`: the new question replies to that answer."""
        if not quotes:
            return None
        # Each article and paragraph once, in the answer's order (dict.fromkeys keeps it).
        article_ids = tuple(dict.fromkeys(str(q["article_id"]) for q in quotes))
        paragraphs = tuple(dict.fromkeys((str(q["article_id"]), int(q["paragraph"]))
                                         for q in quotes))
        return cls(question, article_ids, paragraphs, earlier, replied)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Exchange:
        return cls(str(data["question"]), tuple(data.get("article_ids") or ()),
                   tuple((str(a), int(p)) for a, p in data.get("paragraphs") or ()),
                   tuple(str(q) for q in data.get("earlier") or ()),
                   bool(data.get("replied", False)))


def refers_back(question: str) -> bool:
    """Whether a question leans on an earlier one: a pronoun or a word like "there", "that",
    "the second"; an opening "and" or "what about"; or too few words to stand alone."""
    if _REFERRING.search(question) or _OPENING.match(question):
        return True
    return len(_CONTENT.findall(question)) <= MAX_ELLIPTIC_WORDS - 2


def leans_on(context: Exchange | None, question: str) -> bool:
    """Whether a question is asked in the context of an earlier exchange: any question that
    replies to its answer, otherwise one whose wording refers back."""
    return context is not None and (context.replied or refers_back(question))


def context_bonus(context: Exchange, article_id: str, paragraph: int) -> float:
    """How much higher a candidate quote ranks for a follow-up: in an article the earlier
    answer quoted, and more in or next to a paragraph it quoted."""
    if article_id not in context.article_ids:
        return 0.0
    near = any(a == article_id and abs(p - paragraph) <= 1 for a, p in context.paragraphs)
    return CONTEXT_WEIGHT + (PARAGRAPH_WEIGHT if near else 0.0)
