"""Shared fixtures: the real model (loaded once per test process) and real indexes on disk."""

from __future__ import annotations

import shutil

import pytest

from bot.settings import Settings
from index.encoders import TorchEncoder
from tests.support.workspace import SEED, build, make_settings


@pytest.fixture(scope="session")
def encoder() -> TorchEncoder:
    return TorchEncoder(Settings().embedding_model)


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
    from bot.engine.answer import Engine

    engine = Engine(seed_settings, encoder=encoder)
    engine.load()
    return engine


@pytest.fixture
def workspace(tmp_path) -> Settings:
    settings = make_settings(tmp_path)
    settings.corpus_dir.mkdir()
    return settings
