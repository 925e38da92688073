"""Small synthetic `text,label` CSVs written to tmp_path (the real data never enters the repo)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from monitor.nlp.labels import SENTIMENTS, TOPICS

WriteCsv = Callable[..., Path]

SENTIMENT_ROWS = [
    (f"$ABC shares {word} after results number {i}", label)
    for i in range(12)
    for label, word in zip(SENTIMENTS, ("plunge", "hold", "soar"), strict=True)
]
TOPIC_ROWS = [
    (f"{label} story {i}: markets read the news", label) for i in range(4) for label in TOPICS
]


def write_rows(path: Path, rows: Sequence[tuple[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    return path


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteCsv:
    """write_csv(name, rows) → path of a `text,label` CSV in tmp_path holding (text, label) rows."""
    return lambda name, rows: write_rows(tmp_path / name, rows)
