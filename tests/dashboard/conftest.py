"""Dashboard fixtures: factories for stories (+ current classification), alerts, dead letters,
and a seeded PostgreSQL database the pages are pointed at.
"""

from __future__ import annotations

import itertools
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from monitor.dashboard_server import start_dashboard, stop_dashboard
from monitor.store.models import Alert, Classification, DeadLetter, Story
from tests.ingest.conftest import free_port

NOW = datetime.now(UTC).replace(microsecond=0)
_ids = itertools.count(1)

MakeStory = Callable[..., Story]


@pytest.fixture
def make_story(clean_db: sessionmaker[Session]) -> MakeStory:
    """Insert a Story and its current Classification; keyword arguments override defaults.

    `versions=2` also stores an older, superseded classification, as an update does.
    """

    def make(
        headline: str = "Acme shares rise after earnings beat",
        *,
        source: str = "newswire",
        topic: str = "Earnings",
        sentiment: str = "positive",
        confidence: float = 0.9,
        published_at: datetime | None = None,
        url: str | None = None,
        external_id: str | None = None,
        versions: int = 1,
        model_version: str = "lstm-test-1",
    ) -> Story:
        published = published_at or NOW - timedelta(minutes=5)
        score = {"negative": -confidence, "neutral": 0.0, "positive": confidence}[sentiment]
        with clean_db.begin() as session:
            story = Story(
                source=source,
                external_id=external_id or f"ext-{next(_ids)}",
                headline=headline,
                url=url,
                published_at=published,
                ingested_at=published + timedelta(seconds=2),
                updated_at=published + timedelta(seconds=2),
                kafka_topic="news",
                kafka_partition=0,
                kafka_offset=next(_ids),
                version=versions,
            )
            session.add(story)
            session.flush()
            for version in range(1, versions + 1):
                session.add(
                    Classification(
                        story_id=story.id,
                        story_version=version,
                        model_version=model_version,
                        topic=topic if version == versions else "Markets",
                        topic_confidence=0.8,
                        sentiment=sentiment if version == versions else "neutral",
                        sentiment_confidence=confidence,
                        sentiment_score=score if version == versions else 0.0,
                        probabilities={"sentiment": {sentiment: confidence}},
                        is_current=version == versions,
                        classified_at=published + timedelta(seconds=3 + version),
                    )
                )
        return story

    return make


@pytest.fixture
def make_alert(clean_db: sessionmaker[Session]) -> Callable[..., Alert]:
    """Insert an alert with plausible figures; keyword arguments override any column."""

    def make(**overrides: Any) -> Alert:
        window_end = overrides.pop("window_end", NOW - timedelta(minutes=1))
        values: dict[str, Any] = {
            "fingerprint": f"fp-{next(_ids)}",
            "scope": "Energy | Oil",
            "status": "firing",
            "window_start": window_end - timedelta(minutes=15),
            "window_end": window_end,
            "baseline_start": window_end - timedelta(hours=6),
            "baseline_end": window_end - timedelta(minutes=15),
            "window_count": 40,
            "window_negative": 30,
            "baseline_count": 400,
            "baseline_negative": 80,
            "observed_share": 0.75,
            "baseline_share": 0.2,
            "statistic": 8.1,
            "threshold": 3.0,
            "p_value": 1e-9,
            "story_ids": [],
            "opened_at": window_end,
        }
        values.update(overrides)
        with clean_db.begin() as session:
            alert = Alert(**values)
            session.add(alert)
        return alert

    return make


@pytest.fixture
def make_dead_letter(clean_db: sessionmaker[Session]) -> Callable[..., DeadLetter]:
    def make(error: str = "missing or empty headline", value: bytes = b'{"id": "x"}') -> DeadLetter:
        with clean_db.begin() as session:
            letter = DeadLetter(
                kafka_topic="news",
                kafka_partition=1,
                kafka_offset=next(_ids),
                key=None,
                value=value,
                error=error,
                received_at=NOW - timedelta(minutes=2),
            )
            session.add(letter)
        return letter

    return make


@pytest.fixture
def seeded(
    make_story: MakeStory,
    make_alert: Callable[..., Alert],
    make_dead_letter: Callable[..., DeadLetter],
) -> dict[str, Any]:
    """A small, recognisable world: oil stories going sour, an alert on them, one DLQ record."""
    oil = [
        make_story(
            f"Crude slumps as OPEC talks collapse {i}",
            topic="Energy | Oil",
            sentiment="negative",
            source="reuters-like",
            published_at=NOW - timedelta(minutes=3 + i),
            url="https://example.com/oil" if i == 0 else None,
        )
        for i in range(6)
    ]
    earnings = make_story(
        "Acme shares rise after earnings beat", published_at=NOW - timedelta(hours=2)
    )
    updated = make_story(
        "Globex cuts guidance (corrected)",
        topic="Company | Product News",
        sentiment="negative",
        versions=2,
        published_at=NOW - timedelta(minutes=30),
    )
    firing = make_alert(story_ids=[s.id for s in oil])
    resolved = make_alert(
        scope="*",
        status="resolved",
        window_end=NOW - timedelta(hours=5),
        resolved_at=NOW - timedelta(hours=4),
        observed_share=0.5,
        baseline_share=0.3,
    )
    letter = make_dead_letter()
    return {
        "oil": oil,
        "earnings": earnings,
        "updated": updated,
        "firing": firing,
        "resolved": resolved,
        "dead_letter": letter,
    }


@pytest.fixture
def dashboard_env(pg_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[str]:
    """Point the app (run in this process by AppTest) at the test database and a dead broker."""
    monkeypatch.setenv("MONITOR_DATABASE__URL", pg_url)
    monkeypatch.setenv("MONITOR_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:1")
    monkeypatch.setenv("MONITOR_MODEL__CHECKPOINT", str(tmp_path / "absent.pt"))
    monkeypatch.chdir(tmp_path)  # no stray .env file
    yield pg_url


def wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@pytest.fixture
def dashboard_url(pg_url: str, tmp_path: Path) -> Iterator[str]:
    """The dashboard served by `streamlit run` against the test database (seed it in the test)."""
    port = free_port()
    log = (tmp_path / "streamlit.log").open("wb")
    process = start_dashboard(
        host="127.0.0.1",
        port=port,
        env={
            "MONITOR_DATABASE__URL": pg_url,
            "MONITOR_KAFKA__BOOTSTRAP_SERVERS": "127.0.0.1:1",
            "MONITOR_DASHBOARD__REFRESH_S": "2",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok",
            60,
            "streamlit to answer /_stcore/health",
        )
        yield url
    finally:
        stop_dashboard(process, timeout=5)
        log.close()
