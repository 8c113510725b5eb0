"""Lookups in the articles by id and offsets: paragraphs, leads, examples, newest articles.

Internal to the engine (front ends call the Engine's methods of the same names); every text
returned is a slice of an article as stored.
"""

from __future__ import annotations

import re

import numpy as np

from bot.engine.memo import once_per_version
from bot.engine.quote import MIN_STANDALONE_WORDS, Quote
from bot.engine.records import ArticleRef
from index import ArticleInfo, IndexView, is_fragment, paragraphs, sentences, word_count


def paragraph(index: IndexView | None, quote: Quote) -> Quote | None:
    """The whole paragraph around a quote given earlier, if its article is still indexed."""
    found = locate(index, quote) if index else None
    if found is None:
        return None
    info, text, start = found
    for number, span in enumerate(paragraphs(text), start=1):
        if span.start <= start < span.end:
            return quote_at(info, text, span.start, span.end, number, score=1.0)
    return None


def lead(index: IndexView | None, article_id: str) -> Quote | None:
    """An article's first paragraph that is not a fragment (a heading, a dateline), verbatim:
    the lead that pushes, "This may be related:" and follows read."""
    info = index.by_article_id.get(article_id) if index else None
    if index is None or info is None:
        return None
    text = index.article_text(info.row)
    spans = paragraphs(text)
    lead = next((s for s in spans if not is_fragment(text, s)), spans[0])  # not a heading
    return quote_at(info, text, lead.start, lead.end, spans.index(lead) + 1, score=1.0)


def still_there(index: IndexView | None, quote: Quote) -> Quote | None:
    """A quote given earlier, re-checked against the live index (it may have changed)."""
    found = locate(index, quote) if index else None
    if found is None:
        return None
    info, text, start = found
    return quote_at(info, text, start, start + len(quote.text), quote.paragraph, score=quote.score)


def examples(index: IndexView | None, count: int = 3) -> list[str]:
    """Example questions made from names that recur in the newest articles."""
    if index is None:
        return []
    # The newest articles are found once per version; their names are counted on each call.
    newest = once_per_version(index, "examples", _newest_added)
    counts: dict[str, int] = {}
    for info in newest:
        for match in _NAME.finditer(index.article_text(info.row)):
            counts[match.group()] = counts.get(match.group(), 0) + 1
    # A name said once may be anyone; sorted by count, ties in the order first seen.
    names = [n for n, c in sorted(counts.items(), key=lambda kv: -kv[1]) if c >= 2]
    chosen: list[str] = []
    for name in names:
        # "Barack Obama" and "President Barack Obama" would ask the same question twice.
        if not any(name in other or other in name for other in chosen):
            chosen.append(name)
        if len(chosen) == count:
            break
    return [f"What do the articles say about {name}?" for name in chosen]


def _newest_added(index: IndexView) -> list[ArticleInfo]:
    """The 50 newest articles, dated or not (the undated ones last added first)."""
    facets = index.articles.facets()
    keyed = sorted(zip([p or "" for p in facets.published], facets.positions.tolist(),
                       facets.rows.tolist(), strict=True), reverse=True)[:50]
    return [index.articles[row] for _, _, row in keyed]


_NAME = re.compile(r"(?<![.!?]\s)\b[A-Z][a-z]+(?:[ -](?:bin|al|de|of|the|[A-Z][a-z]+))*"
                   r"[ -][A-Z][a-z]+\b")


def locate(index: IndexView, quote: Quote) -> tuple[ArticleInfo, str, int] | None:
    """Where a quoted text stands now: same offsets, else found again in the same article."""
    info = index.by_article_id.get(quote.article_id)
    if info is None:
        return None
    text = index.article_text(info.row)
    start = quote.start
    # Offsets go stale when an article is re-indexed with an edit before the quote; its text,
    # if still there, is found again (the first occurrence).
    if text[start:quote.end] != quote.text:
        start = text.find(quote.text)
        if start < 0:
            return None
    return info, text, start


def quote_at(info: ArticleInfo, text: str, start: int, end: int, paragraph: int,
             score: float) -> Quote:
    """The quote `text[start:end]` of an article, with its source and paragraph."""
    return Quote(text=text[start:end], article_id=info.article_id, title=info.title,
                 source=info.source, url=info.url, published=info.published,
                 paragraph=paragraph, start=start, end=end, score=score)


def article_ref(info: ArticleInfo) -> ArticleRef:
    """The reference people see of an indexed article."""
    return ArticleRef(article_id=info.article_id, title=info.title, source=info.source,
                      url=info.url, published=info.published)


def first_sentence(index: IndexView, info: ArticleInfo) -> Quote | None:
    """The first sentence of an article's lead paragraph (a heading or fragment is skipped)."""
    quote = lead(index, info.article_id)
    if quote is None:
        return None
    text = index.article_text(info.row)
    spans = sentences(text, quote.start, quote.end)
    first = next((s for s in spans if word_count(text[s.start:s.end]) >= MIN_STANDALONE_WORDS),
                 spans[0] if spans else None)
    if first is None:
        return quote
    return quote_at(info, text, first.start, first.end, quote.paragraph, score=1.0)


def newest(index: IndexView, count: int | None = None,
           among: np.ndarray | None = None) -> list[ArticleInfo]:
    """Newest first by published date; undated articles after the dated, in corpus order;
    the first `count` (or all) of those whose rows are `among` (or of all). The order is
    kept once per index version as rows (8 bytes an article); only the articles returned
    are read (with the PostgreSQL index, a query for those)."""
    order: np.ndarray = once_per_version(index, "newest", _newest_rows)
    if among is not None:
        order = order[np.isin(order, np.asarray(among, np.int64))]
    return [index.articles[int(row)] for row in order[:count]]


def _newest_rows(index: IndexView) -> np.ndarray:
    """Article rows newest first: the dated by published date (one date's in corpus order),
    then the undated in corpus order."""
    facets = index.articles.facets()
    dated: list[tuple[str, int, int]] = []
    undated: list[tuple[int, int]] = []
    for row, position, published in zip(facets.rows.tolist(), facets.positions.tolist(),
                                        facets.published, strict=True):
        if published:
            # Negated, so that sorting newest first keeps one date's articles in corpus order.
            dated.append((published, -position, row))
        else:
            undated.append((position, row))
    dated.sort(reverse=True)
    undated.sort(key=lambda k: k[0])
    return np.array([row for *_, row in dated] + [row for _, row in undated], np.int64)


def in_order(index: IndexView) -> list[ArticleInfo]:
    """All articles in corpus order."""
    return sorted(index.articles.values(), key=lambda a: a.position)
