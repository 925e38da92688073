"""PostgreSQL goes away for 60 s (a TCP proxy we cut) while 5,000 stories stream in at a steady
rate: the same `monitor consume` process rides it out, commits no offset for what it could not
write, and ends with exactly 5,000 stories, each classified once, and no lag. The figures
(recovery after the database returns, catch-up time) are printed for the README."""

from __future__ import annotations

import threading
import time

import pytest

from monitor.ingest import kafka
from monitor.ingest.lag import consumer_lag
from tests.ingest.conftest import Pipeline, story, wait_until
from tests.ingest.netutil import TcpProxy

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N = 5_000
RATE = 50.0  # stories per second: 100 s of stream, the outage in the middle of it
OUTAGE_S = 60.0


def stream(setup: Pipeline, done: threading.Event) -> None:
    """N stories at RATE per second, as a live feed would send them."""
    producer = kafka.make_producer(setup.kafka)
    started = time.monotonic()
    for i in range(N):
        time.sleep(max(0.0, started + i / RATE - time.monotonic()))
        key, value = story(i)
        producer.send(setup.topic, key=key, value=value)
    producer.flush()
    producer.close()
    done.set()


def test_sixty_second_database_outage_under_a_steady_stream(pipeline: Pipeline) -> None:
    proxy = TcpProxy(("127.0.0.1", 5432))
    port = proxy.start()
    via_proxy = pipeline.db_url.replace(":5432/", f":{port}/")
    stored = lambda: pipeline.scalar("SELECT count(*) FROM stories")  # noqa: E731
    lag = lambda: sum(  # noqa: E731
        consumer_lag(pipeline.bootstrap, pipeline.topic, pipeline.group).values()
    )
    try:
        consumer = pipeline.start_consumer(
            MONITOR_DATABASE__URL=via_proxy, MONITOR_KAFKA__MAX_POLL_RECORDS="100"
        )
        produced = threading.Event()
        threading.Thread(target=stream, args=(pipeline, produced), daemon=True).start()
        wait_until(lambda: stored() >= 500, timeout_s=120, what="500 stories", logs=pipeline.logs)

        proxy.stop()
        cut_at = time.monotonic()
        time.sleep(5)  # a batch in flight when the link went may still have committed
        frozen = stored()
        time.sleep(OUTAGE_S - 5)
        assert consumer.poll() is None, f"consumer exited during the outage\n{pipeline.logs()}"
        assert stored() == frozen, "stories were stored while the database was unreachable"
        assert lag() > 0
        assert "database unavailable" in pipeline.logs()

        proxy.start()
        back_at = time.monotonic()
        wait_until(lambda: stored() > frozen, timeout_s=60, what="the first write after")
        first_write_s = time.monotonic() - back_at
        wait_until(produced.is_set, timeout_s=120, what="the producer to finish")
        wait_until(lambda: stored() >= N, timeout_s=180, what=f"{N} stories", logs=pipeline.logs)
        wait_until(lambda: lag() == 0, timeout_s=60, what="lag 0", logs=pipeline.logs)
        caught_up_s = time.monotonic() - back_at

        assert consumer.poll() is None, f"consumer exited\n{pipeline.logs()}"
        assert stored() == N
        assert pipeline.scalar("SELECT count(DISTINCT external_id) FROM stories") == N
        assert pipeline.scalar("SELECT max(version) FROM stories") == 1
        assert pipeline.scalar("SELECT count(*) FROM classifications") == N
        assert pipeline.scalar("SELECT count(*) FROM dead_letters") == 0
        print(
            f"\nDB outage {time.monotonic() - cut_at - caught_up_s:.0f} s under {RATE:g}/s: "
            f"first write {first_write_s:.1f} s after the database returned, backlog "
            f"caught up (all {N} stored, lag 0) {caught_up_s:.1f} s after"
        )
    finally:
        proxy.stop()
