"""The metrics server: real HTTP on a free port, scraped with urllib."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from monitor import metrics
from monitor.errors import ConfigError
from monitor.metrics import Health, MetricsServer, start_metrics_server

PORT = "MONITOR_METRICS__PORT"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def health(clock: FakeClock) -> Health:
    return Health("consume", max_silence_s=60, clock=clock)


@pytest.fixture
def server(health: Health) -> Iterator[tuple[MetricsServer, int]]:
    started = start_metrics_server("127.0.0.1", 0, health, setting=PORT)
    yield started
    started[0].close()


def _get(port: int, path: str) -> tuple[int, str, str]:
    """(status, content type, body); error statuses are answers here, not exceptions."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def _scrape(port: int) -> dict[tuple[str, frozenset], float]:
    status, content_type, body = _get(port, "/metrics")
    assert status == 200
    assert content_type.startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_port_zero_binds_a_free_port(server: tuple[MetricsServer, int]) -> None:
    assert server[1] > 0
    assert server[0].server_port == server[1]


def test_counters_histograms_and_gauges_are_scraped(server: tuple[MetricsServer, int]) -> None:
    _, port = server
    stored = _value("monitor_stories_processed_total", outcome="stored")
    dead = _value("monitor_dead_letters_total", reason_kind="not_json")
    batches = _value("monitor_batch_size_count")
    model_s = _value("monitor_stage_seconds_sum", stage="model")
    fired = _value("monitor_alerts_fired_total", scope="Financials")

    metrics.STORIES_PROCESSED.labels(outcome="stored").inc(3)
    metrics.DEAD_LETTERS.labels(reason_kind="not_json").inc()
    metrics.BATCH_SIZE.observe(128)
    metrics.STAGE_SECONDS.labels(stage="model").observe(0.25)
    metrics.CONSUMER_LAG.labels(topic="news", partition="0").set(42)
    metrics.set_consumer_lag("news", {1: 7, 2: 0})
    metrics.ALERTS_FIRED.labels(scope="Financials").inc()
    metrics.ALERTS_RESOLVED.inc()
    metrics.WEBHOOK_ATTEMPTS.labels(outcome="delivered").inc()
    metrics.set_model_info("lstm-abc123", "cpu")

    samples = _scrape(port)

    def sample(name: str, **labels: str) -> float:
        return samples[(name, frozenset(labels.items()))]

    assert sample("monitor_stories_processed_total", outcome="stored") == stored + 3
    assert sample("monitor_dead_letters_total", reason_kind="not_json") == dead + 1
    assert sample("monitor_batch_size_count") == batches + 1
    assert sample("monitor_stage_seconds_sum", stage="model") == pytest.approx(model_s + 0.25)
    assert sample("monitor_consumer_lag", topic="news", partition="0") == 42
    assert sample("monitor_consumer_lag", topic="news", partition="1") == 7
    assert sample("monitor_alerts_fired_total", scope="Financials") == fired + 1
    assert sample("monitor_alerts_resolved_total") >= 1
    assert sample("monitor_webhook_attempts_total", outcome="delivered") >= 1
    assert sample("monitor_model_info", version="lstm-abc123", device="cpu") == 1


def test_fixed_label_values_exist_before_the_first_event(server: tuple[MetricsServer, int]) -> None:
    samples = _scrape(server[1])
    names = {(name, labels) for name, labels in samples}
    for outcome in metrics.STORY_OUTCOMES:
        assert ("monitor_stories_processed_total", frozenset({("outcome", outcome)})) in names
    for outcome in metrics.WEBHOOK_OUTCOMES:
        assert ("monitor_webhook_attempts_total", frozenset({("outcome", outcome)})) in names
    for stage in metrics.STAGES:
        assert ("monitor_stage_seconds_count", frozenset({("stage", stage)})) in names


def test_healthz_follows_the_health_object(
    server: tuple[MetricsServer, int], health: Health, clock: FakeClock
) -> None:
    port = server[1]
    status, content_type, body = _get(port, "/healthz")  # start-up grace
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body)["status"] == "ok"

    clock.now += 61  # nothing succeeded for longer than max_silence_s
    status, _, body = _get(port, "/healthz")
    assert status == 503
    assert json.loads(body)["status"] == "unhealthy"

    health.error("db down")
    health.ok(batch=128)
    status, _, body = _get(port, "/healthz")
    report = json.loads(body)
    assert status == 200
    assert report["status"] == "ok" and report["name"] == "consume"
    assert report["batch"] == 128 and report["last_error"] is None
    assert report["last_ok_at"].endswith("Z")

    health.error("db down")
    clock.now += 30  # an error alone does not fail the check while progress is recent
    assert _get(port, "/healthz")[0] == 200
    clock.now += 31
    status, _, body = _get(port, "/healthz")
    assert status == 503 and json.loads(body)["last_error"] == "db down"

    health.ok()
    health.stopping()
    assert _get(port, "/healthz")[0] == 503


def test_healthz_without_a_check_is_ok_and_a_broken_check_is_not() -> None:
    server, port = start_metrics_server("127.0.0.1", 0, setting=PORT)
    try:
        assert _get(port, "/healthz")[0] == 200
        assert _get(port, "/nope")[0] == 404

        def broken() -> tuple[bool, dict]:
            raise RuntimeError("boom")

        server.health_check = broken
        status, _, body = _get(port, "/healthz")
        assert status == 503 and "boom" in json.loads(body)["error"]
    finally:
        server.close()


def test_close_frees_the_port() -> None:
    server, port = start_metrics_server("127.0.0.1", 0, setting=PORT)
    server.close()
    again, same = start_metrics_server("127.0.0.1", port, setting=PORT)
    again.close()
    assert same == port


def test_a_busy_port_is_a_config_error_naming_the_setting() -> None:
    server, port = start_metrics_server("127.0.0.1", 0, setting=PORT)
    try:
        with pytest.raises(ConfigError) as caught:
            start_metrics_server("127.0.0.1", port, setting="MONITOR_METRICS__SCHEDULE_PORT")
        assert caught.value.setting == "MONITOR_METRICS__SCHEDULE_PORT"
        assert f"127.0.0.1:{port}" in caught.value.problem
    finally:
        server.close()
