"""The demo feed `monitor up` and the compose `producer` replay: `demo_feed.jsonl`, a day of
synthetic wire headlines ending in a negative burst on one topic (made by
`monitor.ingest.demo_generator`, which says what is in it).

Times in the file are relative to a fixed anchor; `load_demo_feed` shifts them to "now", so a
replay always looks current.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def demo_feed_path() -> Path:
    """The committed JSONL feed next to this module."""
    return Path(__file__).with_name("demo_feed.jsonl")


def rfc3339(ts: datetime) -> str:
    """The contract's `published_at` format, in UTC with a Z."""
    return ts.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def load_demo_feed(now: datetime | None = None) -> list[dict[str, Any]]:
    """The committed feed, every `published_at` shifted so the newest story is at `now`.

    Shifting keeps the spacing, so the background still forms a trailing day and the burst
    still falls inside the detector's recent window when the feed is replayed.
    """
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    with demo_feed_path().open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    newest = max(_parse_time(r["published_at"]) for r in records)
    shift = now - newest
    for record in records:
        record["published_at"] = rfc3339(_parse_time(record["published_at"]) + shift)
    return records
