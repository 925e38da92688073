"""Outages of the real dependencies under a running `monitor consume`: PostgreSQL (through a
proxy we cut) and the broker (a noida-db we stop and start again) go away and come back. The
same consumer process must ride it out, commit no offset for a batch it could not write, and
end with every story stored exactly once and no lag."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from monitor.broker import EmbeddedBroker
from monitor.ingest.lag import consumer_lag
from tests.ingest.conftest import Pipeline, new_pipeline, story, wait_until
from tests.ingest.netutil import TcpProxy

pytestmark = pytest.mark.integration

# Small batches, so an outage lands between batches of one stream.
CONSUMER_ENV = {"MONITOR_KAFKA__MAX_POLL_RECORDS": "50"}
OUTAGE_S = 5.0


def lag(setup: Pipeline) -> int:
    return sum(consumer_lag(setup.bootstrap, setup.topic, setup.group).values())


def end_offsets(setup: Pipeline) -> dict[int, int]:
    probe = KafkaConsumer(bootstrap_servers=setup.bootstrap, client_id="test-ends")
    try:
        partitions = sorted(probe.partitions_for_topic(setup.topic) or ())
        ends = probe.end_offsets([TopicPartition(setup.topic, p) for p in partitions])
        return {tp.partition: int(offset) for tp, offset in ends.items()}
    finally:
        probe.close()


def committed_offsets(setup: Pipeline) -> dict[int, int]:
    admin = KafkaAdminClient(bootstrap_servers=setup.bootstrap, client_id="test-committed")
    try:
        group = admin.list_group_offsets(setup.group).get(setup.group, {})
        return {tp.partition: meta.offset for tp, meta in group.items()}
    finally:
        admin.close()


def stored(setup: Pipeline) -> int:
    return setup.scalar("SELECT count(*) FROM stories")


def assert_alive(consumer: subprocess.Popen[bytes], setup: Pipeline) -> None:
    assert consumer.poll() is None, f"consumer exited with {consumer.returncode}\n{setup.logs()}"


def assert_exactly_once(setup: Pipeline, n: int) -> None:
    assert stored(setup) == n
    assert setup.scalar("SELECT count(DISTINCT external_id) FROM stories") == n
    assert setup.scalar("SELECT max(version) FROM stories") == 1  # no record applied twice
    assert setup.scalar("SELECT count(*) FROM classifications") == n
    assert setup.scalar("SELECT count(*) FROM classifications WHERE is_current") == n
    assert setup.scalar("SELECT count(*) FROM dead_letters") == 0


def wait_all_stored(setup: Pipeline, n: int, timeout_s: float = 90) -> None:
    """Every story stored and every offset committed (the order the loop guarantees)."""
    wait_until(
        lambda: stored(setup) >= n, timeout_s=timeout_s, what=f"{n} stories", logs=setup.logs
    )
    wait_until(lambda: lag(setup) == 0, timeout_s=timeout_s, what="lag 0", logs=setup.logs)


def test_database_outage_is_ridden_out(pipeline: Pipeline) -> None:
    proxy = TcpProxy(("127.0.0.1", 5432))
    port = proxy.start()
    try:
        assert ":5432/" in pipeline.db_url
        via_proxy = pipeline.db_url.replace(":5432/", f":{port}/")
        consumer = pipeline.start_consumer(MONITOR_DATABASE__URL=via_proxy, **CONSUMER_ENV)
        pipeline.produce([story(i) for i in range(200)])
        wait_all_stored(pipeline, 200, timeout_s=120)  # includes the consumer's start-up
        assert proxy.connections > 0, "the consumer did not reach PostgreSQL through the proxy"

        proxy.stop()  # PostgreSQL is gone: pooled connections cut, new ones refused
        pipeline.produce([story(i) for i in range(200, 400)])
        wait_until(
            lambda: "database unavailable" in pipeline.logs(),
            timeout_s=60,
            what="the consumer to hit the outage",
            logs=pipeline.logs,
        )
        time.sleep(OUTAGE_S)  # an outage of some length: the consumer keeps retrying meanwhile
        assert_alive(consumer, pipeline)
        assert stored(pipeline) == 200
        # No offset committed for a batch that was not written: all 200 new records still lag.
        assert lag(pipeline) == 200

        proxy.start()  # the same port: the consumer's URL is valid again
        wait_all_stored(pipeline, 400)
        assert_alive(consumer, pipeline)
        assert_exactly_once(pipeline, 400)
    finally:
        proxy.stop()


def test_broker_restart_is_ridden_out(
    own_broker: EmbeddedBroker, make_pg_database, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    setup = new_pipeline(own_broker.bootstrap_servers, make_pg_database, tiny_checkpoint, tmp_path)
    restarted: EmbeddedBroker | None = None
    consumer = setup.start_consumer(**CONSUMER_ENV)
    try:
        setup.produce([story(i) for i in range(200)])
        wait_all_stored(setup, 200, timeout_s=120)

        ends, committed = end_offsets(setup), committed_offsets(setup)
        assert committed == ends and sum(ends.values()) == 200

        own_broker.stop()
        time.sleep(OUTAGE_S)
        assert_alive(consumer, setup)

        restarted = EmbeddedBroker(own_broker.data_dir, port=own_broker.port)
        assert restarted.start() == setup.bootstrap
        # noida-db keeps the log and the group's committed offsets across a restart (read at
        # once, before the consumer can have rejoined and committed anything). It forgets the
        # group's members: the consumer's next commit gets IllegalGeneration, it rejoins and
        # re-reads from the committed offsets, and the idempotent writes absorb the re-reads.
        assert end_offsets(setup) == ends
        assert committed_offsets(setup) == committed

        setup.produce([story(i) for i in range(200, 400)])
        wait_all_stored(setup, 400)
        assert_alive(consumer, setup)
        assert_exactly_once(setup, 400)
    finally:
        consumer.kill()
        consumer.wait()
        if restarted is not None:
            restarted.stop()
