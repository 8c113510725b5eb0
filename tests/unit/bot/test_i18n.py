"""The bot's own words in the user's language (bot.i18n): the choice of language, complete
catalogs that keep every placeholder and tag, right-to-left isolates that never touch a quote,
and the console and `ask` with `--lang`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from telegram import User

from bot import render
from bot.engine import HELP, UNAVAILABLE, Answer, ArticleRef, Notice, NoticeCode, Quote
from bot.engine.question import QuestionError, validate
from bot.i18n import (
    FSI,
    LANGUAGES,
    PDI,
    RLI,
    catalog_path,
    choose_language,
    language_of,
    translator,
    translator_for,
)
from tests.support.fake_bot_api import plain_text
from tests.support.workspace import ROOT, SEED

I18N = ROOT / "bot" / "i18n"
TEMPLATE = I18N / "locales" / "messages.pot"
KEYWORDS = {"N_": None, "gettext": None, "ngettext": (1, 2), "say": None, "nsay": (1, 2),
            "say_html": None, "nsay_html": (1, 2)}
SEED_TEXT = SEED.read_text(encoding="utf-8").strip()
QUESTION = "How far is Qasr Bin Ghashir from Tripoli?"
OFF_TOPIC = "Who won the football world cup in 2010?"
BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")
ARABIC = re.compile("[\u0600-\u06ff]")


def read(path: Path):
    with path.open("rb") as po:
        return read_po(po)


def ids(message) -> tuple[str, ...]:
    return message.id if isinstance(message.id, tuple) else (message.id,)


def placeholders(text: str) -> set[str]:
    """{name} and %(name)s placeholders."""
    return {a or b for a, b in re.findall(r"\{(\w+)[^}]*\}|%\((\w+)\)[sd]", text)}


def markup(text: str) -> list[str]:
    """HTML tags and entities, in order."""
    return re.findall(r"</?\w+>|&\w+;", text)


# ---- which language ------------------------------------------------------------------------
@pytest.mark.parametrize(("code", "language"), [
    ("ar", "ar"), ("ar-EG", "ar"), ("fr-FR", "fr"), ("de-DE", "de"), ("es-419", "es"),
    ("ru", "ru"), ("zh-hans", "zh"), ("zh-Hant-TW", "zh"), ("zh_CN", "zh"), ("EN-gb", "en"),
    ("pt", "en"), ("pt-br", "en"), ("", "en"), (None, "en"), ("x-klingon", "en"),
    ("123", "en"),
])
def test_the_language_is_the_primary_subtag_the_bot_speaks_else_english(code, language):
    assert choose_language(code) == language
    assert translator(code).language == language


def test_the_language_comes_from_the_telegram_user_and_the_direction_from_it():
    arab = User(1, "Amal", False, language_code="ar-EG")
    assert language_of(arab) == "ar" and translator_for(arab).direction == "rtl"
    assert translator_for(User(2, "Ana", False, language_code="pt-br")).language == "en"
    assert translator_for(User(3, "Anon", False)).language == "en"  # no language_code
    assert translator_for(None).direction == "ltr"
    assert {translator(code).direction for code in ("fr", "de", "es", "ru", "zh", "en")} == {
        "ltr"}
    assert translator("ar") is translator("ar-SA")  # one compiled catalog per language


# ---- the catalogs --------------------------------------------------------------------------
def test_the_template_is_what_the_code_says_now():
    """`pybabel extract` would write the same messages: nothing new is left untranslated."""
    with (I18N / "babel.cfg").open() as config:
        method_map, options = parse_mapping_cfg(config)
    extracted = {message[2] if isinstance(message[2], str) else message[2][0]
                 for message in extract_from_dir(ROOT / "bot", method_map, options,
                                                 keywords=KEYWORDS)}
    assert extracted == {ids(m)[0] for m in read(TEMPLATE) if m.id}


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != "en"])
def test_every_message_is_translated_keeping_placeholders_and_markup(language):
    template = {ids(m): m for m in read(TEMPLATE) if m.id}
    catalog = read(catalog_path(language))
    assert catalog.locale is not None and str(catalog.locale) == language
    translated = {ids(m): m for m in catalog if m.id}
    assert set(translated) == set(template), "run pybabel update (docs/translations.md)"
    for key, message in translated.items():
        assert not message.fuzzy, key
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert len(forms) == (catalog.num_plurals if len(key) == 2 else 1), key
        wanted = set().union(*(placeholders(k) for k in key))
        for i, form in enumerate(forms):
            assert form.strip(), (language, key)
            found = placeholders(form)
            assert found <= wanted, (language, key, form)
            # a plural form may say its number in words ("مقالتان"); all else must be there
            assert wanted - {"count"} <= found, (language, key, form)
            if i == len(forms) - 1 and "count" in wanted:
                assert "count" in found, (language, key, form)
            assert markup(form) == markup(key[0]), (language, key, form)
            assert form.count("\n") == key[0].count("\n"), (language, key)
            assert form.endswith("\n") == key[0].endswith("\n"), (language, key)
            assert not BIDI.search(form), "isolates come from the code, not the catalog"


def test_the_engines_notices_are_said_in_the_readers_language():
    with pytest.raises(QuestionError) as empty:
        validate("  ", 1000)
    assert str(empty.value) == "The question is empty: type a question about the news articles."
    with pytest.raises(QuestionError) as long:
        validate("why " * 400, 1000)
    too_long = Answer("why", True, error=str(long.value), notice=long.value.notice)
    assert render.as_text(too_long) == str(long.value)  # English: the JSON's text
    arabic = render.as_text(too_long, translator("ar"))
    assert "1599" in arabic and "1000" in arabic and ARABIC.search(arabic)
    french = render.answer_html(too_long, tr=translator("fr"))[0]
    assert "trop longue (1599 caractères" in french
    helped = Answer("hi", True, help=HELP, notice=Notice(NoticeCode.HELP))
    assert render.as_text(helped) == HELP and render.as_text(helped, translator("fr")) != HELP
    down = Answer("q", True, error=UNAVAILABLE, notice=Notice(NoticeCode.UNAVAILABLE))
    assert render.as_text(down, translator("de")) != UNAVAILABLE
    failed = Answer("q", True, error="Index problem: disk")
    assert render.as_text(failed, translator("ru")) == (
        "Index problem: disk")  # what no notice names stays as the engine said it


# ---- right to left -------------------------------------------------------------------------
def quote(text: str, **fields) -> Quote:
    values = {"article_id": "a.md", "title": "Tripoli airport", "source": "Example News",
              "url": None, "published": "2020-06-03", "paragraph": 11, "start": 0,
              "end": len(text), "score": 0.9}
    return Quote(text=text, **{**values, **fields})


def test_arabic_fixed_words_are_isolated_and_quotes_keep_their_own_direction(seed_engine):
    answer = seed_engine.answer(QUESTION)
    assert not answer.abstained
    (page,) = render.answer_html(answer, tr=translator("ar"))
    visible = plain_text(page, "HTML")  # parses as Telegram parses it
    first = answer.quotes[0]
    assert SEED_TEXT[first.start:first.end] == first.text
    assert f"{FSI}{first.text}{PDI}" in visible  # the exact article text, isolates outside
    assert f"<blockquote>{FSI}" in page
    assert f"{RLI}الفقرة 11{PDI}" in visible  # the bot's word for paragraph, isolated
    assert f"{FSI}tripoli-airport{PDI}" in visible  # the title as stored, isolated
    english = render.answer_html(answer)[0]
    assert not BIDI.search(plain_text(english, "HTML").replace(first.text, ""))


def test_an_arabic_abstention_and_a_french_one(seed_engine):
    answer = seed_engine.answer(OFF_TOPIC)
    assert answer.abstained
    (arabic,) = render.answer_html(answer, tr=translator("ar"))
    assert f"{RLI}لا تجيب المقالات عن ذلك.{PDI}" in arabic
    (french,) = render.answer_html(answer, tr=translator("fr"))
    assert french.startswith("Les articles ne répondent pas à cette question.")
    assert not BIDI.search(french)
    text = render.as_text(answer, translator("ar"))
    assert "لا تجيب المقالات عن ذلك." in text and "tripoli-airport" in text


def test_a_long_quote_cut_in_arabic_stays_within_the_limit_and_exact():
    sentence = "Emoji 😀 count twice in UTF-16 units here. "
    text = (sentence * 400).strip()
    tr = translator("ar")
    pages = render.pack(render.quote_blocks(text, render.attribution_html(quote(text), tr),
                                            tr=tr))
    assert len(pages) > 1
    pieces = []
    for page in pages:
        visible = plain_text(page, "HTML")
        assert render.utf16_len(visible) <= render.TELEGRAM_LIMIT
        (piece,) = re.findall(f"{FSI}([^{PDI}]*){PDI}", visible.split("\n— ")[0])
        pieces.append(piece)
    assert " ".join(pieces) == text


def test_pushes_and_a_related_article_in_arabic_isolate_titles_and_topics():
    tr = translator("ar")
    related = quote("Libya has withdrawn $1bn in assets from the US.", paragraph=1)
    shown = render.as_text(Answer("q", True, related=related), tr)
    assert f"{FSI}“{related.text}”{PDI}" in shown and "قد يكون هذا ذا صلة:" in shown
    lead = render.latest_html([(ArticleRef("a.md", "Tripoli airport", "Example News", None,
                                           "2020-06-03"), related)], tr)[0]
    assert f"{FSI}{related.text}{PDI}" in plain_text(lead, "HTML")
    assert render.latest_html([], tr)[0].count(RLI) == 1


# ---- the console and ask -------------------------------------------------------------------
def run_bot(*args: str, settings, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INDEX_DIR": str(settings.resolved_index_dir),
           "DATA_DIR": str(settings.data_dir)}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "bot", *args], input=stdin,
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)


def test_the_console_in_arabic_says_the_articles_do_not_answer(seed_settings):
    result = run_bot("console", "--lang", "ar", settings=seed_settings,
                     stdin=f"{OFF_TOPIC}\n{QUESTION}\n")
    assert result.returncode == 0, result.stderr
    assert "لا تجيب المقالات عن ذلك." in result.stdout
    assert "وحدة تحكم Verbatim" in result.stdout  # its greeting line
    assert "جارٍ تحميل النموذج" in result.stderr
    sentence = next(s for s in SEED_TEXT.split("\n\n")[10].split(". ") if "26 km" in s)
    assert sentence in result.stdout and "الفقرة 11" in result.stdout  # the quote in English


def test_ask_lang_changes_the_text_and_never_the_json(seed_settings):
    french = run_bot("ask", OFF_TOPIC, "--lang", "fr-FR", settings=seed_settings)
    assert french.returncode == 0, french.stderr
    assert french.stdout.startswith("Les articles ne répondent pas à cette question.")
    plain = run_bot("ask", OFF_TOPIC, "--json", settings=seed_settings)
    arabic = run_bot("ask", OFF_TOPIC, "--json", "--lang", "ar", settings=seed_settings)
    assert arabic.returncode == plain.returncode == 0
    one, other = json.loads(plain.stdout), json.loads(arabic.stdout)
    for timed in ("latency_ms", "timings"):
        one.pop(timed), other.pop(timed)
    assert one == other and not ARABIC.search(arabic.stdout)
