"""The test workspace: the project root, the seed article, settings and indexes in a temporary
folder."""

from __future__ import annotations

from pathlib import Path

from bot.settings import Settings
from index import build_index
from index.encoders import Encoder
from index.sources import read_corpus

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "corpus" / "tripoli-airport.txt"


def make_settings(tmp: Path, **overrides) -> Settings:
    values = {"corpus_dir": tmp / "corpus", "data_dir": tmp / "data",
              "index_dir": tmp / "data" / "index", **overrides}
    return Settings(_env_file=None, **values)


def build(settings: Settings, encoder: Encoder, **kwargs):
    corpus = read_corpus([settings.corpus_dir])
    return build_index(corpus, settings.resolved_index_dir, settings, encoder=encoder, **kwargs)
