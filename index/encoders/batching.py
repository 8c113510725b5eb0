"""Batches of texts by padded tokens, longest first, and a progress bar counted in texts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

import numpy as np

MAX_BATCH_TEXTS = 256  # the most texts in one token-budget batch (short sentences)


class Tokenizer(Protocol):
    """What batching needs of a Hugging Face tokenizer."""

    def __call__(self, texts: list[str], **options: object) -> dict[str, list[list[int]]]: ...


def token_batches(lengths: list[int], budget: int) -> list[np.ndarray]:
    """Indexes of texts grouped longest first into batches whose padded size (texts x longest
    length) stays within `budget` tokens: long passages in small batches, short sentences in
    large ones, with little padding."""
    # Longest first, so each batch's texts are of about one length and padding stays small;
    # the caller puts the vectors back in the texts' order.
    order = np.argsort(-np.asarray(lengths), kind="stable")
    batches, start = [], 0
    while start < len(order):
        longest = max(int(lengths[order[start]]), 1)
        size = min(max(budget // longest, 1), MAX_BATCH_TEXTS)
        batches.append(order[start:start + size])
        start += size
    return batches


def token_lengths(tokenizer: Tokenizer, texts: list[str], max_length: int | None) -> list[int]:
    """Each text's length in tokens, special tokens included, as the encoder truncates it."""
    ids = tokenizer(texts, truncation=True, max_length=max_length,
                    return_attention_mask=False, return_token_type_ids=False)["input_ids"]
    return [len(i) for i in ids]


def progress(batches: list[np.ndarray], shown: bool, total: int) -> Iterator[np.ndarray]:
    """Batches, counted in texts on a progress bar when `shown`."""
    if not shown:
        yield from batches
        return
    from tqdm import tqdm

    with tqdm(total=total, unit="texts", desc="Encoding") as bar:
        for batch in batches:
            yield batch
            bar.update(len(batch))
