"""The scan cache: unchanged corpus files are not read again, and everything else is exactly
what a full read gives."""

import json
import os
import sqlite3
import time

import pytest

import index.sources.files as files
from index.cli import _read, parse_args
from index.settings import IndexSettings
from index.sources import CorpusError, read_corpus

OLD = time.time_ns() - 3600 * 10**9  # an hour ago: not racy


def write(path, text, mtime_ns=OLD):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(mtime_ns, mtime_ns))
    return path


@pytest.fixture
def reads(monkeypatch):
    """The relative paths of the files read (opened), in order."""
    seen: list[str] = []
    real = files._read_file

    def counting(path, rel):
        seen.append(rel)
        return real(path, rel)

    monkeypatch.setattr(files, "_read_file", counting)
    return seen


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    write(folder / "a.txt", "# Alpha\n\nAlpha is the first article.")
    write(folder / "b.md", "---\ntitle: Beta\nsource: Wire\npublished: 2024-05-01\n---\n"
                           "Beta is the second one.")
    write(folder / "sub" / "c.jsonl", "\n".join(json.dumps(r) for r in [
        {"id": "c1", "text": "Gamma one.", "title": "C1", "tags": ["x"]},
        {"id": "c2", "text": "Gamma two.", "url": "https://example.org/c2"},
        {"id": "c3", "text": "Gamma three."},
    ]) + "\n")
    return folder


def shape(corpus):
    """What a build sees of a scan: ids, fingerprints and paths in order, and the problems."""
    return ([(a.article_id, a.fingerprint, a.path) for a in corpus.articles],
            [str(p) for p in corpus.problems])


def test_an_unchanged_file_is_not_opened_on_the_second_scan(corpus, tmp_path, reads):
    cache = tmp_path / "index" / "scan-cache.sqlite"
    first = read_corpus([corpus], scan_cache=cache)
    assert reads == ["a.txt", "b.md", "sub/c.jsonl"] and cache.is_file()
    assert not any(a.stub for a in first.articles)
    reads.clear()
    second = read_corpus([corpus], scan_cache=cache)
    assert reads == []
    assert all(a.stub and a.text == "" for a in second.articles)
    assert shape(second) == shape(first) == shape(read_corpus([corpus]))
    reads.clear()
    verified = read_corpus([corpus], scan_cache=cache, verify=True)
    assert reads == ["a.txt", "b.md", "sub/c.jsonl"]
    assert not any(a.stub for a in verified.articles) and shape(verified) == shape(first)


def test_the_stamp_is_trusted_and_verify_reads_the_truth(corpus, tmp_path):
    """No mock: a same-size rewrite with the old mtime (and inode) is not seen without verify."""
    cache = tmp_path / "scan-cache.sqlite"
    before = read_corpus([corpus], scan_cache=cache)
    write(corpus / "a.txt", "# Alpha\n\nAlpha is the FIRST article.")  # same size, same inode
    trusted = read_corpus([corpus], scan_cache=cache)
    assert trusted.articles[0].stub
    assert trusted.articles[0].fingerprint == before.articles[0].fingerprint
    verified = read_corpus([corpus], scan_cache=cache, verify=True)
    assert "FIRST" in verified.articles[0].text
    assert verified.articles[0].fingerprint != before.articles[0].fingerprint
    again = read_corpus([corpus], scan_cache=cache)  # verify refreshed the cache
    assert again.articles[0].stub
    assert again.articles[0].fingerprint == verified.articles[0].fingerprint


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_unchanged_file_still_comes_back_as_a_stub(corpus, tmp_path):
    cache = tmp_path / "scan-cache.sqlite"
    before = read_corpus([corpus], scan_cache=cache)
    (corpus / "b.md").chmod(0)
    try:
        cached = read_corpus([corpus], scan_cache=cache)
        assert cached.articles[1].stub and not cached.problems
        assert cached.articles[1].fingerprint == before.articles[1].fingerprint
        verified = read_corpus([corpus], scan_cache=cache, verify=True)
        assert [p.path for p in verified.problems] == ["b.md"]
        assert "cannot read file" in verified.problems[0].reason
    finally:
        (corpus / "b.md").chmod(0o644)


def test_a_changed_file_is_read_again(corpus, tmp_path, reads):
    cache = tmp_path / "scan-cache.sqlite"
    before = read_corpus([corpus], scan_cache=cache)
    write(corpus / "a.txt", "# Alpha\n\nAlpha is the first article, now longer.")
    write(corpus / "b.md", (corpus / "b.md").read_text().replace("second", "SECOND"),
          mtime_ns=OLD + 10**9)  # same size, another mtime
    c = corpus / "sub" / "c.jsonl"  # same size and mtime, another inode
    replacement = write(corpus / "sub" / "new", c.read_text().replace("Gamma", "GAMMA"))
    os.replace(replacement, c)
    reads.clear()
    after = read_corpus([corpus], scan_cache=cache)
    assert reads == ["a.txt", "b.md", "sub/c.jsonl"]
    assert not any(a.stub for a in after.articles)
    assert all(x.fingerprint != y.fingerprint for x, y in zip(before.articles, after.articles,
                                                              strict=True))
    assert shape(after) == shape(read_corpus([corpus]))


def test_a_deleted_file_disappears_from_the_corpus_and_the_cache(corpus, tmp_path, reads):
    cache = tmp_path / "scan-cache.sqlite"
    read_corpus([corpus], scan_cache=cache)
    (corpus / "b.md").unlink()
    reads.clear()
    after = read_corpus([corpus], scan_cache=cache)
    assert reads == [] and [a.article_id for a in after.articles] == ["a.txt", "c1", "c2", "c3"]
    with sqlite3.connect(cache) as conn:
        assert sorted(r[0] for r in conn.execute("SELECT rel FROM files")) == ["a.txt",
                                                                              "sub/c.jsonl"]


def test_files_with_problems_are_read_and_warn_every_time(corpus, tmp_path, reads):
    cache = tmp_path / "scan-cache.sqlite"
    write(corpus / "bad.jsonl", '{"id": "d1", "text": "Delta."}\n{not json\n')
    write(corpus / "late.md", "---\npublished: someday\n---\nKept, with a warning.")
    write(corpus / "empty.txt", "")
    full = read_corpus([corpus])
    assert len(full.problems) == 3
    read_corpus([corpus], scan_cache=cache)
    for _ in range(2):
        reads.clear()
        scanned = read_corpus([corpus], scan_cache=cache)
        assert shape(scanned) == shape(full)
        assert set(reads) == {"bad.jsonl", "late.md", "empty.txt"}
    assert [a.stub for a in scanned.articles] == [True, True, False, False, True, True, True]


def test_jsonl_articles_round_trip_in_order_with_their_fingerprints(tmp_path, reads):
    folder = tmp_path / "corpus"
    records = [{"id": f"n{i}", "text": f"Story number {i}.", "published": "2024-05-0" + str(i)}
               for i in range(1, 8)]
    write(folder / "feed.jsonl", "\n\n".join(json.dumps(r) for r in records[::-1]))
    write(folder / "z.txt", "Last file.")
    cache = tmp_path / "scan-cache.sqlite"
    first = read_corpus([folder], scan_cache=cache)
    reads.clear()
    second = read_corpus([folder], scan_cache=cache)
    assert reads == [] and shape(second) == shape(first)
    assert [a.article_id for a in second.articles] == [f"n{i}" for i in range(7, 0, -1)] + [
        "z.txt"]
    assert all(a.path == "feed.jsonl" for a in second.articles[:7])


def test_duplicate_ids_across_cached_and_uncached_files_are_reported(tmp_path, reads):
    folder = tmp_path / "corpus"
    cache = tmp_path / "scan-cache.sqlite"
    write(folder / "b.jsonl", '{"id": "x0", "text": "Other."}\n\n{"id": "x", "text": "B."}\n')
    read_corpus([folder], scan_cache=cache)
    # A new file sorted before the cached one now has its id: the cached file is the duplicate.
    write(folder / "a.jsonl", '{"id": "x", "text": "A."}\n')
    reads.clear()
    scanned = read_corpus([folder], scan_cache=cache)
    assert reads == ["a.jsonl"] and scanned.articles[1].stub
    assert shape(scanned) == shape(read_corpus([folder]))
    assert [str(p) for p in scanned.problems] == [
        "b.jsonl:3: duplicate article id 'x' (first in a.jsonl) (skipped)"]
    # A new file sorted after a cached one, with its id, is the duplicate.
    write(folder / "c.jsonl", '{"id": "x0", "text": "C."}\n')
    reads.clear()
    scanned = read_corpus([folder], scan_cache=cache)
    assert shape(scanned) == shape(read_corpus([folder]))
    assert "c.jsonl" in reads and "c.jsonl:1: duplicate article id 'x0' (first in b.jsonl)" in \
        str(scanned.problems[-1])


def test_a_followed_link_is_checked_by_its_target(tmp_path, reads):
    folder, outside = tmp_path / "corpus", tmp_path / "elsewhere"
    target = write(outside / "t.txt", "The linked article.")
    folder.mkdir()
    (folder / "link.txt").symlink_to(target)
    cache = tmp_path / "scan-cache.sqlite"
    first = read_corpus([folder], follow_symlinks=True, scan_cache=cache)
    reads.clear()
    assert read_corpus([folder], follow_symlinks=True, scan_cache=cache).articles[0].stub
    assert reads == []
    write(target, "The linked article, edited.")
    after = read_corpus([folder], follow_symlinks=True, scan_cache=cache)
    assert reads == ["link.txt"] and "edited" in after.articles[0].text
    assert after.articles[0].fingerprint != first.articles[0].fingerprint
    refused = read_corpus([folder], scan_cache=cache)  # not followed: refused as before
    assert not refused.articles and "symbolic link out of" in refused.problems[0].reason


def test_a_corrupt_cache_file_counts_as_empty_and_is_rebuilt(corpus, tmp_path, reads, caplog):
    cache = tmp_path / "scan-cache.sqlite"
    cache.write_bytes(b"this is not a database" * 100)
    scanned = read_corpus([corpus], scan_cache=cache)
    assert "unreadable" in caplog.text and shape(scanned) == shape(read_corpus([corpus]))
    reads.clear()
    again = read_corpus([corpus], scan_cache=cache)
    assert reads == [] and shape(again) == shape(scanned)
    with sqlite3.connect(cache) as conn:  # a row that is not what the cache writes: a miss
        conn.execute("UPDATE files SET articles = '{\"no\": 1}' WHERE rel = 'a.txt'")
    reads.clear()
    assert shape(read_corpus([corpus], scan_cache=cache)) == shape(scanned)
    assert reads == ["a.txt"]


def test_materialize_gives_the_full_articles_of_stubs(corpus, tmp_path, reads):
    cache = tmp_path / "scan-cache.sqlite"
    full = {a.article_id: a for a in read_corpus([corpus], scan_cache=cache).articles}
    write(corpus / "d.txt", "Delta is new.", mtime_ns=time.time_ns())
    scanned = read_corpus([corpus], scan_cache=cache)
    reads.clear()
    got = scanned.materialize(["c3", "b.md", "c1", "d.txt"])
    assert reads == ["sub/c.jsonl", "b.md"]  # each file once; d.txt is no stub
    assert got["d.txt"] is next(a for a in scanned.articles if a.article_id == "d.txt")
    for article_id in ("c3", "b.md", "c1"):
        assert got[article_id] == full[article_id] and not got[article_id].stub
    assert got["b.md"].title == "Beta" and got["b.md"].published == "2024-05-01"
    assert got["c1"].meta == {"tags": ["x"]} and got["c1"].text == "Gamma one."
    with pytest.raises(KeyError):
        scanned.materialize(["nope"])


def test_materialize_takes_a_file_as_it_reads_now_and_refuses_a_lost_article(corpus, tmp_path):
    cache = tmp_path / "scan-cache.sqlite"
    read_corpus([corpus], scan_cache=cache)
    scanned = read_corpus([corpus], scan_cache=cache)
    write(corpus / "a.txt", "# Alpha\n\nAlpha was edited.")
    assert scanned.materialize(["a.txt"])["a.txt"].text.endswith("Alpha was edited.")
    write(corpus / "sub" / "c.jsonl", '{"id": "c1", "text": "Gamma one.", "title": "C1", '
                                      '"tags": ["x"]}\n')
    assert scanned.materialize(["c1"])["c1"].text == "Gamma one."
    with pytest.raises(CorpusError, match=r"'c2' is no longer in it; run the build again"):
        scanned.materialize(["c1", "c2"])
    (corpus / "b.md").unlink()
    with pytest.raises(CorpusError, match=r"b.md changed .*cannot read file"):
        scanned.materialize(["b.md"])


def test_a_file_modified_just_now_is_not_cached(corpus, tmp_path, reads):
    cache = tmp_path / "scan-cache.sqlite"
    write(corpus / "now.txt", "Written this very second.", mtime_ns=time.time_ns())
    read_corpus([corpus], scan_cache=cache)
    for _ in range(2):
        reads.clear()
        read_corpus([corpus], scan_cache=cache)
        assert reads == ["now.txt"]
    os.utime(corpus / "now.txt", ns=(OLD, OLD))
    read_corpus([corpus], scan_cache=cache)
    reads.clear()
    read_corpus([corpus], scan_cache=cache)
    assert reads == []


def test_cli_reads_through_the_cache_in_the_index_dir_and_verify_reads_all(
        corpus, tmp_path, reads):
    settings = IndexSettings(_env_file=None, corpus_dir=corpus, data_dir=tmp_path / "data",
                             index_dir=None)
    index_dir = tmp_path / "ix"
    _read(parse_args(["--index-dir", str(index_dir)]), settings)
    assert (index_dir / "scan-cache.sqlite").is_file()
    reads.clear()
    _read(parse_args(["--index-dir", str(index_dir)]), settings)
    assert reads == []
    for flag in ("--verify", "--full", "--check"):
        reads.clear()
        _read(parse_args([flag, "--index-dir", str(index_dir)]), settings)
        assert len(reads) == 3, flag
    _read(parse_args([]), settings)  # the default index directory
    assert (settings.resolved_index_dir / "scan-cache.sqlite").is_file()


def test_build_index_accepts_verify(corpus, tmp_path, capsys):
    import build_index

    assert build_index.main(["--check", "--verify", "--corpus", str(corpus)]) == 0
    assert "Checked 5 articles: 0 problems" in capsys.readouterr().out
    index_dir = tmp_path / "ix"
    assert build_index.main(["--strict", "--verify", "--corpus", str(corpus / "bad.txt"),
                             "--index-dir", str(index_dir)]) == 2  # no such file: usage error
    assert "does not exist" in capsys.readouterr().err
