"""Passages and sentences keep exact offsets into the article text."""

from hypothesis import given
from hypothesis import strategies as st

from index.chunk import paragraphs, passages, sentences, word_count
from tests.support.workspace import SEED


def seed_text() -> str:
    return SEED.read_text(encoding="utf-8").strip()


def test_seed_paragraphs_are_exact_slices():
    text = seed_text()
    expected = [p.strip() for p in text.split("\n\n") if p.strip()]
    spans = paragraphs(text)
    assert [text[s.start:s.end] for s in spans] == expected


def test_every_seed_passage_and_sentence_is_an_exact_slice():
    text = seed_text()
    result = passages(text, max_words=180)
    # 32 paragraphs; the headings "Five axes", "Political developments" and the stray line
    # "to Cairo" are fragments that join their neighbour's passage.
    assert len(paragraphs(text)) == 32 and len(result) == 29
    for passage in result:
        assert passage.sentences
        assert passage.start == passage.sentences[0].start
        assert passage.end == passage.sentences[-1].end
        for sentence in passage.sentences:
            piece = text[sentence.start:sentence.end]
            assert piece == piece.strip() and piece


def test_fragments_join_a_neighbour_and_never_stand_alone():
    text = ("Arsenal 2-1 Chelsea\n\nThe match was played in heavy rain on Saturday at the "
            "stadium.\n\nSubs not used: Smith\n\nA second paragraph with enough words in "
            "it follows.\n\n1600 GMT")
    result = passages(text, max_words=180)
    pieces = [text[p.start:p.end] for p in result]
    assert pieces == ["Arsenal 2-1 Chelsea\n\nThe match was played in heavy rain on Saturday at "
                      "the stadium.", "Subs not used: Smith\n\nA second paragraph with enough "
                      "words in it follows.\n\n1600 GMT"]
    assert [p.paragraph for p in result] == [2, 4]  # the paragraph that is not a fragment
    assert passages("1600 GMT", 180)[0].paragraph == 1  # an article of fragments only


def test_sentence_split_respects_abbreviations_and_quotes():
    text = 'Mr. Smith went to Washington. He said "hi." Then U.S. forces left at 3 p.m. today. Ok?'
    pieces = [text[s.start:s.end] for s in sentences(text)]
    assert pieces == ["Mr. Smith went to Washington.", 'He said "hi."',
                      "Then U.S. forces left at 3 p.m. today.", "Ok?"]


def test_long_paragraph_becomes_windows_of_whole_sentences():
    text = " ".join(f"Sentence number {i} has exactly seven words." for i in range(40))
    result = passages(text, max_words=50)
    assert len(result) > 1
    assert all(word_count(text[p.start:p.end]) <= 50 for p in result)
    assert {p.paragraph for p in result} == {1}
    covered = [s for p in result for s in p.sentences]
    assert len(covered) == 40


@given(st.text(alphabet=st.sampled_from(list("ab .!?\n\t\"'’Q")), max_size=300))
def test_offsets_exact_for_any_text(text):
    for passage in passages(text, max_words=5):
        assert text[passage.start:passage.end].strip() == text[passage.start:passage.end]
        for s in passage.sentences:
            assert passage.start <= s.start < s.end <= passage.end
