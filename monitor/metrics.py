"""Prometheus metrics of the daemons, and the small HTTP server that exposes them.

Every metric is defined once here, on prometheus-client's default registry, so `consume` and
`schedule` import the same objects and dashboards can rely on one set of names. Label values are
small fixed vocabularies (the tuples below): a story id or an error text as a label would make
every scrape grow without bound.

The server answers `/metrics` (Prometheus text format) and `/healthz` (JSON; 200 while the
registered health check says healthy, 503 otherwise) so an orchestrator can restart a daemon
whose loop has stalled even though its process is still alive.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)

from monitor.errors import ConfigError

STORY_OUTCOMES: tuple[str, ...] = ("stored", "updated", "duplicate")
STAGES: tuple[str, ...] = ("decode", "tokenize", "model", "db", "commit")
WEBHOOK_OUTCOMES: tuple[str, ...] = ("delivered", "retry", "failed", "disabled")

STORIES_PROCESSED = Counter(
    "monitor_stories_processed_total",
    "Stories written by the consumer: stored (new), updated (correction), duplicate (no change).",
    ["outcome"],
)
DEAD_LETTERS = Counter(
    "monitor_dead_letters_total",
    "Records that broke the message contract and went to dead_letters, by kind of reason.",
    ["reason_kind"],
)
BATCH_SIZE = Histogram(
    "monitor_batch_size",
    "Records per polled batch (one model forward and one DB transaction each).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096),
)
STAGE_SECONDS = Histogram(
    "monitor_stage_seconds",
    "Wall time of one batch in each pipeline stage.",
    ["stage"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CONSUMER_LAG = Gauge(
    "monitor_consumer_lag",
    "Records in a partition not yet committed by the consumer group.",
    ["topic", "partition"],
)
ALERTS_FIRED = Counter(
    "monitor_alerts_fired_total",
    "Spike alerts opened, by scope (a topic, or 'overall').",
    ["scope"],
)
ALERTS_RESOLVED = Counter(
    "monitor_alerts_resolved_total",
    "Spike alerts resolved.",
)
WEBHOOK_ATTEMPTS = Counter(
    "monitor_webhook_attempts_total",
    "Webhook delivery attempts by outcome (retry = failed, another attempt is scheduled).",
    ["outcome"],
)
# Exposed as monitor_model_info{version="...", device="..."} 1.
MODEL_INFO = Info("monitor_model", "The classifier this process serves.")

# Children created up front so every series exists at 0 before the first event: rate() and
# absent() alerts then behave from the first scrape.
for _outcome in STORY_OUTCOMES:
    STORIES_PROCESSED.labels(outcome=_outcome)
for _stage in STAGES:
    STAGE_SECONDS.labels(stage=_stage)
for _outcome in WEBHOOK_OUTCOMES:
    WEBHOOK_ATTEMPTS.labels(outcome=_outcome)


def set_model_info(version: str, device: str) -> None:
    """Record which checkpoint and device serve classifications (joinable in PromQL)."""
    MODEL_INFO.info({"version": version, "device": device})


def set_consumer_lag(topic: str, lag: Mapping[int, int]) -> None:
    """Publish {partition: lag} of the partitions this consumer owns (`monitor.ingest.observe`)."""
    for partition, value in lag.items():
        CONSUMER_LAG.labels(topic=topic, partition=str(partition)).set(value)


HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]


class Health:
    """Liveness of a daemon loop: healthy while it reports progress often enough.

    The loop calls `ok()` after every successful poll/batch (consume) or tick (schedule), and
    `error()` when an iteration fails; `/healthz` turns unhealthy once nothing succeeded for
    `max_silence_s` (counting from start-up, so a slow first connect gets the same grace), or
    when `stopping()` was called so a draining process is taken out of rotation.
    """

    def __init__(
        self, name: str, max_silence_s: float = 120.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.name = name
        self.max_silence_s = max_silence_s
        self._clock = clock
        self._lock = threading.Lock()
        self._started_at = clock()
        self._last_ok_at: float | None = None
        self._last_error: str | None = None
        self._stopping = False
        self._details: dict[str, Any] = {}

    def ok(self, **details: Any) -> None:
        """Mark progress now; `details` (e.g. batch=128) are shown on /healthz."""
        with self._lock:
            self._last_ok_at = self._clock()
            self._last_error = None
            self._details.update(details)

    def error(self, message: str) -> None:
        """Remember the latest failure; health turns bad only if no success follows in time."""
        with self._lock:
            self._last_error = message

    def stopping(self) -> None:
        """Report unhealthy from now on: the process is shutting down."""
        with self._lock:
            self._stopping = True

    def __call__(self) -> tuple[bool, dict[str, Any]]:
        with self._lock:
            now = self._clock()
            since = self._last_ok_at if self._last_ok_at is not None else self._started_at
            silent_s = now - since
            healthy = not self._stopping and silent_s <= self.max_silence_s
            report: dict[str, Any] = {
                "status": "ok" if healthy else "unhealthy",
                "name": self.name,
                "uptime_s": round(now - self._started_at, 3),
                "last_ok_at": _iso(self._last_ok_at),
                "seconds_since_ok": round(silent_s, 3),
                "max_silence_s": self.max_silence_s,
                "stopping": self._stopping,
                "last_error": self._last_error,
                **self._details,
            }
        return healthy, report


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


class MetricsServer(ThreadingHTTPServer):
    """The HTTP server, serving from a daemon thread; `close()` stops it (ExitStack-friendly)."""

    daemon_threads = True
    health_check: HealthCheck | None = None

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: MetricsServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY))
        elif path == "/healthz":
            healthy, report = self._health()
            body = json.dumps(report, default=str).encode()
            self._send(200 if healthy else 503, "application/json", body)
        else:
            self._send(404, "text/plain; charset=utf-8", b"try /metrics or /healthz\n")

    def _health(self) -> tuple[bool, dict[str, Any]]:
        check = self.server.health_check
        if check is None:
            return True, {"status": "ok"}
        try:
            healthy, report = check()
        except Exception as exc:  # a broken check must read as unhealthy, not kill the server
            return False, {"status": "unhealthy", "error": f"health check failed: {exc!r}"}
        report.setdefault("status", "ok" if healthy else "unhealthy")
        return healthy, report

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would drown the daemon's own log; stay quiet."""


def start_metrics_server(
    host: str, port: int, health: HealthCheck | None = None, *, setting: str
) -> tuple[MetricsServer, int]:
    """Serve /metrics and /healthz on host:port (0 = a free port) from a background thread.

    Returns the server (call `close()` on shutdown) and the port actually bound. `health` is
    any callable returning (healthy, report), usually a `Health`; without one /healthz is 200.
    A port that is taken (or a host we cannot bind) is a ConfigError naming `setting`, the
    port's variable: only port 0 means "any free port", so we never silently move elsewhere.
    """
    try:
        server = MetricsServer((host, port), _Handler)
    except OSError as exc:
        raise ConfigError(
            setting,
            f"cannot serve metrics on {host}:{port} ({exc.strerror or exc}); choose a free "
            "port, 0 for any free port, or MONITOR_METRICS__ENABLED=false",
        ) from None
    server.health_check = health
    thread = threading.Thread(
        target=server.serve_forever, name=f"metrics-{server.server_port}", daemon=True
    )
    thread.start()
    return server, int(server.server_port)
