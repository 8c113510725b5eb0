"""Articles and questions in any language: detection, and sentences that end where the script
ends them, each span exactly the article's own characters."""

from __future__ import annotations

import pytest

from index import detect_language, primary_language, same_language, sentences, word_count

ARABIC = ("افتتحت البلدية يوم الأحد جسرًا جديدًا فوق النهر بطول 420 مترًا. هل يكفي الجسر "
          "وحده؟ يرى المهندسون أن الطريق الدائري يحتاج إلى توسعة قبل نهاية العام۔ وقال رئيس "
          "البلدية، في مؤتمر صحفي، إن العمل سيبدأ في الربيع.")
CHINESE = "新港市的地铁三号线于周一正式开通，全长二十七公里。票价会上涨吗？交通局说不会！明年再议。"


@pytest.mark.parametrize(("text", "language"), [
    ("من سيطر على مطار طرابلس؟", "ar"),
    ("Qui a repris l'aéroport de Tripoli ?", "fr"),
    ("Wie weit ist Qasr Bin Ghashir von Tripolis entfernt?", "de"),
    ("¿Quién ganó las elecciones en el país?", "es"),
    ("Кто контролирует аэропорт Триполи?", "ru"),
    ("谁控制了的黎波里机场？", "zh"),
    ("Who retook Tripoli International Airport?", "en"),
    ("چه کسی فرودگاه طرابلس را پس گرفت؟", "fa"),
])
def test_a_questions_language_is_detected_offline(text, language):
    assert detect_language(text) == language


def test_a_name_alone_or_no_letters_is_in_no_language_and_matches_any():
    assert detect_language("Haftar") is None
    assert detect_language("2019 ?!") is None
    assert same_language(None, "ar") and same_language("ar-EG", "ar")
    assert not same_language("fr", "en")
    assert primary_language("zh-Hans") == "zh" and primary_language("") is None


def test_arabic_sentences_end_at_the_arabic_question_mark_and_full_stop_not_the_comma():
    spans = sentences(ARABIC)
    texts = [ARABIC[s.start:s.end] for s in spans]
    assert texts == ["افتتحت البلدية يوم الأحد جسرًا جديدًا فوق النهر بطول 420 مترًا.",
                     "هل يكفي الجسر وحده؟",
                     "يرى المهندسون أن الطريق الدائري يحتاج إلى توسعة قبل نهاية العام۔",
                     "وقال رئيس البلدية، في مؤتمر صحفي، إن العمل سيبدأ في الربيع."]


def test_chinese_sentences_end_at_full_width_marks_without_spaces():
    texts = [CHINESE[s.start:s.end] for s in sentences(CHINESE)]
    assert texts == ["新港市的地铁三号线于周一正式开通，全长二十七公里。", "票价会上涨吗？",
                     "交通局说不会！", "明年再议。"]
    assert word_count("全长二十七公里") == 7  # a passage's length counts characters as words
    assert word_count("The metro opened on Monday.") == 5
