"""Scaling out as docs/design.md says: two `monitor consume` processes in one group split a topic's
4 partitions, and together store every story exactly once — each process only what its own
partitions carried."""

from __future__ import annotations

import signal
import subprocess

import pytest

from monitor.ingest.lag import consumer_lag
from tests.ingest.conftest import Pipeline, free_port, story, wait_until
from tests.ingest.prometheus import Samples, scrape, value

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_STORIES = 4_000
PARTITIONS = {0, 1, 2, 3}  # the settings' default for a topic the fixture creates


def owned_partitions(samples: Samples, topic: str) -> set[int]:
    """Partitions a process reports lag for: those it owns now (lost ones are dropped)."""
    return {
        int(dict(labels)["partition"])
        for (name, labels), _ in samples.items()
        if name == "monitor_consumer_lag" and dict(labels)["topic"] == topic
    }


def test_two_consumers_split_the_partitions_and_store_each_story_once(
    pipeline: Pipeline,
) -> None:
    # Static membership: noida-db never expires a dead dynamic member while a rebalance waits.
    ports = [free_port(), free_port()]
    consumers: list[subprocess.Popen[bytes]] = [
        pipeline.start_consumer(
            MONITOR_METRICS__PORT=str(port),
            MONITOR_KAFKA__GROUP_INSTANCE_ID=f"scale-{n}",
            MONITOR_KAFKA__MAX_POLL_RECORDS="200",
        )
        for n, port in enumerate(ports)
    ]

    def owned() -> list[set[int]]:
        result = []
        for consumer, port in zip(consumers, ports, strict=True):
            assert consumer.poll() is None, f"consumer exited\n{pipeline.logs()}"
            try:
                result.append(owned_partitions(scrape(port), pipeline.topic))
            except OSError:
                result.append(set())
        return result

    def split() -> bool:
        a, b = owned()
        return bool(a) and bool(b) and not a & b and a | b == PARTITIONS

    # Produce only once both own partitions, or the first could take the whole stream.
    wait_until(split, timeout_s=180, what="both consumers owning partitions", logs=pipeline.logs)
    assignment = owned()

    pipeline.produce([story(i) for i in range(N_STORIES)])
    wait_until(
        lambda: sum(consumer_lag(pipeline.bootstrap, pipeline.topic, pipeline.group).values()) == 0,
        timeout_s=240,
        what="group lag 0",
        logs=pipeline.logs,
    )
    assert owned() == assignment, "the group rebalanced mid-test; the split proves nothing"

    stored = [
        value(scrape(port), "monitor_stories_processed_total", outcome="stored") for port in ports
    ]
    assert all(n > 0 for n in stored), stored
    assert sum(stored) == N_STORIES
    # Each process stored exactly what its partitions carried: no story went to both.
    for n, partitions in zip(stored, assignment, strict=True):
        listed = ", ".join(map(str, sorted(partitions)))
        assert n == pipeline.scalar(
            f"SELECT count(*) FROM stories WHERE kafka_partition IN ({listed})"
        )
    assert pipeline.scalar("SELECT count(*) FROM stories") == N_STORIES
    assert pipeline.scalar("SELECT count(DISTINCT kafka_partition) FROM stories") == 4
    assert pipeline.scalar("SELECT max(version) FROM stories") == 1
    assert (
        pipeline.scalar(
            "SELECT count(*) FROM stories s WHERE (SELECT count(*) FROM classifications c "
            "WHERE c.story_id = s.id AND c.is_current) <> 1"
        )
        == 0
    )
    assert pipeline.scalar("SELECT count(*) FROM classifications") == N_STORIES

    for consumer in consumers:
        consumer.send_signal(signal.SIGTERM)
    for consumer in consumers:
        assert consumer.wait(timeout=60) == 0
