"""The engine facade: its lookups give what the index-taking functions give, on the seed."""

from dataclasses import asdict

from bot.engine import ArticleRef, PushPayload, Quote, lookups, open_engine
from bot.engine.topics import best_match
from tests.support.workspace import SEED

QUESTION = "How far is Qasr Bin Ghashir from Tripoli?"


def test_ready_version_and_summary(seed_engine):
    index = seed_engine.index
    assert seed_engine.ready and seed_engine.version == index.version
    summary = seed_engine.summary()
    assert summary is not None
    assert (summary.articles, summary.passages) == (len(index.articles), index.passage_count)
    assert summary.newest_published is None  # the seed article is undated
    assert summary.built_at == index.manifest.built_at
    assert summary.model == index.manifest.model
    files = [p for p in index.folder.rglob("*") if p.is_file()]
    assert summary.size_bytes == sum(p.stat().st_size for p in files)  # no file linked twice
    assert any(p.name == "catalog.sqlite" for p in files)


def test_lookups_match_the_index_functions(seed_engine):
    index = seed_engine.index
    quote = seed_engine.answer(QUESTION).quotes[0]
    stored = Quote.from_dict(asdict(quote))  # as the buttons read it back from the database
    assert seed_engine.examples() == lookups.examples(index)
    assert seed_engine.paragraph(stored) == lookups.paragraph(index, quote)
    assert seed_engine.paragraph(stored).paragraph == quote.paragraph
    again = seed_engine.still_there(stored)
    assert again == lookups.still_there(index, quote)
    assert again is not None and (again.text, again.start, again.score) == (
        quote.text, quote.start, quote.score)
    assert seed_engine.lead(SEED.name) == lookups.lead(index, SEED.name)
    assert seed_engine.lead("no-such-article") is None
    newest = seed_engine.newest(5)
    assert [(ref.to_dict(), lead) for ref, lead in newest] == [
        ({"article_id": i.article_id, "title": i.title, "source": i.source, "url": i.url,
          "published": i.published}, lookups.first_sentence(index, i))
        for i in lookups.newest(index, 5)]
    catalog = seed_engine.catalog()
    assert catalog is not None and catalog.version == index.version
    assert [a.article_id for a in catalog.articles] == [SEED.name]
    assert seed_engine.article(SEED.name) == newest[0][0]
    assert seed_engine.first_sentence(SEED.name) == newest[0][1]


def test_topic_matching(seed_engine):
    index = seed_engine.index
    topic = seed_engine.topic("Tripoli airport")
    found = seed_engine.match_topic(SEED.name, topic, 0.3)
    assert found is not None
    assert found == best_match(index, index.by_article_id[SEED.name], topic, 0.3)
    assert seed_engine.match_topic(SEED.name, seed_engine.topic("volcanic eruptions in Iceland"),
                                   0.9) is None
    assert seed_engine.match_topic("no-such-article", topic, 0.3) is None


def test_records_round_trip_as_stored_json(seed_engine):
    quote = seed_engine.answer(QUESTION).quotes[0]
    assert quote.to_dict() == asdict(quote) and Quote.from_dict(asdict(quote)) == quote
    article = ArticleRef("a.md", "A", None, "https://example.org/a", "2020-01-02")
    follow = {"kind": "follow", "topic": "Tripoli", "article": article.to_dict(),
              "quote": asdict(quote)}
    new = {"kind": "new", "article": article.to_dict(), "quote": None}
    for stored in (follow, new):
        payload = PushPayload.from_dict(stored)
        assert list(payload.to_dict().items()) == list(stored.items())
    assert PushPayload.from_dict(follow).quote == quote


def test_open_engine(seed_settings, tmp_path):
    engine, problem = open_engine(seed_settings)
    assert problem is None and engine is not None and engine.ready
    missing = seed_settings.model_copy(update={"index_dir": tmp_path / "none"})
    engine, problem = open_engine(missing)
    assert engine is not None and not engine.ready and problem and "build" in problem
    assert engine.summary() is None and engine.newest(3) == [] and engine.catalog() is None
