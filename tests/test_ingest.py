"""Corpus files of every supported format, and every kind of bad input, reported not lost."""

import json

from index.ingest import read_corpus


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
