"""Labelled CSVs (`text,label`): loading, label checks, a seeded stratified split, a data hash.

The data lives outside the repository (../shared/data) and is read at run time; the hash of the
files goes into every checkpoint so a model can be traced back to the exact data it saw.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monitor.errors import MonitorError
from monitor.nlp.labels import SENTIMENTS, TOPICS

TASKS: dict[str, tuple[str, ...]] = {"sentiment": SENTIMENTS, "topic": TOPICS}
FILES: dict[str, str] = {
    "sentiment": "tfns_sentiment_train.csv",
    "topic": "tfns_topic_train.csv",
}


class DataError(MonitorError):
    """A data file is missing, malformed or holds labels the model does not know."""


@dataclass(frozen=True)
class Labelled:
    """Texts and their label indices (into the task's label tuple)."""

    texts: list[str]
    labels: np.ndarray  # (N,) int64

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, rows: np.ndarray) -> Labelled:
        return Labelled([self.texts[i] for i in rows], self.labels[rows])


def task_labels(task: str) -> tuple[str, ...]:
    if task not in TASKS:
        raise DataError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
    return TASKS[task]


def read_csv(path: Path | str, names: Sequence[str]) -> Labelled:
    """Read a `text,label` CSV; labels outside `names` are an error that lists them all."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no data file at {path}")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"text", "label"} <= set(reader.fieldnames):
            raise DataError(f"{path}: expected a header with 'text' and 'label' columns")
        rows = [(row["text"] or "", (row["label"] or "").strip()) for row in reader]
    index = {name: i for i, name in enumerate(names)}
    unknown = sorted({label for _, label in rows if label not in index})
    if unknown:
        raise DataError(f"{path}: unknown labels {', '.join(repr(u) for u in unknown)}")
    labels = np.array([index[label] for _, label in rows], dtype=np.int64)
    return Labelled([text for text, _ in rows], labels)


def stratified_split(
    labels: np.ndarray, *, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows): `fraction` of every class held out, at least one per class
    with two or more examples, so rare classes are still measured."""
    rng = np.random.default_rng(seed)
    train: list[np.ndarray] = []
    valid: list[np.ndarray] = []
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        n_valid = round(fraction * len(rows))
        if len(rows) >= 2:
            n_valid = min(max(n_valid, 1), len(rows) - 1)
        valid.append(rows[:n_valid])
        train.append(rows[n_valid:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(valid))


def data_hash(paths: Iterable[Path]) -> str:
    """sha256 over the files' names and bytes, in a fixed order."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
