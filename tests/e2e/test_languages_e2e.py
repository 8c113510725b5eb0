"""End to end (issue 22): the real bot process speaks each Telegram user's language_code for its
own words, and quotes the articles exactly as they are, in any language."""

from __future__ import annotations

import html
import itertools

import pytest

from tests.support.botproc import start_bot
from tests.support.fake_bot_api import FakeTelegram
from tests.support.workspace import SEED

SEED_TEXT = SEED.read_text(encoding="utf-8").strip()
PARAGRAPH = SEED_TEXT.split("\n\n")[10]
SENTENCE = next(s for s in PARAGRAPH.split(". ") if "26 km" in s)
QUESTION = "How far is Qasr Bin Ghashir from Tripoli?"
OFF_TOPIC = "Who won the football world cup in 2010?"
RLI, FSI, PDI = "\u2067", "\u2068", "\u2069"
chat_ids = itertools.count(9100)


def ask(api, text, language, chat=None):
    """A user whose Telegram app is in `language` sends `text`; the bot's replies to it."""
    chat = chat or next(chat_ids)
    before = len(api.messages_to(chat))
    api.user_message(chat, text, user_id=chat, language_code=language)
    replies = api.wait_for(lambda m: m["chat"]["id"] == chat
                           and len(api.messages_to(chat)) > before, timeout=60)
    return chat, replies[before:]


def buttons(message):
    return [b for row in message["reply_markup"]["inline_keyboard"] for b in row]


def test_an_arabic_user_gets_start_help_and_the_abstention_in_arabic(bot, api):
    _, (start,) = ask(api, "/start", "ar")
    assert f"{RLI}مرحبًا!" in start["text"]
    assert "جرّب أحد هذه الأسئلة" in start["text"]
    assert "What do the articles say about" in start["text"]  # example questions stay as asked
    _, (shown,) = ask(api, "/help", "ar-EG")
    assert f"{RLI}طريقة الاستخدام{PDI}" in shown["text"]
    assert "الفقرة كاملة" in shown["text"] and "/about" in shown["text"]
    chat, (abstained,) = ask(api, OFF_TOPIC, "ar")
    assert f"{RLI}لا تجيب المقالات عن ذلك.{PDI}" in abstained["text"]
    assert "أقرب المقالات في الأسفل." in abstained["text"]
    assert "The articles do not answer" not in abstained["text"]
    (article,) = buttons(abstained)
    assert article["text"] == "📄 tripoli-airport"  # a title is never translated
    api.press_button(abstained, article["callback_data"], user_id=chat, language_code="ar")
    lead = api.wait_for(lambda m: m["chat"]["id"] == chat and SEED_TEXT.split("\n\n")[0]
                        in m["text"])
    assert f"<blockquote>{FSI}" in lead[0]["html"] and "الفقرة 1" in lead[0]["text"]
    assert api.localized_commands["ar"][0]["description"] == "اطرح سؤالًا عن المقالات الإخبارية"


def test_an_arabic_user_gets_the_english_quote_verbatim_with_arabic_words_around(bot, api):
    chat, replies = ask(api, QUESTION, "ar")
    first = replies[0]
    assert SENTENCE in first["text"]  # verbatim, in the article's language
    assert f"<blockquote>{FSI}" in first["html"] and f"{PDI}</blockquote>" in first["html"]
    assert "tripoli-airport" in first["text"] and f"{RLI}الفقرة 11{PDI}" in first["text"]
    labels = {b["text"] for b in buttons(first)}
    assert {"الفقرة كاملة", "👍", "👎"} <= labels and "Full paragraph" not in labels
    full = next(b for b in buttons(first) if b["text"] == "الفقرة كاملة")
    api.press_button(first, full["callback_data"], user_id=chat, language_code="ar")
    shown = api.wait_for(lambda m: m["chat"]["id"] == chat and f"{FSI}{PARAGRAPH}{PDI}"
                         in m["text"])
    assert "الفقرة 11" in shown[0]["text"]
    up = next(b for b in buttons(first) if b["text"] == "👍")
    pressed = api.press_button(first, up["callback_data"], user_id=chat, language_code="ar")
    assert api.answer_to(pressed)["text"] == "شكرًا على تقييمك!"


def test_a_french_user_gets_french_and_no_directional_marks(bot, api):
    _, (start,) = ask(api, "/start", "fr-FR")
    assert start["text"].startswith("Bonjour !")
    _, (shown,) = ask(api, "/help", "fr")
    assert shown["text"].startswith("Mode d’emploi\n")
    assert "/about montre ce que je sais." in shown["text"]
    _, (abstained,) = ask(api, OFF_TOPIC, "fr")
    assert abstained["text"].startswith("Les articles ne répondent pas à cette question.")
    _, replies = ask(api, QUESTION, "fr")
    assert SENTENCE in replies[0]["text"] and "paragraphe 11" in replies[0]["text"]
    assert {"Paragraphe entier", "👍", "👎"} <= {b["text"] for b in buttons(replies[0])}
    for message in (start, shown, abstained, replies[0]):
        assert not any(mark in message["text"] for mark in (RLI, FSI, PDI))


def test_other_or_missing_languages_get_english(bot, api):
    _, (portuguese,) = ask(api, OFF_TOPIC, "pt-br")
    _, (unknown,) = ask(api, OFF_TOPIC, None)
    for message in (portuguese, unknown):
        assert message["text"].startswith("The articles do not answer that.")


def test_in_a_group_each_reply_is_in_the_language_of_the_user_who_asked(bot, api):
    group = -next(chat_ids)
    api.add_chat(group, "supergroup", "Newsroom")
    arabic = api.user_message(group, f"/ask {OFF_TOPIC}", user_id=11, language_code="ar")
    french = api.user_message(group, f"/ask {OFF_TOPIC}", user_id=12, language_code="fr")
    to_arabic = api.wait_for(lambda m: m["reply_to"] == arabic["message_id"]
                             and m["chat"]["id"] == group)
    to_french = api.wait_for(lambda m: m["reply_to"] == french["message_id"]
                             and m["chat"]["id"] == group)
    assert "لا تجيب المقالات عن ذلك." in to_arabic[0]["text"]
    assert to_french[0]["text"].startswith("Les articles ne répondent pas")


@pytest.fixture(scope="module")
def multilingual_bot(e5_settings):
    """A second bot, EMBEDDING_MODEL=multilingual-e5-small, on its own Bot API server."""
    server = FakeTelegram()
    server.start()
    process = start_bot(server, e5_settings, {
        "EMBEDDING_MODEL": "multilingual-e5-small", "MODELS_DIR": str(e5_settings.models_dir),
        "ENCODER_BACKEND": "torch-fp32"})
    yield server
    process.stop()
    server.stop()


def test_an_arabic_question_gets_the_english_sentence_with_arabic_words_around(
        multilingual_bot):
    api = multilingual_bot
    chat, (first, *_) = ask(api, "من سيطر على مطار طرابلس؟", "ar")
    quoted = first["html"].split(f"<blockquote>{FSI}", 1)[1].split(f"{PDI}</blockquote>", 1)[0]
    assert html.unescape(quoted) in SEED_TEXT and "Airport" in quoted  # verbatim English
    assert f"{RLI}الفقرة" in first["text"]  # the bot's own words in Arabic
    assert "لا تجيب المقالات" not in first["text"]
    _, (refused,) = ask(api, "من فاز بكأس العالم لكرة القدم عام 2010؟", "ar", chat)
    assert "لا تجيب المقالات عن ذلك." in refused["text"]
    _, (chinese, *_) = ask(api, "地铁三号线有多长？", "zh")
    assert "全长二十七公里" in chinese["text"] and "段" in chinese["text"]
