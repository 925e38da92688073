"""A record that passes the contract but that the database refuses is isolated from its batch
and dead-lettered; the rest of the batch is stored and the partition keeps moving.

The contract bounds every value, so no message of ours is refused by the schema we ship; a
constraint a DBA added (here: no story may have the id `poison`) stands in for whatever a
database may refuse."""

from __future__ import annotations

import signal

import pytest

from monitor.ingest.lag import consumer_lag
from tests.ingest.conftest import Pipeline, story, wait_until

pytestmark = pytest.mark.integration


def test_database_rejected_record_is_dead_lettered_alone(pipeline: Pipeline) -> None:
    pipeline.execute("ALTER TABLE stories ADD CONSTRAINT no_poison CHECK (external_id <> 'poison')")
    poison = (b"poison", b'{"id": "poison", "headline": "h"}')
    pipeline.produce([story(i) for i in range(50)] + [poison] + [story(i) for i in range(50, 80)])
    consumer = pipeline.start_consumer()

    def settled() -> bool:
        return sum(consumer_lag(pipeline.bootstrap, pipeline.topic, pipeline.group).values()) == 0

    wait_until(settled, timeout_s=120, what="lag 0", logs=pipeline.logs)
    assert pipeline.scalar("SELECT count(*) FROM stories") == 80
    assert pipeline.scalar("SELECT count(*) FROM classifications WHERE is_current") == 80
    assert pipeline.scalar("SELECT count(*) FROM dead_letters") == 1
    assert (
        pipeline.scalar(
            "SELECT count(*) FROM dead_letters WHERE error LIKE 'rejected by the database:%' "
            "AND error LIKE '%no_poison%' AND key = 'poison'::bytea"
        )
        == 1
    )
    consumer.send_signal(signal.SIGTERM)
    assert consumer.wait(timeout=60) == 0
