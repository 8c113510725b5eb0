"""A growing index: new articles as small segments sharing the old files, deletions, corpus-wide
BM25, merges, hot reload of new segments only, and the upgrade from the one-catalog format."""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from bot.engine.answer import Engine
from bot.engine.search import Retriever
from bot.engine.text import stems
from index import build_index, merge_index, publish
from index.reader import IndexUnavailableError, load_index
from index.segment import CATALOG, PASSAGE_VECTORS, SENTENCE_VECTORS
from index.sources import read_corpus
from tests.support.workspace import ROOT, SEED, build, make_settings

WORDS = ("harbour", "wheat", "election", "railway", "drought", "minister", "factory", "river",
         "festival", "vaccine", "tariff", "bridge", "strike", "orchestra", "satellite")


def article(rng: random.Random, topic: str, paragraphs: int = 3) -> str:
    """A made-up article about `topic`, a few sentences per paragraph."""
    out = []
    for p in range(paragraphs):
        words = rng.sample(WORDS, 4)
        out.append(f"The {topic} report number {p} mentions the {words[0]} and the {words[1]}. "
                   f"Officials said the {words[2]} would reopen near the {words[3]}.")
    return "\n\n".join(out)


def write(settings, name: str, text: str) -> None:
    (settings.corpus_dir / name).write_text(text, encoding="utf-8")


def segment_folders(settings) -> list:
    folder = publish.current_version(settings.resolved_index_dir)
    manifest = publish.read_manifest(folder)
    return [folder / publish.SEGMENTS / e["name"] for e in manifest.segments]


def keyed(index, passage_ids):
    """Passages by (article id, start), which do not depend on row ids."""
    out = []
    for pid in passage_ids:
        row, _, start, _ = index.passage(pid)
        out.append((index.articles[row].article_id, start))
    return out


def scored(index, passage_ids, scores):
    """(score, passage key) pairs, best first: rankings whose ties do not depend on ids."""
    return sorted(zip((round(float(s), 9) for s in scores), keyed(index, passage_ids),
                      strict=True), key=lambda pair: (-pair[0], pair[1]))


def no_merges(settings):
    return settings.model_copy(update={"merge_factor": 0})


def test_a_new_article_is_a_small_segment_and_the_old_files_are_shared(workspace, encoder):
    settings = no_merges(workspace)
    rng = random.Random(1)
    for i in range(4):
        write(settings, f"old{i}.txt", article(rng, f"old{i}"))
    build(settings, encoder)
    (old_segment,) = segment_folders(settings)
    old_version = publish.current_version(settings.resolved_index_dir)
    write(settings, "new.txt", article(rng, "new", 1))
    summary = build(settings, encoder)
    assert summary.new == ["new.txt"] and summary.embedded_passages == 1
    shared, fresh = segment_folders(settings)
    assert shared.name == old_segment.name
    for path in old_segment.iterdir():  # the same files, linked, not copied
        assert (shared / path.name).stat().st_ino == path.stat().st_ino
    with sqlite3.connect(fresh / CATALOG) as conn:
        assert [r[0] for r in conn.execute("SELECT article_id FROM articles")] == ["new.txt"]
    both = publish.disk_bytes(old_version, publish.current_version(settings.resolved_index_dir))
    one = publish.disk_bytes(publish.current_version(settings.resolved_index_dir))
    assert both <= 1.1 * one
    index = load_index(settings.resolved_index_dir, encoder.name)
    assert sorted(a.article_id for a in index.articles.values()) == [
        "new.txt", "old0.txt", "old1.txt", "old2.txt", "old3.txt"]
    assert index.passage_count == summary.passages == 13
    index.close()


def test_changed_and_removed_articles_are_gone_from_every_search(workspace, encoder):
    settings = no_merges(workspace)
    write(settings, "a.txt", "The zeppelin landed in the harbour at dawn.\n\nCrowds cheered.")
    write(settings, "b.txt", "The orchestra played in the cathedral on Sunday.")
    build(settings, encoder)
    before = load_index(settings.resolved_index_dir, encoder.name)
    zeppelin = before.article_passages(before.by_article_id["a.txt"].row)[0]
    zeppelin_vector = before.passage_vector(zeppelin)
    before.close()
    write(settings, "a.txt", "The airship landed in the harbour at dawn.\n\nCrowds cheered.")
    (settings.corpus_dir / "b.txt").unlink()
    summary = build(settings, encoder)
    assert summary.changed == ["a.txt"] and summary.removed == ["b.txt"]
    assert summary.deleted_articles == 2
    index = load_index(settings.resolved_index_dir, encoder.name)
    assert list(index.by_article_id) == ["a.txt"]
    assert index.lexical.search(["zeppelin"], 5) == []
    assert index.lexical.search(["orchestra"], 5) == []
    assert keyed(index, index.lexical.search(["airship"], 5)) == [("a.txt", 0)]
    _, dense = index.search_passages(zeppelin_vector, 10)
    _, by_sentence = index.search_sentences(zeppelin_vector, 10)
    assert zeppelin not in dense.tolist() and zeppelin not in by_sentence.tolist()
    assert {index.passage(int(p))[0] for p in dense} == {index.by_article_id["a.txt"].row}
    assert index.passage_count == summary.passages == len(dense)
    index.close()


def test_bm25_over_segments_equals_one_segment_build(tmp_path, encoder):
    rng = random.Random(5)
    texts = {f"n{i:02d}.txt": article(rng, f"topic{i % 3}", rng.randint(1, 4)) for i in range(12)}
    grown = no_merges(make_settings(tmp_path / "grown"))
    grown.corpus_dir.mkdir(parents=True)
    names = sorted(texts)
    for step in (names[:5], names[5:9], names[9:]):
        for name in step:
            write(grown, name, texts[name])
        build(grown, encoder)
    write(grown, names[0], article(rng, "rewritten", 2))  # a change: a deletion and an insert
    (grown.corpus_dir / names[1]).unlink()
    build(grown, encoder)
    assert len(segment_folders(grown)) == 4
    single = make_settings(tmp_path / "single")
    shutil.copytree(grown.corpus_dir, single.corpus_dir)
    build(single, encoder)
    assert len(segment_folders(single)) == 1
    a = load_index(grown.resolved_index_dir, encoder.name)
    b = load_index(single.resolved_index_dir, encoder.name)
    assert a.vocabulary == b.vocabulary
    assert (a.lexical.count, a.lexical.mean_length) == (b.lexical.count, b.lexical.mean_length)
    vocabulary = sorted(t for t in a.vocabulary if stems([t])[0] == t)
    compared = 0
    for size in (1, 2, 3, 5) * 6:
        phrases = rng.sample(vocabulary, size)
        found = scored(a, *a.lexical.ranked(phrases, 50))
        assert found == scored(b, *b.lexical.ranked(phrases, 50)), phrases
        compared += bool(found)
    assert compared >= 20
    question = "Which report said the harbour would reopen near the wheat drought?"
    vector = encoder.encode_query(question)
    retriever_a, retriever_b = Retriever(a), Retriever(b)
    hits_a = retriever_a.search(vector, retriever_a.query_terms(question), 5)
    hits_b = retriever_b.search(vector, retriever_b.query_terms(question), 5)
    assert scored(a, [h.passage_id for h in hits_a], [h.score for h in hits_a]) == \
        scored(b, [h.passage_id for h in hits_b], [h.score for h in hits_b])
    a.close()
    b.close()


QUESTIONS = ("How far is Qasr Bin Ghashir from Tripoli?", "Who controls the airport?",
             "What did the harbour report mention?", "When will the railway reopen?")


def answers(engine: Engine) -> list[tuple]:
    out = []
    for question in QUESTIONS:
        answer = engine.answer(question)
        out.append((answer.abstained, [(q.article_id, q.start, q.end, q.text)
                                       for q in answer.quotes]))
    return out


def test_a_merge_keeps_every_answer_and_drops_deleted_rows(workspace, encoder):
    settings = no_merges(workspace)
    shutil.copy(SEED, settings.corpus_dir / SEED.name)
    rng = random.Random(9)
    for step in range(3):
        for i in range(2):
            write(settings, f"s{step}-{i}.txt", article(rng, f"harbour{step}{i}"))
        build(settings, encoder)
    write(settings, "s0-0.txt", article(rng, "harbour changed"))
    (settings.corpus_dir / "s1-1.txt").unlink()
    build(settings, encoder)
    engine = Engine(settings, encoder=encoder)
    engine.load()
    before = answers(engine)
    old = engine.index
    assert old is not None and len(old.segments) == 4 and len(old.deleted_articles) == 2
    merges = merge_index(settings.resolved_index_dir, settings)
    assert len(merges) == 1 and merges[0].dropped_articles == 2
    assert engine.load()
    merged = engine.index
    assert merged is not None and len(merged.segments) == 1 and not len(merged.deleted_articles)
    assert answers(engine) == before
    with sqlite3.connect(segment_folders(settings)[0] / CATALOG) as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 6
    assert merge_index(settings.resolved_index_dir, settings) == []  # nothing left to merge


def test_the_tiered_policy_merges_small_segments_after_builds(workspace, encoder):
    settings = workspace.model_copy(update={"merge_factor": 3, "merge_floor_passages": 1000})
    rng = random.Random(3)
    counts = []
    for step in range(7):
        write(settings, f"t{step}.txt", article(rng, f"tier{step}", 2))
        summary = build(settings, encoder)
        counts.append(summary.segments)
        if summary.merges:
            assert "3 segments into seg-" in summary.merges[0]
    # Every third small segment triggers a merge of three (all below the floor: one tier).
    assert counts == [1, 2, 3, 2, 3, 2, 3]
    assert len(segment_folders(settings)) == 1
    index = load_index(settings.resolved_index_dir, encoder.name)
    assert len(index.articles) == 7 and index.passage_count == 14
    index.close()


def test_an_interrupted_merge_leaves_the_live_version(workspace, encoder, monkeypatch):
    import index.merge as merging

    settings = no_merges(workspace)
    for step in range(2):
        write(settings, f"m{step}.txt", f"The merge test article {step} has enough words.")
        build(settings, encoder)
    live = publish.current_version(settings.resolved_index_dir)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # a kill, as far as the files know

    monkeypatch.setattr(merging.segment, "finish", crash)
    with pytest.raises(KeyboardInterrupt):
        merge_index(settings.resolved_index_dir, settings)
    assert publish.current_version(settings.resolved_index_dir) == live
    assert not list((live.parent).glob(".tmp-*"))
    index = load_index(settings.resolved_index_dir, encoder.name)
    assert len(index.articles) == 2 and len(index.segments) == 2
    index.close()


def test_a_reader_keeps_its_version_while_a_merge_publishes(workspace, encoder):
    settings = no_merges(workspace)
    for step in range(3):
        write(settings, f"r{step}.txt", f"Reader test number {step}: the ferry sailed at noon.")
        build(settings, encoder)
    reader = load_index(settings.resolved_index_dir, encoder.name)
    vector = encoder.encode_query("When did the ferry sail?")
    expected = reader.search_passages(vector, 3)
    merge_index(settings.resolved_index_dir, settings)
    write(settings, "r9.txt", "Another ferry.")
    build(settings, encoder)  # cleanup runs: the reader's version must stay
    assert reader.folder.is_dir()
    _, ids = reader.search_passages(vector, 3)
    assert ids.tolist() == expected[1].tolist()
    assert "ferry sailed" in reader.article_text(reader.passage(int(ids[0]))[0])
    reader.close()
    write(settings, "r10.txt", "The last ferry.")
    build(settings.model_copy(update={"keep_index_versions": 1}), encoder)
    assert not reader.folder.exists()


def test_a_reload_opens_only_the_new_segment(workspace, encoder):
    settings = no_merges(workspace)
    write(settings, "a.txt", "The first article about the bridge has enough words.")
    build(settings, encoder)
    first = load_index(settings.resolved_index_dir, encoder.name)
    write(settings, "b.txt", "The second article about the tunnel has enough words.")
    build(settings, encoder)
    second = load_index(settings.resolved_index_dir, encoder.name, previous=first)
    assert second.reused == 1 and second.segments[0] is first.segments[0]
    first.close()
    assert sorted(second.by_article_id) == ["a.txt", "b.txt"]
    row = second.by_article_id["a.txt"].row
    assert "bridge" in second.article_text(row)  # read through the new version's links
    second.close()


def test_the_recorded_backend_is_reused_without_timing(workspace, encoder, monkeypatch):
    import index.encoders.factory as factory

    settings = workspace.model_copy(update={"encoder_backend": "torch-fp32"})
    write(settings, "a.txt", "An article with enough words in it.")
    build(settings, encoder)
    auto = workspace.model_copy(update={"encoder_backend": "auto"})

    def no_timing(*args, **kwargs):
        raise AssertionError("a build of an existing index timed the backends again")

    monkeypatch.setattr(factory, "faster", no_timing)
    monkeypatch.setattr(factory, "checked_export", no_timing)
    write(auto, "b.txt", "Another article with enough words in it.")
    summary = build_index(read_corpus([auto.corpus_dir]), auto.resolved_index_dir, auto)
    assert summary.backend == "torch-fp32" and summary.new == ["b.txt"]


def legacy_version(settings, encoder) -> None:
    """Rewrite the live index as format 1 made it: one catalog, with the vectors and corpus
    positions in its rows, and the FAISS stores beside it."""
    folder = publish.current_version(settings.resolved_index_dir)
    (segment,) = segment_folders(settings)
    legacy = folder.parent / "legacy"
    legacy.mkdir()
    vectors = {t: np.load(segment / f) for t, f in (("passages", PASSAGE_VECTORS),
                                                     ("sentences", SENTENCE_VECTORS))}
    conn = sqlite3.connect(legacy / CATALOG)
    conn.execute("ATTACH DATABASE ? AS src", (str(segment / CATALOG),))
    conn.executescript("""
        CREATE TABLE articles AS SELECT id, article_id, path, title, source, url, published,
            language, meta, text, fingerprint, id - 1 AS position, added_at FROM src.articles;
        CREATE TABLE passages AS SELECT *, NULL AS vector FROM src.passages;
        CREATE TABLE sentences AS SELECT *, NULL AS vector FROM src.sentences;
        CREATE VIRTUAL TABLE passages_fts USING fts5(
            text, tokenize = 'porter unicode61 remove_diacritics 2');
        INSERT INTO passages_fts (rowid, text) SELECT rowid, text FROM src.passages_fts;
    """)
    for table, matrix in vectors.items():
        ids = [r[0] for r in conn.execute(f"SELECT id FROM {table} ORDER BY id")]
        conn.executemany(f"UPDATE {table} SET vector = ? WHERE id = ?",
                         [(v.tobytes(), i) for v, i in zip(matrix, ids, strict=True)])
    conn.commit()
    conn.close()
    manifest = json.loads((folder / publish.MANIFEST).read_text())
    for key in ("segments", "deleted_articles", "next_ids", "merged"):
        manifest.pop(key)
    (legacy / publish.MANIFEST).write_text(json.dumps({**manifest, "format_version": 1}))
    shutil.copy(folder / publish.PROBE, legacy / publish.PROBE)
    (legacy / publish.READERS).touch()
    (settings.resolved_index_dir / "CURRENT").write_text("legacy\n")


def test_an_index_of_the_old_format_is_converted_without_embedding(workspace, encoder):
    shutil.copy(SEED, workspace.corpus_dir / SEED.name)
    build(workspace, encoder)
    engine = Engine(workspace, encoder=encoder)
    engine.load()
    before = answers(engine)
    legacy_version(workspace, encoder)
    with pytest.raises(IndexUnavailableError, match=r"format 1, .*`python build_index.py`"):
        load_index(workspace.resolved_index_dir, encoder.name)
    write(workspace, "b.txt", "The harbour report mentions the railway and the bridge.")
    summary = build(workspace, encoder)
    assert summary.converted and summary.new == ["b.txt"] and summary.embedded_passages == 1
    assert "Converted the index to segments" in summary.lines()[0]
    (workspace.corpus_dir / "b.txt").unlink()
    build(workspace, encoder)
    fresh = Engine(workspace, encoder=encoder)
    fresh.load()
    assert answers(fresh) == before


def run_cli(*args):
    return subprocess.run([sys.executable, str(ROOT / "build_index.py"), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_the_merge_command(workspace, encoder, tmp_path):
    settings = no_merges(workspace)
    for step in range(2):
        write(settings, f"c{step}.txt", f"Command test article {step} has enough words.")
        build(settings, encoder)
    index_dir = str(settings.resolved_index_dir)
    merged = run_cli("--merge", "--index-dir", index_dir)
    assert merged.returncode == 0, merged.stderr
    assert "Merged 2 segments into seg-" in merged.stdout
    assert len(segment_folders(settings)) == 1
    again = run_cli("--merge", "--index-dir", index_dir)
    assert again.returncode == 0 and "Nothing to merge" in again.stdout
    missing = run_cli("--merge", "--index-dir", str(tmp_path / "none"))
    assert missing.returncode == 2 and "no index" in missing.stderr
