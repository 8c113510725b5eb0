"""The answering engine: a question in, verbatim quotes with their sources (or an abstention) out.

Every quote's text is `article_text[start:end]` of a stored article: nothing is generated.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Sequence

import numpy as np

from bot.engine.abstention import rarity
from bot.engine.answer_types import asked_type
from bot.engine.compose import compose, speaking
from bot.engine.filters import Filters, understand
from bot.engine.followup import Exchange, leans_on, refers_back
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
from bot.engine.outlets import disagreements, one_per_source
from bot.engine.periods import Period
from bot.engine.quote import Quote
from bot.engine.records import Answer, ArticleRef, ArticleText, Catalog, IndexSummary
from bot.engine.said import speakers_asked
from bot.engine.search import Retriever
from bot.engine.stories import Stories, stories_of
from bot.engine.text import terms
from bot.engine.topics import Topic, best_match
from bot.settings import Settings
from index import (
    IndexUnavailableError,
    IndexView,
    LoadedIndex,
    PgSource,
    current_version,
    detect_language,
    load_index,
)
from index.encoders import (
    Encoder,
    IncompatibleEncoderError,
    ModelError,
    check_compatible,
    query_encoder,
)
from index.errors import VerbatimError
from reader import load_reader

log = logging.getLogger(__name__)
_SMALL_TALK = re.compile(
    r"^(hi|hello|hey|hiya|howdy|yo|thanks|thank you|thank you very much|thx|ty|cheers|ok|okay|"
    r"cool|great|nice|bye|goodbye|good (morning|afternoon|evening|night)|help|start|"
    r"who are you|what are you|what can you do)\W*$",
    re.IGNORECASE,
)
_NEWS = re.compile(r"\b(what'?s new|what is new|news|latest|newest|recent(?:ly)?|updates?)\b"
                   r"(?:\s+(?:on|about|from|in|for))?", re.IGNORECASE)
_ANY_NEWS = frozenset({"happened", "happen", "happening", "new", "news", "latest", "going",
                       "stories", "story", "updates", "update", "articles", "article",
                       "published", "reported", "report", "anything", "written", "wrote"})
HELP = ("I answer questions about the news articles I hold, quoting them word for word with "
        "the source. Ask me something like “How far is Qasr Bin Ghashir from Tripoli?”")
UNAVAILABLE = "The article index is unavailable right now; please try again later."


class QuestionError(VerbatimError, ValueError):
    """The question cannot be answered as asked (empty or too long)."""


def validate(question: str, max_chars: int) -> str:
    text = question.strip()
    if not text:
        raise QuestionError("The question is empty: type a question about the news articles.")
    if len(text) > max_chars:
        raise QuestionError(f"The question is too long ({len(text)} characters; the limit is "
                            f"{max_chars}). Please ask a shorter question.")
    return text


class Engine:
    """Loads the model once and answers questions against the live index; reloads atomically."""

    def __init__(self, settings: Settings, encoder: Encoder | None = None) -> None:
        self.settings = settings
        self.encoder = encoder or query_encoder(settings, settings.resolved_index_dir)
        rarity("warm")  # loads wordfreq's English table now, not during the first question
        detect_language("the word lists of Latin-script languages")  # and those detection reads
        self.reader = load_reader() if settings.reader else None
        self._state: tuple[IndexView, Retriever] | None = None
        self._reload_lock = threading.Lock()
        self._database: PgSource | None = None  # INDEX_BACKEND=postgresql: where it reads

    @property
    def index(self) -> IndexView | None:
        """The loaded index (for benchmarks and tests; front ends use the methods below)."""
        state = self._state
        return state[0] if state else None

    @property
    def retriever(self) -> Retriever:
        """The retriever of the loaded index (for benchmarks and tests)."""
        assert self._state is not None
        return self._state[1]

    @property
    def ready(self) -> bool:
        """Whether an index is loaded."""
        return self._state is not None

    @property
    def version(self) -> str | None:
        """The served index version, None before one is loaded."""
        state = self._state
        return state[0].version if state else None

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
        state = self._state
        if state is None:
            return []
        index, retriever = state[0], state[1]
        among = None if period is None else retriever.rows_within(Filters(period=period))
        return [(article_ref(info), first_sentence(index, info))
                for info in newest(index, count, among)]

    def sources(self) -> list[str]:
        """The publishers of the indexed articles, sorted."""
        state = self._state
        return list(state[1].sources.names) if state else []

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
        state = self._state
        if state is None:
            raise IndexUnavailableError(UNAVAILABLE)
        return Topic(text, self.encoder.encode_query(text),
                     state[1].query_terms(text, loose=True))

    def match_topic(self, article_id: str, topic: Topic, threshold: float) -> Quote | None:
        """The article's sentence that best matches the topic, when it matches at least
        `threshold`; None otherwise (or when the article is not indexed)."""
        index = self.index
        info = index.by_article_id.get(article_id) if index else None
        return best_match(index, info, topic, threshold) if index and info else None

    def load(self) -> bool:
        """Load the live index if it is newer than the one in use; keep the old one on failure."""
        with self._reload_lock:
            loaded = (self._load_database() if self.settings.index_backend == "postgresql"
                      else self._load_folder())
            if loaded is None:
                return False
            self.encoder = self._compatible_encoder(loaded)
            old = self._state
            self._state = (loaded, Retriever(loaded))
            if old is not None:
                # Questions in flight keep their reference to the old index; its SQLite files
                # stay readable, and the reader lock is released so cleanup may remove it later.
                old[0].close()
            return True

    def _load_folder(self) -> LoadedIndex | None:
        """The live version of INDEX_DIR when it is not the one in use."""
        folder = current_version(self.settings.resolved_index_dir)
        previous = self._state[0] if self._state else None
        if isinstance(previous, LoadedIndex) and folder == previous.folder:
            return None
        return load_index(self.settings.resolved_index_dir, self.encoder.name,
                          self.settings.hnsw_ef_search,
                          previous=previous if isinstance(previous, LoadedIndex) else None)

    def _load_database(self) -> IndexView | None:
        """The newest version of the PostgreSQL index when it is not the one in use (one
        query when it is)."""
        if self._database is None:  # questions read the read replica when there is one
            url = self.settings.resolved_index_read_url
            assert url is not None  # the settings refuse INDEX_BACKEND=postgresql without one
            self._database = PgSource(url, self.settings.hnsw_ef_search,
                                      self.settings.index_read_setting)
        version, name = self._database.newest()
        if self._state is not None and self._state[0].version == name:
            return None
        return self._database.load(self.encoder.name, version)

    def _compatible_encoder(self, loaded: IndexView) -> Encoder:
        """The question encoder whose vectors agree with the index's passage encoder on the
        probe set: the fastest one, or its torch fp32 fallback; none is a rebuild message."""
        try:
            return check_compatible(self.encoder, loaded.probe)
        except IncompatibleEncoderError as err:  # "<backend> <cosine>, ...; needed <minimum>"
            raise IndexUnavailableError(
                f"The index in {loaded.location} was built with "
                f"{loaded.manifest.encoder_backend}, whose vectors no question encoder here "
                f"agrees with ({err}): rebuild it with `python build_index.py --full`.") from err

    def answer(self, question: str, mode: str = "hybrid", limit: int | None = None,
               context: Exchange | None = None, sources: Sequence[str] = (),
               today: dt.date | None = None) -> Answer:
        """_answer_question's answer; an index that fails while it is read (the PostgreSQL
        index's database gone) is the UNAVAILABLE answer, and the next question retries."""
        try:
            return self._answer_question(question, mode, limit, context, sources, today)
        except IndexUnavailableError as err:
            log.warning("question not answered: %s", err)
            return Answer(question=question, abstained=True, error=UNAVAILABLE)

    def _answer_question(self, question: str, mode: str, limit: int | None,
                         context: Exchange | None, sources: Sequence[str],
                         today: dt.date | None) -> Answer:
        """The quotes that answer `question`, or an abstention; with `context` (the last
        exchange), a question that leans on it ("Where did they flee?") is asked about it. A
        period or publisher the question names ("last week", "according to Reuters") limits
        the search to those articles; `sources` (a chat's choice) when it names none."""
        started = time.perf_counter()
        try:
            text = validate(question, self.settings.max_question_chars)
        except QuestionError as err:
            return Answer(question=question, abstained=True, error=str(err))
        state = self._state
        today = today or dt.date.today()
        filters = self._filters(text, today, sources)
        asked = filters.text
        leans = leans_on(context, asked) and not _SMALL_TALK.match(asked)
        followed = context.question if context is not None else None
        if context is not None and leans:
            # A follow-up keeps the period and publishers of the question it follows ("What
            # happened in Libya last week?" then "And in Tripoli?"), unless it names its own;
            # the earlier question's date words are not searched for.
            before = self._filters(context.question, today, sources)
            context = dataclasses.replace(context, question=before.text)
            if not (filters.period or filters.sources or filters.unknown_source):
                filters = dataclasses.replace(filters, period=before.period,
                                              sources=before.sources,
                                              chat_sources=before.chat_sources)
        listing = filters.active and set(terms(asked)) <= _ANY_NEWS  # "What happened today?"
        if not (leans or listing) and (_SMALL_TALK.match(text) or not terms(asked)):
            return Answer(question=text, abstained=True, help=HELP,
                          latency_ms=(time.perf_counter() - started) * 1000)
        if state is None:
            return Answer(question=text, abstained=True, error=UNAVAILABLE)
        index, retriever = state
        limit = limit or self.settings.max_quotes
        among = retriever.rows_within(filters)
        answer: Answer | None
        if filters.unknown_source is not None:
            answer = Answer(question=text, abstained=True,
                            available_sources=list(retriever.sources.names))
        elif among is not None and not len(among):
            answer = self._nothing_within(text, retriever, filters)
            wider = None if listing else self._widened(retriever, filters)
            if wider is not None:
                found = self._searched(text, asked, retriever, mode, limit, wider[1],
                                       context if leans else None, followed)
                if not found.abstained:  # a widened answer passes the same threshold
                    answer, found.period_widened = found, wider[0]
        elif listing and among is not None:
            answer = self._listing(text, index, among, limit)
        else:
            answer = self._searched(text, asked, retriever, mode, limit, among,
                                    context if leans else None, followed)
        answer.filters = filters
        answer.latency_ms = (time.perf_counter() - started) * 1000
        answer.index_version = index.version
        return answer

    def _filters(self, text: str, today: dt.date, sources: Sequence[str]) -> Filters:
        """The period and publishers a question names (or the chat chose)."""
        state = self._state
        if state is None:
            return Filters(text=text)
        retriever = state[1]
        filters = understand(text, detect_language(text), today, retriever.sources,
                             retriever.uses_words, sources, dated=retriever.has_dates)
        if filters.unknown_source is not None and speakers_asked(retriever, text):
            # "What did Kanunou say?": a speaker the articles quote, spelled a letter off,
            # not a publisher they lack
            filters = dataclasses.replace(filters, unknown_source=None)
        return filters

    def _searched(self, text: str, asked: str, retriever: Retriever, mode: str, limit: int,
                  among: np.ndarray | None, context: Exchange | None,
                  followed: str | None) -> Answer:
        """The answer searched among `among` (all articles when None); with `context` (the
        exchange a follow-up leans on), also asked in its context, which wins as
        `_in_context` says."""
        answer = self._answer(text, asked, retriever, mode, limit, among=among) if terms(
            asked) else None
        if context is not None:
            contextual = self._answer(text, context.asked_with(asked), retriever, mode,
                                      limit, context, among, asked)
            if _in_context(contextual, answer, context, refers_back(asked)):
                contextual.followup_of, contextual.context = followed, context
                answer = contextual
        assert answer is not None  # a question without terms leans on its context
        return answer

    @staticmethod
    def _widened(retriever: Retriever, filters: Filters) -> tuple[Period, np.ndarray] | None:
        """A relative period that holds no article, widened into the past as far as
        `Period.widened` allows, and the articles in it; None when it may not be widened or
        the wider period holds none either."""
        wider = filters.period.widened() if filters.period is not None else None
        if wider is None:
            return None
        among = retriever.rows_within(dataclasses.replace(filters, period=wider))
        return (wider, among) if among is not None and len(among) else None

    def _nothing_within(self, text: str, retriever: Retriever, filters: Filters) -> Answer:
        """No article is in the period (and from the publishers): say so, with the dated
        articles nearest to the period."""
        index = retriever.index
        rows = retriever.nearest_dated(filters.period) if filters.period else []
        nearest = [index.articles[row] for row in rows]
        return Answer(question=text, abstained=True, outside_period=filters.period is not None,
                      suggestions=[{"article_id": a.article_id, "title": a.title,
                                    "published": a.published or ""} for a in nearest])

    def _listing(self, text: str, index: IndexView, among: np.ndarray, limit: int) -> Answer:
        """A question with a period or publisher and nothing else ("What happened last
        week?"): the newest of those articles, each by its first sentence."""
        quotes = [q for info in newest(index, limit, among) if (q := first_sentence(index, info))]
        return Answer(question=text, abstained=not quotes, quotes=quotes)

    def _answer(self, text: str, asked: str, retriever: Retriever, mode: str, limit: int,
                context: Exchange | None = None, among: np.ndarray | None = None,
                own: str | None = None) -> Answer:
        """One retrieval and composition for `asked` (the question, or the earlier question
        and this one), the answer saying `text` was the question; `own` is this question's
        words without its filters (`text` when None)."""
        own = text if own is None else own
        t0 = time.perf_counter()
        news = bool(_NEWS.search(asked))
        topic = " ".join(_NEWS.sub(" ", asked).split()) if news else asked
        topic = topic if terms(topic) else asked
        query = retriever.query_terms(topic)
        vector = self.encoder.encode_query(topic)
        t1 = time.perf_counter()
        hits = retriever.search(vector, query, k=10, mode=mode, among=among)
        t2 = time.perf_counter()
        if context is not None and terms(own):
            # The conversation finds the passages; the question itself picks the sentence
            # (the earlier question's words would pick the sentence already quoted).
            query, vector = retriever.query_terms(own), self.encoder.encode_query(own)
        elif context is not None:  # no words of its own: still its kind of answer ("When?")
            query.asked = asked_type(own)
        answer = compose(text, retriever, query, vector, hits, limit, self.encoder.name,
                         self.settings.abstain_threshold, news, context,
                         speaking(own, retriever, vector, limit, among), self.reader)
        answer.question_language = detect_language(text) if context else query.language
        t3 = time.perf_counter()
        answer.timings = {"encode_ms": (t1 - t0) * 1000, "search_ms": (t2 - t1) * 1000,
                          "select_ms": (t3 - t2) * 1000,
                          **answer.timings}  # read_ms, the reader's share of select_ms
        return answer

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


def _in_context(contextual: Answer, own: Answer | None, context: Exchange,
                wording_refers: bool) -> bool:
    """Whether a follow-up gets its answer in context (`contextual`) rather than the question's
    own (`own`, None when it has no words of its own). The question's own answer wins when
    the contextual one abstains. A reply whose wording stands alone ("Where did the militia
    flee to?") follows up the replied answer only where that answer's articles answer it
    with as much of the question's rare words: a reply naming what those articles never
    speak of ("Who is the museum's director?") is not pulled into them."""
    if own is None or own.abstained:
        return True
    if contextual.abstained:
        return False
    if wording_refers:
        return True
    first = contextual.quotes[0] if contextual.quotes else None
    coverage = contextual.evidence.get("rare_coverage", 0.0)
    return (first is not None and first.article_id in context.article_ids
            and coverage >= own.evidence.get("rare_coverage", 0.0))


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
