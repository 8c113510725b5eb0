"""Corpus files of every supported format, and every kind of bad input, reported not lost."""

import json

from index.sources import read_corpus


def write(folder, name, content, mode="w"):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == "wb":
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_front_matter_fields_and_extra_metadata(tmp_path):
    write(tmp_path, "a.md", "---\ntitle: Airport retaken\nsource: Example News\n"
          "url: https://example.org/a\npublished: 2020-06-03\nlanguage: en\ntags: [libya]\n---\n"
          "\nFirst paragraph.\n\nSecond one.\n")
    corpus = read_corpus([tmp_path])
    (article,) = corpus.articles
    assert article.article_id == "a.md"
    assert article.title == "Airport retaken"
    assert article.source == "Example News"
    assert article.url == "https://example.org/a"
    assert article.published == "2020-06-03"
    assert article.language == "en"
    assert article.meta == {"tags": ["libya"]}
    assert article.text == "First paragraph.\n\nSecond one."
    assert not corpus.problems


def test_title_from_heading_else_file_name_and_nothing_invented(tmp_path):
    write(tmp_path, "sub/with-heading.md", "# The Heading\n\nBody text here.")
    write(tmp_path, "plain.txt", "Just text.")
    by_id = {a.article_id: a for a in read_corpus([tmp_path]).articles}
    assert by_id["sub/with-heading.md"].title == "The Heading"
    plain = by_id["plain.txt"]
    assert plain.title == "plain"
    assert plain.url is None and plain.published is None and plain.source is None


def test_jsonl_articles_keep_their_ids_and_fields(tmp_path):
    lines = [{"id": 7, "title": "T", "category": "tech", "text": "Body."},
             {"id": "b", "text": "Other body.", "published": "2005-01-02"}]
    write(tmp_path, "news.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    articles = read_corpus([tmp_path]).articles
    assert [a.article_id for a in articles] == ["7", "b"]
    assert articles[0].meta == {"category": "tech"}
    assert articles[1].published == "2005-01-02"
    assert articles[1].title == "b"


def test_bad_files_are_reported_with_reason_and_the_rest_is_kept(tmp_path):
    write(tmp_path, "good.txt", "A good article.")
    write(tmp_path, "latin1.txt", "caf\xe9".encode("latin-1"), mode="wb")
    write(tmp_path, "empty.md", "  \n\n")
    write(tmp_path, "binary.txt", b"abc\x00def", mode="wb")
    write(tmp_path, "broken.md", "---\ntitle: [unclosed\n---\nBody.")
    write(tmp_path, "image.png", "not an article")
    write(tmp_path, "lines.jsonl", '{"id": 1, "text": "ok"}\n{broken\n{"text": "no id"}\n'
          '{"id": 1, "text": "duplicate"}\n')
    corpus = read_corpus([tmp_path])
    assert sorted(a.article_id for a in corpus.articles) == ["1", "good.txt"]
    reasons = {(p.path, p.line): p.reason for p in corpus.problems}
    assert "not UTF-8" in reasons[("latin1.txt", 1)]
    assert "empty" in reasons[("empty.md", None)]
    assert "binary" in reasons[("binary.txt", None)]
    assert any(path == "broken.md" and "front matter" in r for (path, _), r in reasons.items())
    assert "unknown extension" in reasons[("image.png", None)]
    assert "malformed JSON" in reasons[("lines.jsonl", 2)]
    assert "missing 'id'" in reasons[("lines.jsonl", 3)]
    assert "duplicate article id" in reasons[("lines.jsonl", 4)]
    assert corpus.skipped_files == 6


def test_wrong_types_in_front_matter_keep_the_article_with_a_warning(tmp_path):
    write(tmp_path, "x.md", "---\ntitle: [1, 2]\npublished: yesterday\n---\nBody text.")
    corpus = read_corpus([tmp_path])
    (article,) = corpus.articles
    assert article.published is None
    assert article.title == "x"
    assert {p.skipped for p in corpus.problems} == {False}
    assert len(corpus.problems) == 2


def test_symlinks_out_of_the_corpus_are_refused_unless_allowed(tmp_path):
    corpus_dir, outside = tmp_path / "corpus", tmp_path / "outside"
    write(corpus_dir, "kept.txt", "An article of the corpus.")
    write(outside, "secret.txt", "A private file beside the corpus.")
    write(outside, "folder/other.txt", "Another private file.")
    (corpus_dir / "leak.txt").symlink_to(outside / "secret.txt")
    (corpus_dir / "linked").symlink_to(outside / "folder", target_is_directory=True)
    (corpus_dir / "alias.txt").symlink_to(corpus_dir / "kept.txt")  # stays inside: harmless
    corpus = read_corpus([corpus_dir])
    texts = " ".join(a.text for a in corpus.articles)
    assert "private" not in texts
    assert {a.article_id for a in corpus.articles} == {"kept.txt", "alias.txt"}
    reasons = {p.path: p.reason for p in corpus.problems}
    assert "symbolic link" in reasons["leak.txt"]
    assert "CORPUS_FOLLOW_SYMLINKS" in reasons["leak.txt"]
    assert "symbolic link" in reasons["linked"]
    followed = read_corpus([corpus_dir], follow_symlinks=True)
    assert {a.article_id for a in followed.articles} == {
        "kept.txt", "alias.txt", "leak.txt", "linked/other.txt"}


def test_a_symlink_loop_is_read_once_when_links_are_followed(tmp_path):
    write(tmp_path, "a/one.txt", "The only article.")
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a", target_is_directory=True)
    corpus = read_corpus([tmp_path], follow_symlinks=True)
    assert [a.article_id for a in corpus.articles] == ["a/one.txt"]


def test_yaml_aliases_in_front_matter_skip_that_file_not_the_build(tmp_path):
    write(tmp_path, "loop.md", "---\ntitle: Loop\ntags: &a [*a]\n---\nBody of the loop.")
    bomb = "\n".join(["a: &a [x, x, x, x, x, x, x, x, x, x]"] + [
        f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]"
        for i in range(8)])
    write(tmp_path, "bomb.md", f"---\n{bomb}\n---\nBody of the bomb.")
    write(tmp_path, "good.md", "---\ntitle: Good\n---\nA good article.")
    corpus = read_corpus([tmp_path])
    assert [a.article_id for a in corpus.articles] == ["good.md"]
    reasons = {p.path: p.reason for p in corpus.problems}
    assert "alias" in reasons["loop.md"] and "alias" in reasons["bomb.md"]
    assert all(p.skipped for p in corpus.problems)
    assert corpus.articles[0].fingerprint


def test_only_web_links_become_an_articles_url(tmp_path):
    write(tmp_path, "js.md", "---\ntitle: A\nurl: javascript:alert(1)\n---\nBody A.")
    write(tmp_path, "tg.md", "---\ntitle: B\nurl: tg://resolve?domain=x\n---\nBody B.")
    write(tmp_path, "data.md", "---\ntitle: C\nurl: \"data:text/html,<b>x</b>\"\n---\nBody C.")
    write(tmp_path, "web.md", "---\ntitle: D\nurl: HTTPS://example.org/d\n---\nBody D.")
    write(tmp_path, "lines.jsonl", '{"id": "j", "text": "Body J.", "url": "file:///etc/passwd"}\n')
    corpus = read_corpus([tmp_path])
    urls = {a.article_id: a.url for a in corpus.articles}
    assert urls == {"js.md": None, "tg.md": None, "data.md": None,
                    "web.md": "HTTPS://example.org/d", "j": None}
    warned = {p.path for p in corpus.problems if "http" in p.reason and not p.skipped}
    assert warned == {"js.md", "tg.md", "data.md", "lines.jsonl"}


def test_deeply_nested_front_matter_or_json_skips_that_file_not_the_build(tmp_path):
    write(tmp_path, "deep.md", "---\ntitle: " + "[" * 3000 + "]" * 3000 + "\n---\nBody.")
    write(tmp_path, "deep.jsonl", '{"id": "d", "text": "Body.", "x": ' + "[" * 100_000
          + "]" * 100_000 + "}\n" + '{"id": "ok", "text": "Kept."}\n')
    write(tmp_path, "good.md", "A good article.")
    corpus = read_corpus([tmp_path])
    assert sorted(a.article_id for a in corpus.articles) == ["good.md", "ok"]
    reasons = {p.path: p.reason for p in corpus.problems}
    assert "nested too deeply" in reasons["deep.md"]
    assert "nested too deeply" in reasons["deep.jsonl"]
