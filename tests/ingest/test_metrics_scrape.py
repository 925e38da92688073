"""What an operator's Prometheus sees: scrape the real `monitor consume` while it works and check
that the counters agree with what was produced (stored, updated, dead-lettered), that every
pipeline stage is timed, that lag reaches 0 per partition, and that /healthz answers."""

from __future__ import annotations

import json
import urllib.request
from collections import defaultdict

import pytest

from monitor.ingest.lag import consumer_lag
from monitor.nlp.checkpoint import load_checkpoint
from tests.ingest.conftest import Pipeline, free_port, story, wait_until
from tests.ingest.prometheus import by_label, scrape, value

pytestmark = pytest.mark.integration

N_VALID = 300
N_CORRECTIONS = 40
# Malformed records and the `reason_kind` each must be counted under.
MALFORMED: list[tuple[bytes | None, str]] = [
    (b"not json at all", "not_json"),
    (b"[1, 2, 3]", "not_object"),
    (json.dumps({"id": "x"}).encode(), "invalid_fields"),
    (json.dumps({"id": "x", "headline": ""}).encode(), "invalid_fields"),
    (b'{"id": "x", "headline": "caf\xe9"}', "not_utf8"),
    (None, "empty"),
]


def test_metrics_count_what_the_consumer_did(pipeline: Pipeline) -> None:
    port = free_port()
    consumer = pipeline.start_consumer(
        MONITOR_METRICS__PORT=str(port), MONITOR_KAFKA__MAX_POLL_RECORDS="64"
    )

    def metrics_up() -> bool:
        try:
            scrape(port)
        except OSError:
            assert consumer.poll() is None, "the consumer exited"
            return False
        return True

    wait_until(metrics_up, timeout_s=120, what="/metrics answering", logs=pipeline.logs)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"
        health = json.loads(response.read())
    assert health["status"] == "ok" and health["name"] == "consume"

    values: list[tuple[bytes | None, bytes | None]] = [story(i) for i in range(N_VALID)]
    values += [(f"bad-{i}".encode(), raw) for i, (raw, _) in enumerate(MALFORMED)]
    pipeline.produce(values)
    stored = "monitor_stories_processed_total"
    wait_until(
        lambda: value(scrape(port), stored, outcome="stored") >= N_VALID,
        timeout_s=180,
        what=f"{N_VALID} stored stories in /metrics",
        logs=pipeline.logs,
    )
    # Corrections go out only now, so no batch holds a story and its correction together.
    pipeline.produce(
        [story(i, headline=f"CORRECTED: company {i} beats") for i in range(N_CORRECTIONS)]
    )
    lag = "monitor_consumer_lag"
    wait_until(
        lambda: (
            value(scrape(port), stored, outcome="updated") >= N_CORRECTIONS
            and sum(consumer_lag(pipeline.bootstrap, pipeline.topic, pipeline.group).values()) == 0
        ),
        timeout_s=180,
        what="corrections counted and group lag 0",
        logs=pipeline.logs,
    )
    # The gauge is refreshed on every poll: an idle loop reports 0 for each partition it owns.
    wait_until(
        lambda: (
            set(by_label(scrape(port), lag, "partition")) == {"0", "1", "2", "3"}
            and sum(by_label(scrape(port), lag, "partition").values()) == 0
        ),
        timeout_s=30,
        what="lag gauge 0 on all 4 partitions",
        logs=pipeline.logs,
    )

    samples = scrape(port)
    assert value(samples, stored, outcome="stored") == N_VALID
    assert value(samples, stored, outcome="updated") == N_CORRECTIONS
    assert value(samples, stored, outcome="duplicate") == 0
    dead = by_label(samples, "monitor_dead_letters_total", "reason_kind")
    assert sum(dead.values()) == len(MALFORMED)
    expected: dict[str, float] = defaultdict(float)
    for _, kind in MALFORMED:
        expected[kind] += 1
    assert dead == expected
    assert value(samples, "monitor_batch_size_count") > 0
    assert value(samples, "monitor_batch_size_sum") == N_VALID + len(MALFORMED) + N_CORRECTIONS
    for stage in ("decode", "tokenize", "model", "db", "commit"):
        assert value(samples, "monitor_stage_seconds_count", stage=stage) > 0, stage
    lags = {
        dict(labels)["partition"]: v
        for (name, labels), v in samples.items()
        if name == lag and dict(labels)["topic"] == pipeline.topic
    }
    assert lags == {"0": 0, "1": 0, "2": 0, "3": 0}
    version = load_checkpoint(pipeline.checkpoint).version
    info = [dict(labels) for (name, labels), _ in samples.items() if name == "monitor_model_info"]
    assert info == [{"version": version, "device": "cpu"}]
    # The database agrees with the counters.
    assert pipeline.scalar("SELECT count(*) FROM stories") == N_VALID
    assert pipeline.scalar("SELECT count(*) FROM stories WHERE version = 2") == N_CORRECTIONS
    assert pipeline.scalar("SELECT count(*) FROM dead_letters") == len(MALFORMED)

    consumer.terminate()
    assert consumer.wait(timeout=60) == 0
