"""Replay the demo feed as if it were live: the trailing day at once (history, so the spike
detector has a baseline), then the last minutes at `speed`× real time, each story stamped with
the moment it is sent — so the burst at the end unfolds in front of the analyst."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
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
    skip: int = 0,
    on_progress: Callable[[int], None] = lambda sent: None,
) -> int:
    """Send the demo feed; returns how many stories were sent before the end (or `stop`).

    `skip` resumes an interrupted replay after that many stories; `on_progress(sent)` is
    called once the stories so far are on the broker (flushed), to persist that count."""
    stop = stop or threading.Event()
    stories = sorted(load_demo_feed(), key=lambda s: s["published_at"])
    end = _time(stories[-1])
    cutoff = end - timedelta(minutes=live_minutes)
    shift = datetime.now(UTC) - cutoff
    history = [s for s in stories if _time(s) <= cutoff]
    live = [s for s in stories if _time(s) > cutoff]

    sent = skip
    for story in history[skip:]:
        if stop.is_set():
            break
        _send(producer, topic, {**story, "published_at": _rfc3339(_time(story) + shift)})
        sent += 1
    producer.flush()
    on_progress(sent)

    started = time.monotonic()
    for story in live[max(0, sent - len(history)) :]:
        due = started + (_time(story) - cutoff).total_seconds() / speed
        if stop.wait(max(0.0, due - time.monotonic())):
            break
        _send(producer, topic, {**story, "published_at": _rfc3339(datetime.now(UTC))})
        producer.flush()
        sent += 1
        on_progress(sent)
    return sent


def _time(story: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(story["published_at"]).replace("Z", "+00:00"))


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _send(producer: KafkaProducer, topic: str, story: dict[str, Any]) -> None:
    producer.send(topic, key=str(story["id"]).encode(), value=json.dumps(story).encode())
