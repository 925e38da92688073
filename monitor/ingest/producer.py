"""Publish a JSONL or CSV file of stories to the news topic (replays, demos, load tests)."""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from monitor.errors import MonitorError


def read_stories(path: Path) -> Iterator[dict[str, Any]]:
    """Stories from `.jsonl` (one object per line) or `.csv` (header row; `text` → headline)."""
    if not path.is_file():
        raise MonitorError(f"no such file: {path}")
    if path.suffix.lower() == ".csv":
        yield from _read_csv(path)
    else:
        yield from _read_jsonl(path)


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                story = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MonitorError(f"{path}:{number}: not JSON ({exc.msg})") from None
            yield story


def _read_csv(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            story: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
            if "headline" not in story and "text" in story:
                story["headline"] = story.pop("text")
            story.setdefault("source", "csv")
            if "id" not in story:
                digest = hashlib.sha1(str(story.get("headline", "")).encode()).hexdigest()
                story["id"] = digest[:16]
            yield story


def publish(
    producer: KafkaProducer,
    topic: str,
    stories: Iterable[dict[str, Any]],
    *,
    rate: float | None = None,
) -> int:
    """Send each story keyed by its id (so updates of a story keep their order); `rate` is
    stories per second (None = as fast as the broker takes them). Returns the count sent."""
    interval = 1.0 / rate if rate else 0.0
    started = time.monotonic()
    sent = 0
    for story in stories:
        if interval:
            delay = started + sent * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        key = str(story.get("id", "")).encode("utf-8") or None
        producer.send(topic, key=key, value=json.dumps(story, ensure_ascii=False).encode("utf-8"))
        sent += 1
    producer.flush()
    return sent
