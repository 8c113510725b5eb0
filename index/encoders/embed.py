"""Old import path, kept only until every importer uses the `index.encoders` facade (then
delete this module): `Encoder` here is the torch encoder, `index.encoders.TorchEncoder`."""

from index.encoders.batching import MAX_BATCH_TEXTS, token_batches, token_lengths
from index.encoders.factory import passage_encoder, query_encoder, question_candidates
from index.encoders.models import ModelError, resolve_model
from index.encoders.torch_backend import TorchEncoder as Encoder

__all__ = ["MAX_BATCH_TEXTS", "Encoder", "ModelError", "passage_encoder", "query_encoder",
           "question_candidates", "resolve_model", "token_batches", "token_lengths"]
