"""build_index: a real model, real FAISS and SQLite files, incremental, atomic and checked."""

import json
import os
import subprocess
import sys

import pytest

from index import publish
from index.reader import IndexUnavailableError, load_index
from tests.support.workspace import ROOT, SEED, build


def add_article(settings, name, text):
    (settings.corpus_dir / name).write_text(text, encoding="utf-8")


def live_passages(settings, encoder):
    index = load_index(settings.resolved_index_dir, encoder.name)
    try:
        rows = index.connection().execute(
            "SELECT a.article_id, a.text, p.start, p.end, f.text FROM passages p "
            "JOIN articles a ON a.id = p.article JOIN passages_fts f ON f.rowid = p.id"
        ).fetchall()
        return index.manifest, rows
    finally:
        index.close()


def test_seed_index_passages_equal_article_slices(seed_settings, encoder):
    manifest, rows = live_passages(seed_settings, encoder)
    assert manifest["passages"] == 29 and manifest["articles"] == 1
    assert manifest["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert manifest["dimension"] == 384
    original = SEED.read_text(encoding="utf-8").strip()
    for article_id, text, start, end, fts_text in rows:
        assert article_id == "tripoli-airport.txt"
        assert text == original
        assert text[start:end] == fts_text


def test_incremental_add_change_remove(workspace, encoder):
    add_article(workspace, "a.txt", "Alpha one has enough words.\n\nAlpha two has enough words.")
    add_article(workspace, "b.txt", "Beta one has enough words.")
    first = build(workspace, encoder)
    assert first.written and sorted(first.new) == ["a.txt", "b.txt"]
    assert first.embedded_passages == 3

    again = build(workspace, encoder)
    assert not again.written and again.unchanged == 2 and again.embedded_passages == 0

    add_article(workspace, "c.txt", "Gamma one has enough words.\n\nGamma two has enough "
                                    "words.\n\nGamma three has enough words.")
    add_article(workspace, "a.txt", "Alpha one, changed has enough words.\n\nAlpha two has "
                                    "enough words.")
    (workspace.corpus_dir / "b.txt").unlink()
    third = build(workspace, encoder)
    assert third.new == ["c.txt"] and third.changed == ["a.txt"] and third.removed == ["b.txt"]
    assert third.embedded_passages == 5  # only the changed and new articles
    manifest, rows = live_passages(workspace, encoder)
    assert {r[0] for r in rows} == {"a.txt", "c.txt"}
    assert manifest["passages"] == 5
    assert "Alpha one, changed has enough words." in {r[4] for r in rows}


def test_a_text_that_stands_twice_is_encoded_once_and_found_in_both(workspace, encoder):
    from bot.engine.answer import Engine

    shared = "The council approved the new harbour wall after a vote on Tuesday evening."
    add_article(workspace, "a.txt", f"{shared}\n\nAlpha has enough words of its own here.")
    add_article(workspace, "b.txt", f"Beta has enough words of its own here.\n\n{shared}")
    summary = build(workspace, encoder)
    assert summary.embedded_passages == 4 and summary.embedded_texts == 3
    engine = Engine(workspace, encoder=encoder)
    engine.load()
    index, retriever = engine.index, engine.retriever
    question = "When did the council approve the harbour wall?"
    hits = retriever.search(encoder.encode_query(question), retriever.query_terms(question),
                            k=4, mode="dense")
    top = [index.articles[index.passage(h.passage_id)[0]].article_id for h in hits[:2]]
    assert sorted(top) == ["a.txt", "b.txt"]  # the shared paragraph, in both articles
    assert hits[0].dense == pytest.approx(hits[1].dense, abs=1e-6)  # the same vector


def test_full_rebuild_embeds_everything(workspace, encoder):
    add_article(workspace, "a.txt", "Alpha one has enough words.\n\nAlpha two has enough words.")
    build(workspace, encoder)
    summary = build(workspace, encoder, full=True)
    assert summary.written and summary.embedded_passages == 2 and summary.new == ["a.txt"]


def test_interrupted_build_leaves_previous_index_intact(workspace, encoder, monkeypatch):
    add_article(workspace, "a.txt", "Alpha one has enough words.")
    build(workspace, encoder)
    before = publish.current_version(workspace.resolved_index_dir)
    add_article(workspace, "b.txt", "Beta one has enough words.")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(encoder, "encode", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build(workspace, encoder)
    assert publish.current_version(workspace.resolved_index_dir) == before
    leftovers = [p.name for p in (workspace.resolved_index_dir / "versions").iterdir()]
    assert not [n for n in leftovers if n.startswith(".tmp")]
    index = load_index(workspace.resolved_index_dir, encoder.name)
    assert [a.article_id for a in index.articles.values()] == ["a.txt"]
    index.close()


def test_old_versions_are_cleaned_up_but_not_while_read(workspace, encoder):
    add_article(workspace, "a.txt", "Alpha one has enough words.")
    build(workspace, encoder)
    reader = load_index(workspace.resolved_index_dir, encoder.name)
    for i in range(3):
        add_article(workspace, f"n{i}.txt", f"New {i}.")
        build(workspace, encoder)
    versions = workspace.resolved_index_dir / "versions"
    assert reader.folder.is_dir(), "a version held by a reader must not be deleted"
    reader.close()
    add_article(workspace, "last.txt", "Last.")
    build(workspace, encoder)
    names = [p for p in versions.iterdir() if not p.name.startswith(".")]
    assert not reader.folder.exists()
    assert len(names) == workspace.keep_index_versions


def test_missing_mismatched_and_corrupt_index_give_clear_messages(workspace, encoder):
    with pytest.raises(IndexUnavailableError, match=r"No index .* `python build_index.py`"):
        load_index(workspace.resolved_index_dir, encoder.name)
    add_article(workspace, "a.txt", "Alpha one has enough words.")
    build(workspace, encoder)
    folder = publish.current_version(workspace.resolved_index_dir)

    with pytest.raises(IndexUnavailableError, match=r"built with .* EMBEDDING_MODEL"):
        load_index(workspace.resolved_index_dir, "some/other-model")

    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format_version": 99}))
    with pytest.raises(IndexUnavailableError, match=r"format 99"):
        load_index(workspace.resolved_index_dir, encoder.name)
    (folder / "manifest.json").write_text(json.dumps(manifest))

    faiss_file = next((folder / publish.SEGMENTS).iterdir()) / "passages.faiss"
    faiss_file.write_bytes(faiss_file.read_bytes()[:40])
    with pytest.raises(IndexUnavailableError, match=r"damaged .* --full"):
        load_index(workspace.resolved_index_dir, encoder.name)

    summary = build(workspace, encoder, full=True)
    assert summary.written
    load_index(workspace.resolved_index_dir, encoder.name).close()


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, str(ROOT / "build_index.py"), *args],
                          capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_cli_check_strict_and_usage_exit_codes(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("Fine.")
    assert run_cli("--check", "--corpus", str(corpus)).returncode == 0
    (corpus / "bad.txt").write_bytes(b"\xff\xfe bad")
    checked = run_cli("--check", "--corpus", str(corpus))
    assert checked.returncode == 1
    assert "bad.txt" in checked.stderr and "not UTF-8" in checked.stderr
    strict = run_cli("--strict", "--corpus", str(corpus), "--index-dir", str(tmp_path / "ix"))
    assert strict.returncode == 1 and not (tmp_path / "ix" / "CURRENT").exists()
    assert run_cli("--corpus", str(tmp_path / "missing")).returncode == 2
    assert run_cli("--no-such-flag").returncode == 2
    bad_setting = run_cli("--check", env={"EMBED_BATCH_SIZE": "lots"})
    assert bad_setting.returncode == 2
    assert "EMBED_BATCH_SIZE" in bad_setting.stderr and "Traceback" not in bad_setting.stderr


def test_cli_builds_skipping_bad_files_with_a_summary(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.txt").write_text("A fine article about the weather.")
    (corpus / "bad.jsonl").write_text("{not json\n")
    result = run_cli("--corpus", str(corpus), "--index-dir", str(tmp_path / "ix"), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "bad.jsonl:1: malformed JSON" in result.stderr
    assert "1 new" in result.stdout and "1 skipped files" in result.stdout
    assert "passages/s" in result.stdout and "Index size on disk" in result.stdout
    assert (tmp_path / "ix" / "CURRENT").exists()


def test_changed_chunking_rebuilds_everything(workspace, encoder):
    add_article(workspace, "a.txt", "Alpha one has enough words. Alpha two has enough "
                                    "words.\n\nAlpha three.")
    build(workspace, encoder)
    narrower = workspace.model_copy(update={"max_passage_words": 21})
    summary = build(narrower, encoder)
    assert summary.written and "cut differently" in summary.full_reason
    assert summary.embedded_passages == summary.passages


def test_disk_full_during_build_keeps_previous_index(workspace, encoder, monkeypatch, capsys):
    import build_index
    from index.store import FaissStore

    add_article(workspace, "a.txt", "Alpha one has enough words.")
    build(workspace, encoder)
    before = publish.current_version(workspace.resolved_index_dir)
    add_article(workspace, "b.txt", "Beta one has enough words.")

    def full(self, path):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(FaissStore, "save", full)
    monkeypatch.setenv("CORPUS_DIR", str(workspace.corpus_dir))
    monkeypatch.setenv("INDEX_DIR", str(workspace.resolved_index_dir))
    assert build_index.main(["--quiet"]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and "previous index is intact" in err
    assert publish.current_version(workspace.resolved_index_dir) == before
    index = load_index(workspace.resolved_index_dir, encoder.name)
    assert [a.article_id for a in index.articles.values()] == ["a.txt"]
    index.close()
