"""The reader: a small cross-encoder that reads a question against a candidate sentence (with
its neighbours and the article's title) and gives the calibrated probability that the sentence
answers it. Run time is ONNX Runtime int8 and the fast tokenizer; training lives in
`reader.train` (never imported at run time). See docs/reader.md."""

from reader.model import PROBE_TOLERANCE, WEIGHTS_DIR, Reader, ReaderConfig, load_reader
from reader.text import Candidate, pair_text

__all__ = ["PROBE_TOLERANCE", "WEIGHTS_DIR", "Candidate", "Reader", "ReaderConfig",
           "load_reader", "pair_text"]
