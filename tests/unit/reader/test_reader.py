"""The shipped reader, loaded and scoring with the real int8 model: its probe check passes, it
prefers the sentence that answers over neighbours that only restate the question, and a broken
weights folder means no reader (a warning), never a crash."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from index import paragraphs, sentences
from reader import Candidate, Reader, load_reader, pair_text
from reader.model import MODEL_FILE, PROBE_TOLERANCE, PROBES_FILE, TOKENIZER_FILE, probe_gap
from reader.model import WEIGHTS_DIR as SHIPPED
from tests.support.workspace import SEED


@pytest.fixture(scope="module")
def reader() -> Reader:
    loaded = load_reader()
    assert loaded is not None
    return loaded


def article_candidates(path: Path) -> list[Candidate]:
    """Every sentence of the article, read with its paragraph neighbours and its title."""
    text = path.read_text(encoding="utf-8")
    found = []
    for para in paragraphs(text):
        s = [text[x.start:x.end] for x in sentences(text, para.start, para.end)]
        found += [Candidate(path.stem, s[i - 1] if i else "", s[i],
                            s[i + 1] if i + 1 < len(s) else "") for i in range(len(s))]
    return found


def test_the_shipped_reader_passes_its_probe_check(reader: Reader) -> None:
    probes = json.loads((SHIPPED / PROBES_FILE).read_text(encoding="utf-8"))
    assert probe_gap(reader, probes) <= PROBE_TOLERANCE
    assert reader.max_candidates >= 5


def test_scores_are_probabilities_one_per_candidate(reader: Reader) -> None:
    candidates = article_candidates(SEED)[:7]
    scores = reader.score("How far is Qasr Bin Ghashir from Tripoli?", candidates)
    assert scores.dtype == np.float32 and scores.shape == (7,)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert reader.score("anything?", []).shape == (0,)


@pytest.mark.parametrize(("question", "answer", "restating"), [
    ("How far is Qasr Bin Ghashir from Tripoli?", "about 26 km from Tripoli",
     "Qasr Bin Ghashir"),
    ("How many bodies of Haftar fighters did Al-Wefaq forces count?", "counted 48 bodies",
     "Haftar"),
])
def test_the_answering_sentence_scores_above_sentences_restating_the_question(
        reader: Reader, question: str, answer: str, restating: str) -> None:
    candidates = article_candidates(SEED)
    scores = reader.score(question, candidates)
    answering = [i for i, c in enumerate(candidates) if answer in c.sentence]
    others = [i for i, c in enumerate(candidates)
              if restating.lower() in c.sentence.lower() and answer not in c.sentence]
    assert len(answering) == 1 and len(others) >= 2
    assert scores[answering[0]] > max(scores[i] for i in others)


def test_the_marked_sentence_survives_long_neighbours() -> None:
    long = " ".join(["word"] * 200)
    question, context = pair_text("Who?", Candidate("Title", long, "The sentence.", long))
    assert question == "Who?"
    assert ">> The sentence. <<" in context and len(context.split()) < 60


def copy_of_weights(tmp_path: Path) -> Path:
    folder = tmp_path / "weights"
    shutil.copytree(SHIPPED, folder)
    return folder


def test_a_corrupted_model_file_means_no_reader_and_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = copy_of_weights(tmp_path)
    model = folder / MODEL_FILE
    model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    with caplog.at_level(logging.WARNING):
        assert load_reader(folder) is None
    assert "no model loaded" in caplog.text


def test_a_missing_tokenizer_means_no_reader(tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    folder = copy_of_weights(tmp_path)
    (folder / TOKENIZER_FILE).unlink()
    with caplog.at_level(logging.WARNING):
        assert load_reader(folder) is None
    assert "no model loaded" in caplog.text


def test_a_model_that_disagrees_with_its_probes_is_refused(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = copy_of_weights(tmp_path)
    probes = json.loads((folder / PROBES_FILE).read_text(encoding="utf-8"))
    for group in probes["groups"]:
        group["torch_probabilities"] = [1.0 - p for p in group["torch_probabilities"]]
    (folder / PROBES_FILE).write_text(json.dumps(probes), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert load_reader(folder) is None
    assert "fails its probe check" in caplog.text
