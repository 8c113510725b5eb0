"""HTML article pages in the corpus: the body and metadata, none of the boilerplate."""

from __future__ import annotations

import shutil
from pathlib import Path

from bot.engine import Engine
from index.sources import read_corpus
from tests.support.workspace import build

PAGES = Path(__file__).resolve().parents[2] / "support" / "pages"
BOILERPLATE = ["cookies", "Home", "Related", "Storm hits coast", "First!", "All rights reserved",
               "tracking", "console.log", "footer script"]
INDEX_PAGE = """<html><head><title>World news</title></head><body><nav>
<a href="/a">Storm hits coast</a> <a href="/b">Rain records broken</a> <a href="/c">More</a>
</nav></body></html>"""


def test_html_page_gives_its_article_and_metadata(tmp_path):
    shutil.copy(PAGES / "flooded-valley.html", tmp_path / "flooded-valley.html")
    (tmp_path / "world.htm").write_text(INDEX_PAGE, encoding="utf-8")
    (tmp_path / "empty.html").write_text("<html><body></body></html>", encoding="utf-8")
    corpus = read_corpus([tmp_path])
    [article] = corpus.articles
    assert article.title == "Rescuers reach flooded valley"
    assert article.source == "Example News"
    assert article.url == "https://news.example.org/2024/05/rescuers-reach-valley"
    assert article.published == "2024-05-03"
    assert article.language == "en"
    assert article.meta["author"] == "Jane Reporter"
    assert article.text.startswith("Rescue teams reached the flooded Ardent valley")
    assert article.text.count("\n\n") == 2  # three paragraphs, blank-line separated
    for junk in BOILERPLATE:
        assert junk not in article.text
    skipped = {p.path: p.reason for p in corpus.problems}
    assert set(skipped) == {"world.htm", "empty.html"}
    assert all("no article in this HTML page" in reason for reason in skipped.values())
    assert (tmp_path / "flooded-valley.html").exists()  # the original stays where it is


def test_html_articles_are_indexed_and_quoted_exactly(workspace, encoder):
    shutil.copy(PAGES / "flooded-valley.html", workspace.corpus_dir / "flooded-valley.html")
    build(workspace, encoder)
    engine = Engine(workspace, encoder=encoder)
    engine.load()
    answer = engine.answer("How many people were moved to schools and sports halls?")
    assert not answer.abstained
    quote = answer.quotes[0]
    assert "4,000 people" in quote.text
    article = read_corpus([workspace.corpus_dir]).articles[0]
    assert article.text[quote.start:quote.end] == quote.text
    assert quote.paragraph == 2 and quote.source == "Example News"
