"""Training the reader (never imported at run time): `python -m reader.train --out DIR`."""

from reader.train.export import auc, platt, write_folder
from reader.train.fit import Recipe, base_model, train
from reader.train.pairs import Group, PairBuilder
from reader.train.source import load_articles

__all__ = ["Group", "PairBuilder", "Recipe", "auc", "base_model", "load_articles", "platt",
           "train", "write_folder"]
