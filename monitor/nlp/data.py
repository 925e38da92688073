"""Labelled CSVs (`text,label`, `text,entity,label`): loading, label checks, a seeded stratified
split, a data hash.

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


@dataclass(frozen=True)
class EntityRows:
    """`text,entity,label` rows: the sentiment towards one named entity of a text."""

    texts: list[str]
    entities: list[str]
    labels: np.ndarray  # (N,) int64

    def __len__(self) -> int:
        return len(self.texts)


def read_csv(path: Path | str, names: Sequence[str]) -> Labelled:
    """Read a `text,label` CSV; labels outside `names` are an error that lists them all."""
    rows = read_rows(path, ("text", "label"))
    return Labelled([row["text"] for row in rows], _label_ids(path, rows, names))


def read_entity_csv(path: Path | str, names: Sequence[str]) -> EntityRows:
    """Read a `text,entity,label` CSV (entity-level sentiment, as in SEntFiN)."""
    rows = read_rows(path, ("text", "entity", "label"))
    return EntityRows(
        [row["text"] for row in rows],
        [row["entity"] for row in rows],
        _label_ids(path, rows, names),
    )


def read_rows(path: Path | str, columns: Sequence[str]) -> list[dict[str, str]]:
    """The CSV's rows with (at least) `columns`; a missing file or column is a DataError."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"no data file at {path}")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not set(columns) <= set(reader.fieldnames):
            wanted = ", ".join(repr(c) for c in columns)
            raise DataError(f"{path}: expected a header with the columns {wanted}")
        return [{c: (row[c] or "") for c in columns} for row in reader]


def _label_ids(path: Path | str, rows: list[dict[str, str]], names: Sequence[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(names)}
    labels = [row["label"].strip() for row in rows]
    unknown = sorted({label for label in labels if label not in index})
    if unknown:
        raise DataError(
            f"{path}: unknown labels {', '.join(repr(u) for u in unknown)}; "
            f"valid labels: {', '.join(names)}"
        )
    return np.array([index[label] for label in labels], dtype=np.int64)


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
