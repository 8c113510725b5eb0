"""The segments of the version a build writes: the live version's segments linked (or a
legacy version converted), the rows of changed and removed articles marked deleted in them,
and the new and changed articles chunked, embedded and written into one new segment."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import index.catalog as catalog
import index.publish as publish
import index.segment as segment
from index.build.legacy import convert_legacy
from index.build.plan import Live, Plan
from index.build.summary import BuildSummary
from index.catalog import RowIds
from index.chunk import Passage, passages
from index.encoders import Encoder, passage_encoder
from index.settings import IndexSettings
from index.sources import Article


@dataclass
class Kept:
    """What the new version starts from: the manifest entries of its segments, the row of
    each live article by id, the next free row ids (never one handed out before, so a row
    id names one article in every version) and the live passage and sentence counts."""

    entries: list[dict[str, Any]]
    rows: dict[str, int]
    ids: RowIds
    passages: int
    sentences: int

    def add(self, info: segment.SegmentInfo) -> None:
        """Count a segment written for this version in."""
        self.entries.append(info.to_dict())
        self.passages += info.passages
        self.sentences += info.sentences


def kept_segments(plan: Plan, root: Path, settings: IndexSettings,
                  summary: BuildSummary) -> Kept:
    """Link (or, from a legacy version, convert) the live version's segments into `root`."""
    live = plan.live
    if live is None:
        return Kept([], {}, RowIds(), 0, 0)
    rows = {aid: row for aid, (row, _, _) in live.rows.items()}
    if live.legacy:
        info, ids = convert_legacy(live.folder, root / segment.new_name(), settings)
        summary.converted = True
        # The live articles now live in the converted segment: deletions go there.
        converted = root / info.name
        live.rows = {aid: (row, fp, converted) for aid, (row, fp, _) in live.rows.items()}
        return Kept([info.to_dict()], rows, ids, info.passages, info.sentences)
    entries = []
    for entry in live.manifest.segments:
        publish.share(live.folder / publish.SEGMENTS / entry["name"], root / entry["name"])
        entries.append(dict(entry))
    return Kept(entries, rows, RowIds.from_dict(live.manifest.next_ids),
                live.manifest.passages or 0, live.manifest.sentences)


def retire(plan: Plan, kept: Kept) -> dict[Path, list[int]]:
    """Take the changed and removed articles out of the new version: their rows by the
    segment folder that holds them. Segments are immutable, so their rows stay in the
    files; the version lists them as deleted (deleted.npy) and each segment's entry counts
    its deleted passages, which is what the merge policy reads."""
    deleted: defaultdict[Path, list[int]] = defaultdict(list)
    for article_id in plan.changes.retired:
        assert plan.live is not None  # only a build that updates a version retires
        row, _, where = plan.live.rows[article_id]
        kept.rows.pop(article_id, None)
        deleted[where].append(row)
    by_name = {entry["name"]: entry for entry in kept.entries}
    for where, gone in deleted.items():
        passages_gone, sentences_gone = _rows_of(where, gone)
        kept.passages -= passages_gone
        kept.sentences -= sentences_gone
        entry = by_name[where.name]
        entry["deleted_passages"] = int(entry.get("deleted_passages", 0)) + passages_gone
    return deleted


def all_deleted(live: Live | None, deleted: dict[Path, list[int]]) -> np.ndarray:
    """The article rows the new version leaves out: those the live version left out, and
    those this build retired."""
    before = live.deleted if live is not None else np.zeros(0, np.int64)
    now = [np.asarray(rows, np.int64) for rows in deleted.values()]
    return np.unique(np.concatenate([before, *now])).astype(np.int64)


def _rows_of(folder: Path, articles: list[int]) -> tuple[int, int]:
    """How many passages and sentences these articles of a segment have."""
    with np.load(folder / segment.TABLES) as tables:
        passages, sentences = tables["passages"], tables["sentences"]
    gone = passages[np.isin(passages[:, 1], articles), 0]
    return len(gone), int(np.isin(sentences[:, 1], gone).sum())


def new_segment(root: Path, articles: list[Article], encoder: Encoder, settings: IndexSettings,
                summary: BuildSummary, progress: bool, kept: Kept) -> segment.SegmentInfo:
    """Embed `articles` into a new segment under `root` (taking ids from `kept.ids` and
    recording each article's row in `kept.rows`); its manifest entry."""
    folder = root / segment.new_name()
    folder.mkdir()
    with closing(catalog.connect(folder / segment.CATALOG)) as conn:
        catalog.create(conn)
        passage_vectors, sentence_vectors = embed_articles(
            conn, articles, encoder, settings, summary, progress, kept.ids, kept.rows)
        return segment.finish(folder, conn, passage_vectors, sentence_vectors, settings)


def build_encoder(settings: IndexSettings, index_dir: Path, to_embed: list[Article],
                  recorded: str | None) -> Encoder:
    """The passage encoder of a build (either backend): with ENCODER_BACKEND=auto, the
    backend the index recorded (`recorded`), so that its vectors keep agreeing; else the
    one the factory chooses, timed on a sample of the texts to embed."""
    sample = [a.text[:1500] for a in to_embed[:48]]
    backend = recorded if settings.encoder_backend == "auto" else None
    return passage_encoder(settings, index_dir, sample, backend=backend)


def embed_articles(conn: sqlite3.Connection, articles: list[Article], encoder: Encoder,
                   settings: IndexSettings, summary: BuildSummary, progress: bool, ids: RowIds,
                   rows: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Insert `articles` into the (created) catalog of `conn`, committed, with ids from `ids`
    (each article's row recorded in `rows`), and embed them: the passage and the sentence
    vectors in id order (a passage of one sentence lends it its vector). Both backends build
    through this, so their passages, sentences and vectors are the same."""
    chunks, texts = encoded_texts(articles, settings.max_passage_words)
    vectors = _encode_once(encoder, texts, progress, summary)
    added_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    passage_vectors: list[np.ndarray] = []
    sentence_vectors: list[np.ndarray] = []
    at = 0  # the next vector, in the order of `texts`
    for article, article_passages in zip(articles, chunks, strict=True):
        rows[article.article_id] = ids.article
        for p in article_passages:
            passage_vectors.append(vectors[at])
            at += 1
            if len(p.sentences) > 1:
                sentence_vectors.extend(vectors[at:at + len(p.sentences)])
                at += len(p.sentences)
            else:
                sentence_vectors.extend([vectors[at - 1]] * len(p.sentences))
        summary.embedded_passages += len(article_passages)
        catalog.insert_article(conn, article, article_passages, added_at, ids)
    conn.commit()
    dimension = encoder.dimension
    return (np.asarray(passage_vectors, np.float32).reshape(-1, dimension),
            np.asarray(sentence_vectors, np.float32).reshape(-1, dimension))


def encoded_texts(articles: list[Article], max_words: int) -> tuple[list[list[Passage]], list[str]]:
    """Each article's passages, and the texts a build encodes for them, in order: each
    passage, followed by its sentences when it has more than one."""
    chunks = [passages(a.text, max_words) for a in articles]
    texts: list[str] = []
    for article, article_passages in zip(articles, chunks, strict=True):
        for p in article_passages:
            texts.append(article.text[p.start:p.end])
            if len(p.sentences) > 1:
                texts.extend(article.text[s.start:s.end] for s in p.sentences)
    return chunks, texts


def _encode_once(encoder: Encoder, texts: list[str], progress: bool,
                 summary: BuildSummary) -> np.ndarray:
    """The vectors of `texts`; a text that stands more than once (a repeated line, an article
    filed twice: 8 % of the BBC pipeline's texts) is encoded once."""
    embed_start = time.perf_counter()
    unique = list(dict.fromkeys(texts))
    vectors = encoder.encode(unique, progress=progress)
    if len(unique) < len(texts):
        position = {text: i for i, text in enumerate(unique)}
        vectors = vectors[[position[text] for text in texts]]
    summary.embed_seconds = time.perf_counter() - embed_start
    summary.embedded_texts = len(unique)
    return vectors
