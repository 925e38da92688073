"""Replay the demo feed as if it were live: the trailing day at once (history, so the spike
detector has a baseline), then the last minutes at `speed`× real time, each story stamped with
the moment it is sent — so the burst at the end unfolds in front of the analyst."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from kafka import KafkaProducer

from monitor.ingest.demo import load_demo_feed


def replay_demo(
    producer: KafkaProducer,
    topic: str,
    *,
    live_minutes: float = 10.0,
    speed: float = 4.0,
    stop: threading.Event | None = None,
) -> int:
    """Send the demo feed; returns how many stories were sent before the end (or `stop`)."""
    stop = stop or threading.Event()
    stories = sorted(load_demo_feed(), key=lambda s: s["published_at"])
    end = _time(stories[-1])
    cutoff = end - timedelta(minutes=live_minutes)
    shift = datetime.now(UTC) - cutoff
    history = [s for s in stories if _time(s) <= cutoff]
    live = [s for s in stories if _time(s) > cutoff]

    for story in history:
        _send(producer, topic, {**story, "published_at": _rfc3339(_time(story) + shift)})
    producer.flush()

    started = time.monotonic()
    sent = len(history)
    for story in live:
        due = started + (_time(story) - cutoff).total_seconds() / speed
        if stop.wait(max(0.0, due - time.monotonic())):
            break
        _send(producer, topic, {**story, "published_at": _rfc3339(datetime.now(UTC))})
        producer.flush()
        sent += 1
    return sent


def _time(story: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(story["published_at"]).replace("Z", "+00:00"))


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _send(producer: KafkaProducer, topic: str, story: dict[str, Any]) -> None:
    producer.send(topic, key=str(story["id"]).encode(), value=json.dumps(story).encode())
