"""Publish a JSONL or CSV file of stories to the news topic (replays, demos, load tests).

Every line is checked against the message contract with the consumer's own `decode` before it
is sent, so a file's bad lines are reported here, with their line numbers and reasons, instead
of being dead-lettered later. With `strict`, the whole file is checked before anything is sent.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaProducer

from monitor.errors import InvalidMessage, MonitorError
from monitor.ingest.schema import Limits, decode

UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class Story:
    """A line that meets the contract: its key (the story id), the bytes to publish, and the
    feed it names (with the id, the story's identity)."""

    line: int
    key: bytes
    value: bytes
    source: str = "unknown"


@dataclass(frozen=True)
class Rejected:
    """A line that does not, why, and what it held (a CSV row as the JSON it became)."""

    line: int
    reason: str
    value: bytes = b""


FORMATS = ("jsonl", "csv")


def file_format(path: Path, fmt: str | None = None) -> str:
    """`fmt` when given, else from the file name: `.csv` is CSV, anything else JSONL."""
    if fmt is not None:
        return fmt
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def read_stories(
    path: Path, limits: Limits, *, fmt: str | None = None, default_source: str | None = None
) -> Iterator[Story | Rejected]:
    """Stories from JSONL (one object per line) or CSV (header row; `text` → headline), each
    checked by the contract's `decode`; a bad line is a `Rejected`, a bad file an error.
    `fmt` overrides the format the file name implies; `default_source` is the `source` of a
    story that names none (else the contract's `unknown`, or `csv` for a CSV)."""
    if not path.is_file():
        raise MonitorError(f"no such file: {path}")
    if file_format(path, fmt) == "csv":
        yield from _read_csv(path, limits, default_source or "csv")
    else:
        yield from _read_jsonl(path, limits, default_source)


def _checked(
    line: int, value: bytes, limits: Limits, default_source: str | None = None
) -> Story | Rejected:
    try:
        item = decode(value, limits=limits)
    except InvalidMessage as exc:
        return Rejected(line, exc.reason, value)
    if default_source and "source" not in item.model_fields_set:
        # Safe to parse now: decode has bounded its depth, size and numbers.
        value = json.dumps({**json.loads(value), "source": default_source}).encode("utf-8")
        item = item.model_copy(update={"source": default_source})
    return Story(line, item.id.encode("utf-8"), value, item.source)


def _read_jsonl(
    path: Path, limits: Limits, default_source: str | None
) -> Iterator[Story | Rejected]:
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            value = line.removeprefix(UTF8_BOM) if number == 1 else line
            value = value.strip()
            if value:
                yield _checked(number, value, limits, default_source)


def _check_utf8(path: Path) -> None:
    """A CSV is decoded as a whole, so check all of it before the first row is sent."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
                offset += len(chunk)
            except UnicodeDecodeError as exc:
                raise MonitorError(
                    f"{path} is not UTF-8 text ({exc.reason} at byte {offset + exc.start}): "
                    "convert it first, e.g. with `iconv -f latin1 -t utf-8`"
                ) from None


def _read_csv(path: Path, limits: Limits, default_source: str) -> Iterator[Story | Rejected]:
    _check_utf8(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield from _csv_rows(path, csv.DictReader(handle), limits, default_source)


def _csv_rows(
    path: Path, reader: csv.DictReader[str], limits: Limits, default_source: str
) -> Iterator[Story | Rejected]:
    columns = [c for c in reader.fieldnames or [] if c]
    if not {"text", "headline"} & set(columns):
        raise MonitorError(
            f"{path} has no `text` or `headline` column (header: {', '.join(columns)[:200]}); "
            "a CSV needs a comma-separated header row naming one of them"
        )
    for row in reader:
        story: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
        if "headline" not in story and "text" in story:
            story["headline"] = story.pop("text")
        story.setdefault("source", default_source)
        if "id" not in story and "headline" in story:
            story["id"] = hashlib.sha1(str(story["headline"]).encode()).hexdigest()[:16]
        value = json.dumps(story, ensure_ascii=False).encode("utf-8")
        yield _checked(reader.line_num, value, limits)


def publish(
    producer: KafkaProducer,
    topic: str,
    stories: Iterable[Story],
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
        producer.send(topic, key=story.key, value=story.value)
        sent += 1
    producer.flush()
    return sent
