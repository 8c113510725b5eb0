"""Telegram rendering: escaping, attribution, splitting at Telegram's limit."""

from bot.engine.answer import Answer, Quote
from bot.render import TELEGRAM_LIMIT, answer_html, attribution_html, pack, quote_blocks, utf16_len
from tests.support.fake_bot_api import plain_text


def quote(text="A quote.", **fields) -> Quote:
    values = {"article_id": "a.md", "title": "Title", "source": None, "url": None,
              "published": None, "paragraph": 2, "start": 0, "end": len(text), "score": 0.9}
    values.update(fields)
    return Quote(text=text, **values)


def test_corpus_text_is_escaped_and_parses():
    q = quote('He said "<b>x</b>" & left </blockquote> <a href="javascript:x">',
              title="R&D <news>", url='https://e.org/?a=1&b="2"')
    (html,) = answer_html(Answer("q", False, [q]))
    assert "<b>x</b>" not in html and "&lt;b&gt;" in html and "&amp; left" in html
    visible = plain_text(html, "HTML")  # raises like Telegram on broken markup
    assert q.text in visible and "R&D <news>" in visible
    assert 'href="https://e.org/?a=1&amp;b=&quot;2&quot;"' in html


def test_attribution_with_and_without_url_and_date():
    bare = attribution_html(quote())
    assert bare.visible == "— Title · paragraph 2" and "<a " not in bare.html
    full = attribution_html(quote(source="Example News", published="2020-06-03",
                                  url="https://example.org/x"))
    assert full.visible == "— Title · Example News · 2020-06-03 · paragraph 2"
    assert '<a href="https://example.org/x">Title</a>' in full.html


def test_many_quotes_split_at_quote_boundaries_within_the_limit():
    quotes = [quote(("Word " * 300).strip() + f" {i}.", paragraph=i) for i in range(1, 10)]
    pages = answer_html(Answer("q", False, quotes))
    assert len(pages) > 1
    joined = "\n\n".join(plain_text(p, "HTML") for p in pages)
    for q in quotes:
        assert q.text in joined  # no quote was cut
    for page in pages:
        assert utf16_len(plain_text(page, "HTML")) <= TELEGRAM_LIMIT
        assert page.count("<blockquote>") == page.count("</blockquote>")


def test_one_huge_quote_is_cut_at_sentences_counting_utf16():
    sentence = "Emoji 😀 count twice in UTF-16 units here. "
    text = (sentence * 400).strip()
    blocks = quote_blocks(text, attribution_html(quote(text)))
    pages = pack(blocks)
    assert len(pages) > 1
    pieces = []
    for page in pages:
        visible = plain_text(page, "HTML")
        assert utf16_len(visible) <= TELEGRAM_LIMIT
        assert len(visible) <= TELEGRAM_LIMIT
        pieces.append(visible)
    for page in pages[:-1]:
        assert plain_text(page, "HTML").endswith("here.")
    assert " ".join(p.split("\n— ")[0] for p in pieces) == text


def test_abstention_and_errors_render_plainly():
    (html,) = answer_html(Answer("q", True, suggestions=[{"article_id": "a", "title": "T"}]))
    assert "do not answer" in html
    (err,) = answer_html(Answer("<b>", True, error="The question is too long (5 > 1) <b>"))
    assert "&lt;b&gt;" in err


def test_publication_dates_are_date_time_entities_with_the_stored_date_as_text():
    dated = attribution_html(quote(source="Example News", published="2026-12-03"))
    # Noon UTC: the same calendar day for readers from UTC-11 to UTC+11; "D": long date.
    assert '<tg-time unix="1796299200" format="D">2026-12-03</tg-time>' in dated.html
    assert plain_text(dated.html, "HTML") == dated.visible  # the fake parses it as Telegram
    assert dated.visible == "— Title · Example News · 2026-12-03 · paragraph 2"
    timed = attribution_html(quote(published="2024-05-01T09:00:00Z"))
    assert 'unix="1714554000"' in timed.html
    odd = attribution_html(quote(published="spring 2024"))  # unreadable: plain text
    assert "tg-time" not in odd.html and "spring 2024" in odd.html
