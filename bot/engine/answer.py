"""The answering engine: a question in, verbatim quotes with their sources (or an abstention) out.

Every quote's text is `article_text[start:end]` of a stored article: nothing is generated.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence

from bot.engine.abstention import rarity
from bot.engine.filters import Filters
from bot.engine.followup import Exchange
from bot.engine.lookups import (
    article_ref,
    examples,
    first_sentence,
    in_order,
    lead,
    newest,
    paragraph,
    still_there,
)
from bot.engine.notices import HELP, UNAVAILABLE, Notice, NoticeCode
from bot.engine.outlets import disagreements, one_per_source
from bot.engine.periods import Period
from bot.engine.question import QuestionError, read_question
from bot.engine.quote import Quote
from bot.engine.records import Answer, ArticleRef, ArticleText, Catalog, IndexSummary
from bot.engine.retrieve import Search
from bot.engine.routes import route
from bot.engine.search import Retriever
from bot.engine.serving import IndexLoader, Serving
from bot.engine.stories import Stories, stories_of
from bot.engine.topics import Topic, best_match
from bot.settings import Settings
from index import IndexUnavailableError, IndexView, detect_language
from index.encoders import Encoder, ModelError, query_encoder
from reader import load_reader

__all__ = ["HELP", "UNAVAILABLE", "Engine", "QuestionError", "open_engine"]

log = logging.getLogger(__name__)
_HELP, _UNAVAILABLE = Notice(NoticeCode.HELP), Notice(NoticeCode.UNAVAILABLE)


class Engine:
    """The front ends' one door to the index: questions (`answer`, `compare`), lookups by
    article, and topic matching for follows. `IndexLoader` keeps the served index and reloads
    it; the question's stages live in `question`, `routes` and `retrieve`."""

    def __init__(self, settings: Settings, encoder: Encoder | None = None) -> None:
        self.settings = settings
        self._loader = IndexLoader(
            settings, encoder or query_encoder(settings, settings.resolved_index_dir))
        rarity("warm")  # loads wordfreq's English table now, not during the first question
        detect_language("the word lists of Latin-script languages")  # and those detection reads
        self.reader = load_reader() if settings.reader else None

    @property
    def encoder(self) -> Encoder:
        """The question encoder (the one that agrees with the served index after a load)."""
        return self._loader.encoder

    @property
    def serving(self) -> Serving | None:
        """The served index and its retriever, None before one is loaded."""
        return self._loader.serving

    @property
    def index(self) -> IndexView | None:
        """The loaded index (for benchmarks and tests; front ends use the methods below)."""
        serving = self.serving
        return serving.index if serving else None

    @property
    def retriever(self) -> Retriever:
        """The retriever of the loaded index (for benchmarks and tests)."""
        serving = self.serving
        assert serving is not None
        return serving.retriever

    @property
    def ready(self) -> bool:
        """Whether an index is loaded."""
        return self.serving is not None

    @property
    def version(self) -> str | None:
        """The served index version, None before one is loaded."""
        serving = self.serving
        return serving.version if serving else None

    def summary(self) -> IndexSummary | None:
        """Counts, newest date, build time, model and size on disk of the served index."""
        index = self.index
        if index is None:
            return None
        first = newest(index, 1)  # the newest dated article first, when there is one
        size = index.disk_bytes()
        built_at, model = index.manifest.built_at, index.manifest.model
        return IndexSummary(articles=len(index.articles), passages=index.passage_count,
                            newest_published=first[0].published if first else None,
                            built_at=None if built_at is None else str(built_at),
                            model=None if model is None else str(model), size_bytes=size)

    def stories(self) -> Stories:
        """The stories of the served index (articles of several publishers on one event)."""
        index = self.index
        return stories_of(index) if index is not None else Stories()

    def examples(self, count: int = 3) -> list[str]:
        """Example questions about names that recur in the newest articles."""
        return examples(self.index, count)

    def newest(self, count: int, period: Period | None = None
               ) -> list[tuple[ArticleRef, Quote | None]]:
        """The newest articles (dated first, newest first), each with its first sentence;
        with `period`, those published in it."""
        serving = self.serving
        if serving is None:
            return []
        index = serving.index
        among = None if period is None else serving.retriever.rows_within(Filters(period=period))
        return [(article_ref(info), first_sentence(index, info))
                for info in newest(index, count, among)]

    def sources(self) -> list[str]:
        """The publishers of the indexed articles, sorted."""
        serving = self.serving
        return list(serving.retriever.sources.names) if serving else []

    def paragraph(self, quote: Quote) -> Quote | None:
        """The whole paragraph around a quote given earlier; None when it is gone."""
        return paragraph(self.index, quote)

    def still_there(self, quote: Quote) -> Quote | None:
        """A quote given earlier as it stands in the live index; None when it is gone."""
        return still_there(self.index, quote)

    def lead(self, article_id: str) -> Quote | None:
        """An article's first paragraph; None when the article is not indexed."""
        return lead(self.index, article_id)

    def catalog(self) -> Catalog | None:
        """The served version and all its articles in corpus order; None without an index."""
        index = self.index
        if index is None:
            return None
        return Catalog(index.version, [article_ref(a) for a in in_order(index)])

    def article(self, article_id: str) -> ArticleRef | None:
        """An indexed article by id; None when it is not (or no longer) indexed."""
        index = self.index
        info = index.by_article_id.get(article_id) if index else None
        return article_ref(info) if info else None

    def article_text(self, article_id: str) -> ArticleText | None:
        """An indexed article with its whole stored text (the article page); None when it is
        not (or no longer) indexed."""
        index = self.index
        info = index.by_article_id.get(article_id) if index else None
        if index is None or info is None:
            return None
        return ArticleText(article_ref(info), index.article_text(info.row), info.language)

    def first_sentence(self, article_id: str) -> Quote | None:
        """The first sentence of an article's lead paragraph; None when it is not indexed."""
        index = self.index
        info = index.by_article_id.get(article_id) if index else None
        return first_sentence(index, info) if index and info else None

    def topic(self, text: str) -> Topic:
        """A followed topic encoded for `match_topic`; raises IndexUnavailableError when no
        index is loaded."""
        serving = self.serving
        if serving is None:
            raise IndexUnavailableError(UNAVAILABLE)
        return Topic(text, self.encoder.encode_query(text),
                     serving.retriever.query_terms(text, loose=True))

    def match_topic(self, article_id: str, topic: Topic, threshold: float) -> Quote | None:
        """The article's sentence that best matches the topic, when it matches at least
        `threshold`; None otherwise (or when the article is not indexed)."""
        index = self.index
        info = index.by_article_id.get(article_id) if index else None
        return best_match(index, info, topic, threshold) if index and info else None

    def load(self) -> bool:
        """Load the live index if it is newer than the one in use; keep the old one on failure."""
        return self._loader.load()

    def answer(self, question: str, mode: str = "hybrid", limit: int | None = None,
               context: Exchange | None = None, sources: Sequence[str] = (),
               today: dt.date | None = None) -> Answer:
        """The quotes that answer `question`, or an abstention; with `context` (the last
        exchange), a question that leans on it ("Where did they flee?") is asked about it. A
        period or publisher the question names ("last week", "according to Reuters") limits
        the search to those articles; `sources` (a chat's choice) when it names none. An
        index that fails while it is read (the PostgreSQL index's database gone) is the
        UNAVAILABLE answer, and the next question retries."""
        try:
            return self._answer(question, mode, limit, context, sources, today)
        except IndexUnavailableError as err:
            log.warning("question not answered: %s", err)
            return _unavailable(question)

    def _answer(self, asked: str, mode: str, limit: int | None, context: Exchange | None,
                sources: Sequence[str], today: dt.date | None) -> Answer:
        """Read the question once, then route it on one served version, then stamp it."""
        started = time.perf_counter()
        serving = self.serving  # one version for the whole question, whatever reloads
        try:
            question = read_question(asked, serving, context, today or dt.date.today(),
                                     sources, self.settings.max_question_chars)
        except QuestionError as err:
            return Answer(question=asked, abstained=True, error=str(err), notice=err.notice)
        if question.small_talk:
            return Answer(question=question.text, abstained=True, help=HELP, notice=_HELP,
                          latency_ms=(time.perf_counter() - started) * 1000)
        if serving is None:
            return _unavailable(question.text)
        answer = route(question, self._search(serving, mode, limit))
        answer.filters = question.filters
        answer.latency_ms = (time.perf_counter() - started) * 1000
        answer.index_version = serving.version
        return answer

    def _search(self, serving: Serving, mode: str, limit: int | None) -> Search:
        return Search(serving.retriever, self.encoder, mode, limit or self.settings.max_quotes,
                      self.settings.abstain_threshold, self.reader)

    def compare(self, question: str, sources: Sequence[str] = (),
                today: dt.date | None = None) -> Answer:
        """/compare: one quote per publisher (the first quote's story's outlets first, then
        other publishers that answer), and where their quotes differ on a number, a day or
        a name's spelling."""
        answer = self.answer(question, limit=10, sources=sources, today=today)
        if answer.abstained or not answer.quotes:
            return answer
        # The publishers searched (the chat's /sources choice, or those the question names)
        # hold for every outlet set side by side, the story's other reports included.
        chosen = set(answer.filters.sources) if answer.filters else set()
        quotes = one_per_source([q for q in (answer.quotes[0], *answer.also_reported,
                                             *answer.quotes[1:])
                                 if not chosen or q.source in chosen])
        answer.quotes = quotes or answer.quotes[:1]
        answer.also_reported = []
        answer.compared = True
        answer.differences = disagreements(answer.quotes)
        return answer


def _unavailable(question: str) -> Answer:
    return Answer(question=question, abstained=True, error=UNAVAILABLE, notice=_UNAVAILABLE)


def open_engine(settings: Settings) -> tuple[Engine | None, str | None]:
    """The engine with its index loaded; (None, why) when the model cannot be loaded, and
    (engine, why) when the index cannot (it may appear later)."""
    try:
        engine = Engine(settings)
    except ModelError as err:
        return None, str(err)
    try:
        engine.load()
    except IndexUnavailableError as err:
        return engine, str(err)
    return engine, None
