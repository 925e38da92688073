"""Checks behind MODEL.md's "two checks on the shipped model" (no training):

1. the shipped model's predicted sentiment shares per validation split against the true ones,
   and on 20,000 Reuters headlines (does it over-call "neutral" on news?);
2. how each labelled source marks "wins a contract" headlines (the label-convention clash that
   the domain token of runs T6/T7 addresses).

    .venv/bin/python scripts/experiments/label_shares.py
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from monitor.nlp.checkpoint import load_checkpoint
from monitor.nlp.classifier import Classifier
from monitor.nlp.sources import SENTIMENT, load_sources
from monitor.nlp.text import normalize
from monitor.nlp.train import TrainConfig
from monitor.settings import SHIPPED_CHECKPOINT

WINS = r"\bwins?\b.*\b(?:contract|order|deal)"
BAGS = r"\bbags?\b"


def shares(values: np.ndarray) -> str:
    counts = np.bincount(values, minlength=3) / max(len(values), 1)
    return " / ".join(f"{100 * c:.1f}" for c in counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=TrainConfig().data_dir)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    classifier = Classifier(load_checkpoint(SHIPPED_CHECKPOINT), device="cpu")
    config = TrainConfig()
    sources = load_sources(args.data_dir, fraction=config.val_fraction, seed=config.seed)
    print("negative / neutral / positive, % of texts")
    for key in ("tfns/sentiment", "sentfin"):
        split = sources.valid[key]
        labels = split.labels[:, SENTIMENT]
        texts = [t for t, label in zip(split.texts, labels, strict=True) if label >= 0]
        predicted = classifier.scores(texts).sentiment.argmax(-1).numpy()
        print(
            f"{key} validation: predicted {shares(predicted)}, true {shares(labels[labels >= 0])}"
        )
    reuters = pd.read_csv(
        args.data_dir / "reuters_headlines_unlabelled.csv", keep_default_na=False
    ).sample(20_000, random_state=1)
    predicted = classifier.scores([normalize(t) for t in reuters.text]).sentiment.argmax(-1)
    print(f"reuters, 20,000 headlines: predicted {shares(predicted.numpy())}")
    for name, pattern in (("tfns_sentiment_train.csv", WINS), ("sentfin_headlines.csv", BAGS)):
        table = pd.read_csv(args.data_dir / name, keep_default_na=False)
        hits = table[table.text.str.contains(pattern, case=False, regex=True)]
        print(f"{name} rows matching {pattern!r}: {hits.label.value_counts().to_dict()}")


if __name__ == "__main__":
    main()
