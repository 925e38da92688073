"""The spine, end to end on the real broker and PostgreSQL: 10,000 stories and 200 malformed
records, a consumer killed with SIGKILL twice mid-stream — and still every story exactly once,
every bad record dead-lettered once with its reason, and no lag."""

from __future__ import annotations

import json
import signal
from itertools import cycle

import pytest

from monitor.ingest.lag import consumer_lag
from tests.ingest.conftest import Pipeline, story, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_STORIES = 10_000
N_BAD = 200
# Small batches, so the kills land mid-stream; a lower size limit, so "oversize" is cheap to send.
# A fixed instance id (static membership), as a restarted pod keeps its name: the restarted
# consumer takes the killed one's partitions at once. (noida-db never expires a dead dynamic
# member while a rebalance waits for it; Apache Kafka does, after the session timeout.)
CONSUMER_ENV = {
    "MONITOR_KAFKA__MAX_POLL_RECORDS": "200",
    "MONITOR_KAFKA__MAX_MESSAGE_BYTES": "100000",
    "MONITOR_KAFKA__GROUP_INSTANCE_ID": "consume-0",
}

# One of each malformation of the message contract, and the reason each must produce.
MALFORMED: list[tuple[bytes | None, str]] = [
    (b"this is not json", "not JSON"),
    (b'["an", "array"]', "not a JSON object"),
    (json.dumps({"id": "x"}).encode(), "headline: required field is missing"),
    (json.dumps({"id": "x", "headline": ""}).encode(), "headline: String should have at least"),
    (json.dumps({"headline": "no id"}).encode(), "id: required field is missing"),
    (
        json.dumps({"id": 12, "headline": "wrong type"}).encode(),
        "id: Input should be a valid string",
    ),
    (json.dumps({"id": "x", "headline": "h", "tickers": "AAPL"}).encode(), "tickers"),
    (json.dumps({"id": "x", "headline": "h" * 1001}).encode(), "at most 1000"),
    (json.dumps({"id": "x", "headline": "h", "body": "b" * 200_000}).encode(), "oversize"),
    (b'{"id": "x", "headline": "caf\xe9"}', "not UTF-8"),
    (json.dumps({"id": "x", "headline": "h", "published_at": "tomorrow"}).encode(), "RFC 3339"),
    (None, "tombstone"),
]


def stories_and_bad_records() -> list[tuple[bytes | None, bytes | None]]:
    values: list[tuple[bytes | None, bytes | None]] = []
    bad = cycle(MALFORMED)
    every = N_STORIES // N_BAD
    for i in range(N_STORIES):
        values.append(story(i))
        if i % every == every - 1:
            value, _ = next(bad)
            values.append((f"bad-{i}".encode(), value))
    return values


def test_sigkill_twice_and_still_exactly_once(pipeline: Pipeline) -> None:
    pipeline.produce(stories_and_bad_records())
    stored = lambda: pipeline.scalar("SELECT count(*) FROM stories")  # noqa: E731

    for threshold in (2_000, 5_000):  # kill it twice, mid-stream, with no chance to clean up
        consumer = pipeline.start_consumer(**CONSUMER_ENV)
        wait_until(
            lambda threshold=threshold: stored() >= threshold,
            timeout_s=240,
            what=f"{threshold} stories",
            logs=pipeline.logs,
        )
        consumer.send_signal(signal.SIGKILL)
        consumer.wait()
        assert stored() < N_STORIES, "killed too late to prove anything"

    consumer = pipeline.start_consumer(**CONSUMER_ENV)

    def done():
        return sum(consumer_lag(pipeline.bootstrap, pipeline.topic, pipeline.group).values()) == 0

    wait_until(done, timeout_s=300, what="consumer lag 0", logs=pipeline.logs)

    assert stored() == N_STORIES
    assert pipeline.scalar("SELECT count(*) FROM classifications WHERE is_current") == N_STORIES
    assert (
        pipeline.scalar(
            "SELECT count(*) FROM stories s WHERE (SELECT count(*) FROM classifications c "
            "WHERE c.story_id = s.id AND c.is_current) <> 1"
        )
        == 0
    )
    assert pipeline.scalar("SELECT max(version) FROM stories") == 1
    assert pipeline.scalar("SELECT count(*) FROM dead_letters") == N_BAD
    for _value, reason in MALFORMED:
        n = pipeline.scalar(f"SELECT count(*) FROM dead_letters WHERE error LIKE '%{reason}%'")
        assert n >= N_BAD // len(MALFORMED), (reason, n)

    # Corrections: the same 100 ids with a changed headline update and re-classify those stories.
    pipeline.produce(
        [story(i, headline=f"CORRECTED: company {i} beats estimates") for i in range(100)]
    )
    wait_until(
        lambda: pipeline.scalar("SELECT count(*) FROM stories WHERE version = 2") == 100,
        timeout_s=120,
        what="100 updated stories",
        logs=pipeline.logs,
    )
    assert stored() == N_STORIES
    assert pipeline.scalar("SELECT count(*) FROM stories WHERE headline LIKE 'CORRECTED:%'") == 100
    assert pipeline.scalar("SELECT count(*) FROM classifications") == N_STORIES + 100
    assert (
        pipeline.scalar(
            "SELECT count(*) FROM classifications c JOIN stories s ON s.id = c.story_id "
            "WHERE c.is_current AND c.story_version = 2 AND s.headline LIKE 'CORRECTED:%'"
        )
        == 100
    )

    consumer.send_signal(signal.SIGTERM)  # graceful: finishes its batch, commits, exits 0
    assert consumer.wait(timeout=60) == 0
    assert sum(consumer_lag(pipeline.bootstrap, pipeline.topic, pipeline.group).values()) == 0
