"""The index build by stage: what changed (`changes`), the plan (`plan`), the segments it
writes (`segments`, a legacy version converted by `legacy`), the manifest (`manifest`), the
closing summary (`summary`), and the FAISS build that runs them (`run`). The PostgreSQL
build (index.pg) plans with the same `Changes` and embeds through `embed_articles`."""

from index.build.changes import Changes, compare, corpus_fingerprint, everything, up_to_date
from index.build.manifest import chunking, manifest_of
from index.build.plan import disagreement, materialize, outdated
from index.build.run import build_index
from index.build.segments import build_encoder, embed_articles, encoded_texts
from index.build.summary import BuildSummary, fill_summary

__all__ = [
    "BuildSummary",
    "Changes",
    "build_encoder",
    "build_index",
    "chunking",
    "compare",
    "corpus_fingerprint",
    "disagreement",
    "embed_articles",
    "encoded_texts",
    "everything",
    "fill_summary",
    "manifest_of",
    "materialize",
    "outdated",
    "up_to_date",
]
