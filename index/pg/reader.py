"""Reading one version of the PostgreSQL index: the read surface of index.view.IndexView.

Nothing of the index is held in memory but the version's corpus order (8 bytes an article) and
small bounded caches; every search is one SQL query. Dense searches take twice `k` candidates
from the HNSW index (cosine) and rank them by their exact float32 vectors as the FAISS index
does; BM25 is computed in SQL from the postings with index.lexical.Bm25's formula, float for
float, so both backends rank alike.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, ValuesView
from typing import Any

import numpy as np
import psycopg

from index.lexical import K1, MIN_IDF, B
from index.pg.schema import (
    SCHEMA,
    IndexDatabaseError,
    connect,
    has_tables,
    load_array,
    short,
    vector_text,
    vectors_of,
    where,
)
from index.publish import Manifest
from index.reader import REBUILD, RERANK, IndexUnavailableError
from index.segment import ArticleInfo
from index.view import ArticlesInOrder, Facets

S = SCHEMA
# As index.reader's: a filtered search over this many passages is ranked exactly (a scan of
# their rows, no HNSW); more, and an HNSW search wide enough to hold k of them is filtered.
EXACT_WITHIN = 50_000
MAX_EF_SEARCH = 1000  # pgvector's limit (an HNSW scan returns at most ef_search rows)
ARTICLE_COLUMNS = "id, article_id, title, source, url, published, added_at, meta, language"


class Cache(dict[Any, Any]):
    """A dict that starts over when it holds `limit` entries (as index.reader's text cache)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.lock = threading.Lock()

    def put(self, key: Any, value: Any) -> Any:
        with self.lock:
            if len(self) >= self.limit:
                self.clear()
            self[key] = value
        return value


class Connections:
    """Autocommit connections to the index database, one per thread, shared by every version
    read from it (questions in flight on a version replaced keep theirs)."""

    def __init__(self, url: str, setting: str = "INDEX_DATABASE_URL") -> None:
        self.url = url
        self.setting = setting
        self._local = threading.local()
        self._all: list[psycopg.Connection] = []
        self._lock = threading.Lock()

    def get(self) -> psycopg.Connection:
        conn: psycopg.Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            conn = self._local.conn = connect(self.url, setting=self.setting)
            self._local.ef_search = None
            with self._lock:
                self._all = [c for c in self._all if not c.closed] + [conn]
        return conn

    def query(self, sql: str, params: Any = None, ef_search: int | None = None) -> list[tuple]:
        """The rows of one statement; IndexDatabaseError when the database fails. A connection
        the server dropped (a restart, a failover) is replaced once, so the first question
        after an outage is answered."""
        conn = self.get()
        try:
            return self._run(conn, sql, params, ef_search)
        except psycopg.OperationalError as err:
            if not conn.broken:
                raise self._failed(err) from err
        try:
            return self._run(self.get(), sql, params, ef_search)
        except psycopg.OperationalError as err:
            raise self._failed(err) from err

    def _run(self, conn: psycopg.Connection, sql: str, params: Any,
             ef_search: int | None) -> list[tuple]:
        # hnsw.ef_search is a session setting: set it only when this thread's connection
        # has another value, which saves a round trip on most questions.
        if ef_search is not None and self._local.ef_search != ef_search:
            conn.execute("SELECT set_config('hnsw.ef_search', %s, false)", (str(ef_search),))
            self._local.ef_search = ef_search
        return conn.execute(sql, params).fetchall()

    def _failed(self, err: psycopg.Error) -> IndexDatabaseError:
        return IndexDatabaseError(
            f"The index database {where(self.url)} ({self.setting}) failed "
            f"({short(err)}); the bot retries.")

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all = []


class PgSource:
    """The PostgreSQL index of one database: its newest version, and readers of it. `url`
    may be a read replica (`setting` INDEX_DATABASE_READ_URL): a replica that lags behind
    the primary serves the newest version it has (each build is one transaction, so a
    replica sees a version row with all its rows or not at all)."""

    def __init__(self, url: str, ef_search: int = 128,
                 setting: str = "INDEX_DATABASE_URL") -> None:
        self.url = url
        self.ef_search = ef_search
        self.setting = setting
        self.connections = Connections(url, setting)

    @property
    def location(self) -> str:
        return f"PostgreSQL {where(self.url)} ({self.setting})"

    def newest(self) -> tuple[int, str]:
        """(id, name) of the newest published version; IndexUnavailableError when there is
        none or the database cannot be reached."""
        conn = self.connections.get()
        try:
            found = has_tables(conn) and conn.execute(
                f"SELECT id, name FROM {S}.versions ORDER BY id DESC LIMIT 1").fetchone()
        except psycopg.Error as err:
            raise IndexDatabaseError(
                f"The index database {where(self.url)} ({self.setting}) cannot be read "
                f"({short(err)}): build the index with `{REBUILD}` "
                "(INDEX_BACKEND=postgresql).") from err
        if not found:
            raise IndexUnavailableError(
                f"No index in {self.location}: build it with `{REBUILD}` "
                "(INDEX_BACKEND=postgresql).")
        return int(found[0]), str(found[1])

    def load(self, model_name: str, version: int | None = None) -> PgIndex:
        """A reader of `version` (default: the newest), checked against the model."""
        version = self.newest()[0] if version is None else version
        loaded = PgIndex(self, version)
        if loaded.manifest.model != model_name:
            raise IndexUnavailableError(
                f"The index in {self.location} was built with {loaded.manifest.model!r} but "
                f"EMBEDDING_MODEL is {model_name!r}: rebuild it with `{REBUILD} --full`.")
        return loaded

    def close(self) -> None:
        self.connections.close()


class PgIndex:
    """One published version of the PostgreSQL index (index.view.IndexView)."""

    def __init__(self, source: PgSource, version: int) -> None:
        self.source = source
        self.db = source.connections
        rows = self.db.query(f"SELECT name, manifest, probe, article_order, passages, "
                             f"sentences, total_length FROM {S}.versions WHERE id = %s",
                             (version,))
        if not rows or rows[0][3] is None:
            raise IndexUnavailableError(
                f"Index version {version} is no longer kept in {source.location}: "
                f"load the newest, or rebuild with `{REBUILD}`.")
        name, manifest, probe, order, passages, sentences, total_length = rows[0]
        self.id = version
        self.manifest = Manifest.from_dict(manifest)
        self.version: str = str(name)
        self.probe = load_array(probe)
        self.passage_count, self.sentence_count = int(passages), int(sentences)
        self.total_length = int(total_length)
        self.memo: dict[object, object] = {}
        # The articles removed by this version, read once: every query's live condition then
        # needs only the row's own columns (`added_in`, `article`), no join with articles.
        gone = [int(r[0]) for r in self.db.query(
            f"SELECT id FROM {S}.articles WHERE removed_in <= %s", (version,))]
        self.params: dict[str, Any] = {"v": version, "gone": gone}
        self.live = "x.added_in <= %(v)s" + (" AND x.article <> ALL(%(gone)s)" if gone else "")
        self.articles = PgArticles(self, np.frombuffer(bytes(order), "<i8").astype(np.int64))
        self.by_article_id = PgArticlesById(self)
        self.vocabulary = Vocabulary(self)
        self.lexical = PgBm25(self)
        self._texts, self._passages = Cache(256), Cache(100_000)
        self._sentences, self._vectors, self._like = Cache(2048), Cache(4096), Cache(4096)

    @property
    def location(self) -> str:
        return self.source.location

    def terms_like(self, first: str, length: int) -> list[str]:
        found = self._like.get((first, length))
        if found is None:
            found = self._like.put((first, length), [t for (t,) in self.db.query(
                f"SELECT term FROM {S}.terms WHERE left(term, 1) = %s AND "
                "char_length(term) = %s AND documents > 0 ORDER BY term",
                (first, length)) if t.isalpha()])
        return list(found)

    # -- rows

    def article_text(self, article_row: int) -> str:
        text = self._texts.get(article_row)
        if text is None:
            rows = self.db.query(f"SELECT text FROM {S}.articles WHERE id = %s", (article_row,))
            if not rows:
                raise KeyError(article_row)
            text = self._texts.put(article_row, rows[0][0])
        return str(text)

    def passage(self, passage_id: int) -> tuple[int, int, int, int]:
        found = self._passages.get(passage_id)
        if found is None:
            rows = self.db.query(f'SELECT article, paragraph, start, "end" FROM {S}.passages '
                                 "WHERE id = %s", (passage_id,))
            if not rows:
                raise KeyError(passage_id)
            found = self._passages.put(passage_id, tuple(int(v) for v in rows[0]))
        return found

    def passage_vector(self, passage_id: int) -> np.ndarray:
        found = self._vectors.get(passage_id)
        if found is None:
            rows = self.db.query(f"SELECT vector_send(embedding) FROM {S}.passages "
                                 "WHERE id = %s", (passage_id,))
            if not rows:
                raise KeyError(passage_id)
            found = self._vectors.put(passage_id, vectors_of([rows[0][0]])[0])
        return found

    def _sentences_of(self, passage_id: int) -> tuple[np.ndarray, np.ndarray]:
        found = self._sentences.get(passage_id)
        if found is None:
            rows = self.db.query(f'SELECT start, "end", vector_send(embedding) '
                                 f"FROM {S}.sentences WHERE passage = %s ORDER BY id",
                                 (passage_id,))
            spans = np.array([(r[0], r[1]) for r in rows], np.int64).reshape(-1, 2)
            found = self._sentences.put(passage_id, (spans, vectors_of(
                [r[2] for r in rows], self.manifest.dimension)))
        return found

    def sentence_spans(self, passage_id: int) -> np.ndarray:
        return self._sentences_of(passage_id)[0]

    def sentence_vectors(self, passage_id: int) -> np.ndarray:
        return self._sentences_of(passage_id)[1]

    def article_passages(self, article_row: int) -> list[int]:
        return [int(r[0]) for r in self.db.query(
            f"SELECT id FROM {S}.passages WHERE article = %s ORDER BY id", (article_row,))]

    def remember(self, rows: list[tuple]) -> None:
        """Passage rows (id, article, paragraph, start, end) a query brought along."""
        for pid, *rest in rows:
            if pid not in self._passages:
                self._passages.put(int(pid), tuple(int(v) for v in rest))

    # -- searches

    def search_passages(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._search(vector, k, passages=True)

    def search_sentences(self, vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._search(vector, k, passages=False)

    def _search(self, vector: np.ndarray, k: int, passages: bool, among: list[int] | None = None,
                exact: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest live rows (among some articles), ranked by their exact vectors."""
        vector = np.asarray(vector, np.float32).reshape(-1)
        # pgvector's HNSW returns approximate neighbours; twice k of them, re-ranked by the
        # exact vectors, give what the FAISS backend gives.
        wanted = k * RERANK
        owner = "x.id" if passages else "x.passage"
        within = " AND x.article = ANY(%(among)s)" if among is not None else ""
        # "+ 0" makes the ORDER BY an expression the HNSW index cannot serve, so the
        # planner scans the chosen rows exactly (it would otherwise take the index and miss
        # rows the filter keeps).
        distance = "(x.embedding <=> %(q)s::vector)" + (" + 0" if exact else "")  # + 0: no HNSW
        # An HNSW scan returns at most ef_search rows, and rows of removed articles are
        # filtered after it, taking places in the list: at least `wanted`, twice that when
        # articles were removed, up to pgvector's limit.
        ef = min(MAX_EF_SEARCH, max(self.source.ef_search,
                                    wanted * (2 if self.params["gone"] else 1)))
        rows = self.db.query(
            f"SELECT x.id, {owner}, vector_send(x.embedding) FROM {S}."
            f"{'passages' if passages else 'sentences'} x WHERE {self.live}{within} "
            f"ORDER BY {distance} LIMIT %(n)s",
            {**self.params, "q": vector_text(vector), "n": wanted, "among": among or []},
            ef_search=None if exact else ef)
        if not rows:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        rows.sort(key=lambda r: r[0])  # id order, as a segment's rows: the same products
        scores = vectors_of([r[2] for r in rows], self.manifest.dimension) @ vector
        ids = np.array([r[1] for r in rows], np.int64)
        best = np.lexsort((ids, -scores))[:k]
        return scores[best], ids[best]

    def search_within(self, vector: np.ndarray, article_rows: np.ndarray, k: int,
                      passages: bool = True) -> tuple[np.ndarray, np.ndarray]:
        rows = [int(r) for r in np.unique(np.asarray(article_rows, np.int64))]
        count = int(self.db.query(f"SELECT count(*) FROM {S}.passages x WHERE {self.live} "
                                  "AND x.article = ANY(%(among)s)",
                                  {**self.params, "among": rows})[0][0]) if rows else 0
        if count == 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        if count <= EXACT_WITHIN:
            return self._search(vector, k, passages, among=rows, exact=True)
        # Expected to find 2k of the chosen articles' passages (count/total of all), as
        # index.reader does; divided by RERANK because `_search` asks for RERANK times k.
        total = max(self.passage_count, 1)
        wide = min(total if passages else self.sentence_count, k * 2 * -(-total // count))
        scores, ids = self._search(vector, max(1, wide // RERANK), passages)
        allowed = set(rows)
        keep = np.array([self.passage(int(i))[0] in allowed for i in ids], bool)
        return scores[keep][:k], ids[keep][:k]

    def disk_bytes(self) -> int:
        return int(self.db.query(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s "
            "AND c.relkind = 'r'", (SCHEMA,))[0][0])

    def close(self) -> None:
        """Nothing to release: the connections are the source's (questions in flight on this
        version finish on them)."""


class PgBm25:
    """index.lexical.Bm25's ranking, computed in SQL from the postings: the same idf, k1, b
    and passage lengths, in the same float widths (lengths and norms in float4, as numpy's
    float32 arrays; scores summed in float8 in the order of the phrases)."""

    def __init__(self, index: PgIndex) -> None:
        self.index = index
        self.count = max(index.passage_count, 1)
        self.mean_length = max(index.total_length / self.count, 1e-9)

    def idf(self, term: str) -> float:
        hits = self.index.vocabulary.get(term, 0)
        return max(float(np.log((self.count - hits + 0.5) / (hits + 0.5))), MIN_IDF)

    def search(self, phrases: list[str], k: int) -> list[int]:
        return [int(p) for p in self.ranked(phrases, k)[0]]

    def ranked(self, phrases: list[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        found = [p for p in phrases if p in self.index.vocabulary]
        if not found or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0)
        index = self.index
        # The idf are computed here (as Bm25.idf does) and sent with the terms, their order
        # kept (WITH ORDINALITY) so the float8 sum adds them as numpy does. The casts to
        # float4 repeat numpy's float32 lengths and norm, so scores match bit for bit.
        # Passage offsets come along and are remembered: the passages found need no query
        # of their own when the engine reads them.
        rows = index.db.query(f"""
            SELECT po.passage, x.article, x.paragraph, x.start, x."end",
                   sum(q.idf * po.frequency::float8 * %(k1p1)s::float8
                       / (po.frequency::float8 + (%(k1)s::float4 * (%(omb)s::float4
                          + %(b)s::float4 * x.length::float4 / %(mean)s::float4))::float8)
                       ORDER BY q.ord) AS score
            FROM unnest(%(terms)s::text[], %(idf)s::float8[]) WITH ORDINALITY
                 AS q(term, idf, ord)
            JOIN {S}.postings po ON po.term = q.term
            JOIN {S}.passages x ON x.id = po.passage
            WHERE {index.live}
            GROUP BY po.passage, x.article, x.paragraph, x.start, x."end"
            ORDER BY score DESC, po.passage LIMIT %(k)s""",
            {**index.params, "terms": found, "idf": [self.idf(p) for p in found],
             "k1p1": K1 + 1, "k1": K1, "omb": 1 - B, "b": B, "mean": self.mean_length,
             "k": k})
        index.remember([r[:5] for r in rows])
        return (np.array([r[0] for r in rows], np.int64),
                np.array([r[5] for r in rows], np.float64))


class Vocabulary(Mapping[str, int]):
    """Terms and how many live passages hold each (the newest version's statistics)."""

    def __init__(self, index: PgIndex) -> None:
        self.index = index
        self._known = Cache(100_000)

    def __getitem__(self, term: str) -> int:
        found = self._known.get(term)
        if found is None:
            rows = self.index.db.query(f"SELECT documents FROM {S}.terms WHERE term = %s",
                                       (term,))
            found = self._known.put(term, int(rows[0][0]) if rows else 0)
        if not found:
            raise KeyError(term)
        return int(found)

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and bool(self.get(term))

    def __iter__(self) -> Iterator[str]:
        return (str(r[0]) for r in self.index.db.query(
            f"SELECT term FROM {S}.terms WHERE documents > 0 ORDER BY term"))

    def __len__(self) -> int:
        return int(self.index.db.query(
            f"SELECT count(*) FROM {S}.terms WHERE documents > 0")[0][0])


class PgArticles(ArticlesInOrder):
    """A version's live articles by row, in corpus order; fetched when asked for (a batch at
    a time when all are walked), a few thousand kept."""

    BATCH = 1000

    def __init__(self, index: PgIndex, order: np.ndarray) -> None:
        super().__init__(order)
        self.index = index
        self._made = Cache(10_000)

    def _fetch(self, rows: list[int]) -> dict[int, ArticleInfo]:
        found = {}
        for r in self.index.db.query(f"SELECT {ARTICLE_COLUMNS} FROM {S}.articles "
                                     "WHERE id = ANY(%s)", (rows,)):
            position = self.position(int(r[0]))
            if position is not None:
                found[int(r[0])] = ArticleInfo(int(r[0]), r[1], r[2], r[3], r[4], r[5],
                                               position, r[6], r[7] or {}, r[8])
        return found

    def _read(self, row: int, position: int) -> ArticleInfo | None:
        found = self._made.get(row)
        if found is None:
            info = self._fetch([row]).get(row)
            found = None if info is None else self._made.put(row, info)
        return found

    def values(self) -> ValuesView[ArticleInfo]:
        return _Values(self)

    def facets(self) -> Facets:
        """One query for every live article's date, publisher and language."""
        found = self.index.db.query(
            f"SELECT id, published, source, language FROM {S}.articles x "
            "WHERE added_in <= %(v)s AND (removed_in IS NULL OR removed_in > %(v)s)",
            self.index.params)
        # The version's order file says which rows are live and where they stand; a row
        # not in it (-1) is left out, the rest are sorted into corpus order.
        rows = np.array([r[0] for r in found], np.int64)
        at = np.minimum(np.searchsorted(self._sorted, rows), max(len(self._sorted) - 1, 0))
        held = (self._sorted[at] == rows) if len(self._sorted) else np.zeros(0, bool)
        positions = np.where(held, self._positions[at] if len(self._sorted) else 0, -1)
        pick = [int(i) for i in np.argsort(positions, kind="stable") if held[i]]
        return Facets(rows[pick], positions[pick], [found[i][1] for i in pick],
                      [found[i][2] for i in pick], [found[i][3] for i in pick])

    def walk(self) -> Iterator[ArticleInfo]:
        """Every live article in corpus order, a batch per query."""
        for at in range(0, len(self.order), self.BATCH):
            rows = [int(r) for r in self.order[at:at + self.BATCH]]
            batch = self._fetch(rows)
            yield from (batch[r] for r in rows if r in batch)


class _Values(ValuesView[ArticleInfo]):
    _mapping: PgArticles

    def __iter__(self) -> Iterator[ArticleInfo]:
        return self._mapping.walk()


def _storable(text: str) -> bool:
    """Whether PostgreSQL takes `text` as a text parameter: no NUL, no lone surrogate."""
    if "\x00" in text:
        return False
    return text.isascii() or not any(0xD800 <= ord(c) <= 0xDFFF for c in text)


class PgArticlesById(Mapping[str, ArticleInfo]):
    """A version's live articles by article id."""

    def __init__(self, index: PgIndex) -> None:
        self.index = index
        self._rows = Cache(10_000)

    def __getitem__(self, article_id: str) -> ArticleInfo:
        if not _storable(article_id):  # PostgreSQL would refuse it: no article has such an id
            raise KeyError(article_id)
        row = self._rows.get(article_id)
        if row is None:
            found = self.index.db.query(
                f"SELECT id FROM {S}.articles x WHERE article_id = %(id)s AND added_in <= %(v)s "
                "AND (removed_in IS NULL OR removed_in > %(v)s) ORDER BY id DESC LIMIT 1",
                {**self.index.params, "id": article_id})
            row = self._rows.put(article_id, int(found[0][0]) if found else -1)
        if row < 0 or row not in self.index.articles:
            raise KeyError(article_id)
        return self.index.articles[row]

    def __iter__(self) -> Iterator[str]:
        return (info.article_id for info in self.index.articles.values())

    def __len__(self) -> int:
        return len(self.index.articles)
