"""Fixtures of the alert tests: traffic shapes (written through the real write path, by
`tests/factories.py`) and a real, signature-checking HTTP receiver."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.detector import DetectionReport, detect
from monitor.alerts.signing import SignatureError, verify
from monitor.settings.alerts import AlertSettings, WebhookEndpoint
from monitor.store import migrate
from monitor.store.db import make_engine, make_sessionmaker
from tests.factories import NewStory, write_stories

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3"  # 30 bytes
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
TOPICS = ("earnings", "macro", "energy", "tech", "banks", "retail", "crypto", "bonds", "fx", "ma")


def spread(
    start: datetime, end: datetime, per_hour: float, negative_share: float
) -> list[tuple[int, datetime, bool]]:
    """(i, published_at, negative) of evenly spaced stories in (start, end], the negatives
    spread evenly too (story i is negative when the running quota grows), so shares are exact."""
    count = max(1, round((end - start).total_seconds() / 3600 * per_hour))
    step = (end - start) / count
    negatives = round(count * negative_share)
    return [
        (i, start + step * (i + 1), (i + 1) * negatives // count > i * negatives // count)
        for i in range(count)
    ]


def _stream(
    topic: str, start: datetime, end: datetime, per_hour: float, negative_share: float, tag: str
) -> list[NewStory]:
    """Evenly spaced stories in (start, end]; every k-th is negative, so shares are exact."""
    stories = []
    for i, published_at, negative in spread(start, end, per_hour, negative_share):
        stories.append(
            NewStory(
                f"{tag} {topic} story {i}",
                published_at=published_at,
                topic=topic,
                sentiment="negative" if negative else "neutral",
                confidence=0.5 + 0.49 * ((i * 37) % 100) / 100,
                source="test",
            )
        )
    return stories


@dataclass
class Stories:
    """Traffic shapes for the detector, written through the ingestion write path."""

    sessions: sessionmaker[Session]

    def one(
        self,
        *,
        topic: str = "earnings",
        sentiment: str = "negative",
        published_at: datetime = T0,
        confidence: float = 0.9,
        headline: str = "Shares slump",
        external_id: str | None = None,
    ) -> int:
        story = NewStory(
            headline,
            published_at=published_at,
            topic=topic,
            sentiment=sentiment,
            confidence=confidence,
            source="test",
            external_id=external_id,
        )
        return write_stories(self.sessions, [story])[0]

    def stream(
        self,
        topic: str,
        start: datetime,
        end: datetime,
        *,
        per_hour: float,
        negative_share: float,
        tag: str = "calm",
    ) -> list[int]:
        return write_stories(
            self.sessions, _stream(topic, start, end, per_hour, negative_share, tag)
        )

    def calm_market(self, now: datetime, *, topics: tuple[str, ...] = TOPICS) -> None:
        """7 h of 15%-negative traffic, 50 stories/hour on each topic, up to `now`: a market big
        enough that one topic's burst does not move it past `min_share_increase`."""
        for topic in topics:
            self.stream(topic, now - timedelta(hours=7), now, per_hour=50, negative_share=0.15)


@pytest.fixture
def make_story(clean_db: sessionmaker[Session]) -> Stories:
    """Factory: `make_story.one(...)`, `.stream(...)`, `.calm_market(now)` on a clean database."""
    return Stories(clean_db)


@dataclass
class Received:
    webhook_id: str
    type: str
    alert_id: int
    payload: dict[str, Any]
    status: int


@dataclass
class Receiver:
    """A real HTTP server on loopback that verifies every Standard Webhooks signature.

    `mode` picks the answer: 'ok' (204), 'unavailable' (503), 'gone' (410); `stop()` closes the
    socket so connections are refused, `start()` binds the same port again.
    """

    secret: str = SECRET
    mode: str = "ok"
    requests: list[Received] = field(default_factory=list)
    bad_signatures: int = 0
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def endpoint(self) -> WebhookEndpoint:
        return WebhookEndpoint(url=self.url, secret=self.secret)  # type: ignore[arg-type]

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                try:
                    verify(receiver.secret, dict(self.headers.items()), body)
                except SignatureError:
                    receiver.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                status = {"ok": 204, "unavailable": 503, "gone": 410}[receiver.mode]
                payload = json.loads(body)
                with receiver._lock:
                    receiver.requests.append(
                        Received(
                            self.headers["webhook-id"],
                            payload["type"],
                            payload["data"]["alert_id"],
                            payload,
                            status,
                        )
                    )
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_port
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_receiver() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def make(**kwargs: Any) -> Receiver:
        server = Receiver(**kwargs)
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def alert_settings(**overrides: Any) -> AlertSettings:
    """Test defaults: quick to fire and resolve, fast retries."""
    values: dict[str, Any] = {
        "window_s": 3600,
        "baseline_s": 6 * 3600,
        "min_window_count": 10,
        "fire_z": 3.0,
        "resolve_z": 1.0,
        "persistence_evaluations": 2,
        "resolve_evaluations": 2,
        "cooldown_s": 1800,
        "retry_base_s": 0.05,
        "retry_max_delay_s": 0.2,
        "webhook_timeout_s": 2.0,
    }
    values.update(overrides)
    return AlertSettings(**values)


def detect_at(sessions: sessionmaker[Session], settings: AlertSettings, at: Any) -> DetectionReport:
    """One detector pass with `at` as the wall clock, in its own transaction, announcing to the
    settings' webhooks with links to https://dash.example."""
    with sessions.begin() as session:
        return detect(
            session=session,
            settings=settings,
            endpoints=settings.webhooks,
            dashboard_url="https://dash.example",
            clock=lambda: at,
        )


@contextmanager
def sqlite_sessions(path: Path) -> Iterator[sessionmaker[Session]]:
    """Sessions on a migrated SQLite database at `path` (the detector's SQL must run there too);
    the engine is disposed at the end."""
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()
