"""Small synthetic CSVs written to tmp_path (the real data never enters the repo)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from monitor.nlp.augment import AugmentConfig
from monitor.nlp.distill import UnlabelledConfig
from monitor.nlp.labels import SENTIMENTS, TOPICS
from monitor.nlp.model import LSTMConfig
from monitor.nlp.teacher import TeacherConfig
from monitor.nlp.train import TrainConfig, train

WriteCsv = Callable[..., Path]

SENTIMENT_ROWS = [
    (f"$ABC shares {word} after results number {i}", label)
    for i in range(12)
    for label, word in zip(SENTIMENTS, ("plunge", "hold", "soar"), strict=True)
]
TOPIC_ROWS = [
    (f"{label} story {i}: markets read the news", label) for i in range(4) for label in TOPICS
]
COMPANIES = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay")
# single-entity news headlines (headline label = entity label) ...
SENTFIN_HEADLINE_ROWS = [
    (f"{name} profit {word} in quarter {i}", label)
    for i in range(3)
    for name in COMPANIES
    for label, word in zip(SENTIMENTS, ("slumps", "steady", "jumps"), strict=True)
]
# ... and headlines whose entities disagree: good for the first name, bad for the second
RIVALRY_ROWS = [
    (f"{a} wins contract from {b} after {b} bid collapses ({i})", a, b)
    for i in range(2)
    for a, b in zip(COMPANIES, COMPANIES[1:] + COMPANIES[:1], strict=True)
]
SENTFIN_ENTITY_ROWS = [(text, text.split()[0], label) for text, label in SENTFIN_HEADLINE_ROWS] + [
    row for text, a, b in RIVALRY_ROWS for row in ((text, a, "positive"), (text, b, "negative"))
]
REUTERS_ROWS = [
    (f"{name} shares {word} on {day} trading", "2012-05-22", "")
    for name in COMPANIES
    for word in ("rise", "fall", "drift")
    for day in ("Monday", "Friday")
]


def write_rows(
    path: Path, rows: Sequence[tuple[str, ...]], header: Sequence[str] = ("text", "label")
) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_data_dir(data_dir: Path) -> Path:
    """A ../shared/data look-alike: the five CSVs training reads, tiny and synthetic."""
    data_dir.mkdir(parents=True, exist_ok=True)
    write_rows(data_dir / "tfns_sentiment_train.csv", SENTIMENT_ROWS)
    write_rows(data_dir / "tfns_topic_train.csv", TOPIC_ROWS)
    write_rows(data_dir / "sentfin_headlines.csv", SENTFIN_HEADLINE_ROWS)
    write_rows(data_dir / "sentfin_entities.csv", SENTFIN_ENTITY_ROWS, ("text", "entity", "label"))
    write_rows(
        data_dir / "reuters_headlines_unlabelled.csv",
        REUTERS_ROWS,
        ("text", "date", "reuters_section"),
    )
    return data_dir


@pytest.fixture
def write_csv(tmp_path: Path) -> WriteCsv:
    """write_csv(name, rows[, header]) → path of a CSV in tmp_path (default header text,label)."""
    return lambda name, rows, header=("text", "label"): write_rows(tmp_path / name, rows, header)


TINY = LSTMConfig(
    embed_dim=16, hidden_dim=8, dropout=0.0, embed_dropout=0.0, entity_head=True, entity_hidden=8
)
TINY_TEACHER = TeacherConfig(epochs=1, batch_size=16, max_steps=2, threads=1, members=2)


def tiny_config(data_dir: Path, output: Path, teacher_cache: Path) -> TrainConfig:
    """A few steps of the real pipeline: two MiniLM teachers (2 steps each), an augmented
    transfer set, a distilled tiny student."""
    return TrainConfig(
        data_dir=data_dir,
        output=output,
        epochs=2,
        batch_size=16,
        max_steps=6,
        pretrained_embeddings=False,
        progress=False,
        model=TINY,
        teacher=TINY_TEACHER,
        teacher_cache=teacher_cache,
        augment=AugmentConfig(copies=1),
        unlabelled=UnlabelledConfig(texts=20),
    )


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny end-to-end training run on synthetic CSVs: (checkpoint, data dir)."""
    data_dir = write_data_dir(tmp_path_factory.mktemp("data"))
    config = tiny_config(data_dir, data_dir.parent / "out" / "tiny.pt", data_dir.parent / "cache")
    result = train(config)
    assert result.checkpoint == config.output
    return result.checkpoint, data_dir
