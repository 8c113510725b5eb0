"""Shared fixtures: the real model (loaded once per test process) and real indexes on disk."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.settings import Settings
from index.embed import Encoder
from index.ingest import read_corpus

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "corpus" / "tripoli-airport.txt"


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    return Encoder(Settings().embedding_model)


def make_settings(tmp: Path, **overrides) -> Settings:
    values = {"corpus_dir": tmp / "corpus", "data_dir": tmp / "data",
              "index_dir": tmp / "data" / "index", **overrides}
    return Settings(_env_file=None, **values)


def build(settings: Settings, encoder: Encoder, **kwargs):
    from index.build import build_index

    corpus = read_corpus([settings.corpus_dir])
    return build_index(corpus, settings.resolved_index_dir, settings, encoder=encoder, **kwargs)


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory, encoder) -> Settings:
    """An index of the seed article alone, built once for the session."""
    tmp = tmp_path_factory.mktemp("seed")
    settings = make_settings(tmp)
    settings.corpus_dir.mkdir()
    shutil.copy(SEED, settings.corpus_dir / SEED.name)
    build(settings, encoder)
    return settings


@pytest.fixture(scope="session")
def seed_engine(seed_settings, encoder):
    from bot.answer import Engine

    engine = Engine(seed_settings, encoder=encoder)
    engine.load()
    return engine


@pytest.fixture
def workspace(tmp_path) -> Settings:
    settings = make_settings(tmp_path)
    settings.corpus_dir.mkdir()
    return settings
