"""Fine-tuning: MiniLM's first layers as a cross-encoder on the training groups, seeded and
time-bounded (the model as it stands at the deadline is the result)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reader.model import encode_texts
from reader.text import pair_text
from reader.train.pairs import Group, PairBuilder


@dataclass
class Recipe:
    layers: int = 3  # of MiniLM's 6: the latency budget's choice (docs/reader.md)
    max_length: int = 64  # tokens of question + candidate text
    groups_per_batch: int = 4
    learning_rate: float = 2e-4
    warmup_steps: int = 30
    listwise_weight: float = 1.0  # softmax over a group's candidates, beside the pointwise BCE
    checkpoint_minutes: float = 4.0


def base_model(path: Path, layers: int) -> Any:
    """MiniLM with a new one-output head, cut to its first `layers` layers."""
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(str(path), num_labels=1)
    model.bert.encoder.layer = model.bert.encoder.layer[:layers]
    model.config.num_hidden_layers = layers
    # The token embeddings stay as pre-trained: a third of the backward pass and the optimiser's
    # work on a CPU, and rare words keep the bi-encoder's meaning.
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    return model


def group_stream(builder: PairBuilder, articles: list[int], rng: random.Random,
                 buffer_articles: int = 6) -> Iterator[Group]:
    """Groups of the training articles, shuffled across a few articles at a time, forever."""
    while True:
        order = articles[:]
        rng.shuffle(order)
        for start in range(0, len(order), buffer_articles):
            groups = [g for a in order[start:start + buffer_articles] for g in builder.groups(a)]
            rng.shuffle(groups)
            yield from groups


def batch_tensors(tokenizer: Any, groups: list[Group]) -> tuple[dict[str, Any], Any]:
    import torch

    pairs = [pair_text(g.question, c) for g in groups for c in g.candidates]
    feed = {k: torch.from_numpy(v) for k, v in encode_texts(tokenizer, pairs).items()}
    labels = torch.tensor([label for g in groups for label in g.labels], dtype=torch.float32)
    return feed, labels


def loss_of(logits: Any, labels: Any, groups: int, recipe: Recipe) -> Any:
    """Pointwise BCE (the score's level: abstention) plus a softmax over each group that has
    an answer (its order: which sentence answers)."""
    import torch
    import torch.nn.functional as F

    loss = F.binary_cross_entropy_with_logits(logits, labels)
    by_group, targets = logits.view(groups, -1), labels.view(groups, -1)
    answered = targets.sum(dim=1) > 0
    if answered.any() and recipe.listwise_weight:
        loss = loss + recipe.listwise_weight * F.cross_entropy(
            by_group[answered], targets[answered].argmax(dim=1))
    return loss if isinstance(loss, torch.Tensor) else torch.tensor(loss)


def learning_rate(recipe: Recipe, step: int, progress: float) -> float:
    """Linear warm-up, then linear decay over the run's time (or steps) to a tenth."""
    warm = min(1.0, (step + 1) / recipe.warmup_steps)
    return recipe.learning_rate * warm * max(0.1, 1.0 - progress)


def train(model: Any, tokenizer: Any, stream: Iterator[Group], recipe: Recipe,
          deadline: float, steps: int | None, checkpoint: Path) -> dict[str, float]:
    """Train until the deadline (or `steps`); returns the run's figures."""
    import torch
    from tqdm import tqdm

    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                  lr=recipe.learning_rate, weight_decay=0.01)
    start = time.monotonic()
    saved, step, seen, losses = start, 0, 0, []
    model.train()
    with tqdm(total=steps, desc="reader", unit="batch") as bar:
        while (step < steps) if steps else time.monotonic() < deadline:
            groups = [next(stream) for _ in range(recipe.groups_per_batch)]
            feed, labels = batch_tensors(tokenizer, groups)
            progress = step / steps if steps else (time.monotonic() - start) / (deadline - start)
            for param_group in optimiser.param_groups:
                param_group["lr"] = learning_rate(recipe, step, progress)
            loss = loss_of(model(**feed).logits.view(-1), labels, len(groups), recipe)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            losses.append(loss.item())
            step, seen = step + 1, seen + len(groups)
            bar.update(1)
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.3f}")
            if time.monotonic() - saved > recipe.checkpoint_minutes * 60:
                torch.save(model.state_dict(), checkpoint)
                saved = time.monotonic()
    model.eval()
    torch.save(model.state_dict(), checkpoint)
    return {"steps": step, "groups": seen, "pairs": seen * len(groups[0].candidates),
            "seconds": round(time.monotonic() - start, 1),
            "final_loss": round(float(np.mean(losses[-50:])), 4)}
