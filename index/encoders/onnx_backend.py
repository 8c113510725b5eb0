"""The ONNX Runtime encoder (fp32 or int8 model) and the export of a BERT graph to ONNX.

The ONNX model is exported by the project from the local sentence-transformers model (never
downloaded), cached beside the index in `INDEX_DIR/encoders/` (see `export`)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.encoders.base import Encoder
from index.encoders.batching import token_batches, token_lengths
from index.encoders.models import max_tokens, prompts

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase


class OnnxEncoder(Encoder):
    """Mean-pooled, normalised MiniLM vectors from an ONNX Runtime session."""

    def __init__(self, onnx_path: Path, model_path: Path, name: str, backend: str,
                 batch_size: int = 16, max_length: int | None = None, threads: int | None = None,
                 batch_tokens: int = 0):
        import onnxruntime as ort
        from transformers import AutoTokenizer

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # No busy-waiting between runs: spinning threads took the cores from everything else
        # (torch's one-question encode went from 11 to 55 ms p95 beside it; ONNX's own p95 from
        # 5 to 11 ms under interleaved load).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(onnx_path), options,
                                            providers=["CPUExecutionProvider"])
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.tokenizer: PreTrainedTokenizerBase = AutoTokenizer.from_pretrained(str(model_path))
        self.name, self.path, self.backend = name, model_path, backend
        self.query_prompt, self.passage_prompt = prompts(model_path)
        self.batch_size, self.batch_tokens = batch_size, batch_tokens
        self.max_length = max_length or max_tokens(model_path)
        self.dimension = int(self.session.get_outputs()[0].shape[-1])

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        if self.batch_tokens and len(texts) > 1:
            batches = token_batches(token_lengths(self.tokenizer, texts, self.max_length),
                                    self.batch_tokens)
        else:
            order = np.argsort([-len(t) for t in texts])  # similar lengths, less padding
            batches = [order[i:i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for chosen in batches:
            batch = self.tokenizer([texts[i] for i in chosen], padding=True, truncation=True,
                                   max_length=self.max_length, return_tensors="np")
            feed = {k: v.astype(np.int64) for k, v in batch.items() if k in self.inputs}
            if "token_type_ids" in self.inputs and "token_type_ids" not in feed:  # XLM-R
                feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
            hidden = self.session.run(None, feed)[0]
            mask = batch["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            out[chosen] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True),
                                           1e-12, None)
        return out


def export_graph(bert: torch.nn.Module, tokenizer: PreTrainedTokenizerBase, path: Path) -> None:
    """Export a BERT model's last hidden state to ONNX (dynamic batch and token axes)."""
    import torch

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):  # keyword args for BERT
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids)[0]

    sample = tokenizer(["a probe sentence"], return_tensors="pt")
    if "token_type_ids" not in sample:  # XLM-R has one token type: all zeros
        sample["token_type_ids"] = torch.zeros_like(sample["input_ids"])
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about the BERT graph
        torch.onnx.export(Wrapped().eval(), (sample["input_ids"], sample["attention_mask"],
                                              sample["token_type_ids"]), str(path),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["last_hidden_state"], opset_version=17,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                        "token_type_ids": axes, "last_hidden_state": axes},
                          dynamo=False)
