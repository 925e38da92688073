"""The broker restarts mid-stream (same port, same data directory) while a producer keeps
sending: the running `monitor consume` recovers without a restart of its own, and every record
the broker kept is stored exactly once (a record the producer could not send while the broker was
down is the producer's to resend; none the broker acknowledged may be missing)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from kafka import KafkaConsumer

from monitor.broker import EmbeddedBroker
from monitor.ingest import kafka
from monitor.ingest.lag import consumer_lag
from tests.ingest.conftest import Pipeline, new_pipeline, story, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N = 3_000
RATE = 100.0
DOWN_S = 10.0


def stream(setup: Pipeline, done: threading.Event, failed: list[int]) -> None:
    """N stories at RATE per second; sends the broker refuses while down are noted, not fatal."""
    producer = kafka.make_producer(setup.kafka)
    started = time.monotonic()
    for i in range(N):
        time.sleep(max(0.0, started + i / RATE - time.monotonic()))
        key, value = story(i)
        try:
            future = producer.send(setup.topic, key=key, value=value)
            future.add_errback(lambda _exc, i=i: failed.append(i))
        except Exception:  # metadata unavailable while the broker is down
            failed.append(i)
    producer.flush(timeout=120)
    producer.close()
    done.set()


def stored_ids(setup: Pipeline) -> set[str]:
    engine = sa.create_engine(setup.db_url)
    try:
        with engine.connect() as connection:
            return set(connection.scalars(sa.text("SELECT external_id FROM stories")))
    finally:
        engine.dispose()


def kept_ids(setup: Pipeline) -> list[str]:
    """Every story id in the topic, read back from the broker after the restart."""
    reader = KafkaConsumer(
        setup.topic,
        bootstrap_servers=setup.bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=5000,
        client_id="test-readback",
    )
    try:
        return [record.key.decode() for record in reader]
    finally:
        reader.close()


def test_broker_restart_mid_stream(
    own_broker: EmbeddedBroker, make_pg_database, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    setup = new_pipeline(own_broker.bootstrap_servers, make_pg_database, tiny_checkpoint, tmp_path)
    stored = lambda: setup.scalar("SELECT count(*) FROM stories")  # noqa: E731
    consumer = setup.start_consumer(MONITOR_KAFKA__MAX_POLL_RECORDS="100")
    restarted: EmbeddedBroker | None = None
    try:
        done, failed = threading.Event(), []
        threading.Thread(target=stream, args=(setup, done, failed), daemon=True).start()
        wait_until(lambda: stored() >= 800, timeout_s=120, what="800 stories", logs=setup.logs)

        own_broker.stop()  # mid-stream: the producer is still sending
        time.sleep(DOWN_S)
        assert consumer.poll() is None, f"consumer exited with the broker\n{setup.logs()}"
        restarted = EmbeddedBroker(own_broker.data_dir, port=own_broker.port)
        assert restarted.start() == setup.bootstrap
        back_at = time.monotonic()

        wait_until(done.is_set, timeout_s=180, what="the producer to finish")
        lag = lambda: sum(consumer_lag(setup.bootstrap, setup.topic, setup.group).values())  # noqa: E731
        wait_until(lambda: lag() == 0, timeout_s=180, what="lag 0", logs=setup.logs)
        caught_up_s = time.monotonic() - back_at

        kept = kept_ids(setup)
        assert consumer.poll() is None, f"consumer exited\n{setup.logs()}"
        assert len(set(kept)) >= 800
        stored_now = stored_ids(setup)
        assert set(kept) <= stored_now, "a record the broker kept was not stored"
        # noida-db can lose the tail of its log when it stops (a known limit of the embedded
        # broker, not of Kafka): a record it delivered before stopping may be gone from its log
        # after the restart. Such a record was stored, once; nothing else may be there.
        lost_by_broker = stored_now - set(kept)
        assert lost_by_broker <= {story(i)[0].decode() for i in range(N)}
        assert len(lost_by_broker) <= 20, f"{len(lost_by_broker)} stored stories not in the log"
        assert stored() == len(stored_now)
        assert setup.scalar("SELECT count(*) FROM stories WHERE version > 1") == 0  # none twice
        assert setup.scalar("SELECT count(*) FROM classifications WHERE is_current") == stored()
        assert setup.scalar("SELECT count(*) FROM dead_letters") == 0
        print(
            f"\nbroker down {DOWN_S:g} s mid-stream at {RATE:g}/s: {len(set(kept))} of {N} "
            f"kept by the broker ({len(failed)} sends refused while down), all stored once "
            f"({len(lost_by_broker)} more stored that the broker lost from its log); "
            f"lag 0 {caught_up_s:.1f} s after the broker returned"
        )
    finally:
        consumer.kill()
        consumer.wait()
        if restarted is not None:
            restarted.stop()
