"""The exactly-once core, fast: `IngestLoop` and `BatchProcessor` with a fake consumer, a fake
classifier and a real (SQLite) store migrated by our own migrations.

What the subprocess tests prove end to end, shown here step by step: offsets are committed only
after the batch's transaction, in poll order, with two batches in flight; a write that fails
commits nothing; the outage retry; one record's failure (contract, model, database) is that
record's dead letter and the batch goes on.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from kafka import OffsetAndMetadata, TopicPartition
from kafka.errors import CommitFailedError, KafkaConnectionError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from monitor.ingest.consumer import IngestLoop
from monitor.ingest.pipeline import (
    BatchProcessor,
    BatchResult,
    PlainRecord,
    PreparedBatch,
    Record,
)
from monitor.ingest.schema import Limits
from monitor.nlp.classifier import Prediction
from monitor.store import migrate
from monitor.store.db import make_engine, make_sessionmaker

TOPIC = "loop-test"
NOW_MS = 1_770_000_000_000  # 2026-02-02: inside the contract's range


def story(offset: int, partition: int = 0, **fields: Any) -> PlainRecord:
    body = {"id": f"s{partition}-{offset}", "headline": f"Acme {offset} beats forecasts", **fields}
    return raw(offset, json.dumps(body).encode(), partition)


def raw(offset: int, value: bytes | None, partition: int = 0) -> PlainRecord:
    return PlainRecord(TOPIC, partition, offset, NOW_MS, f"k{offset}".encode(), value)


class FakeClassifier:
    """Labels every text 'positive'; raises for a batch holding a text with BOOM (as a
    tokenizer might on hostile text), so only that record can be refused."""

    version = "fake-1"

    def predict_normalized(
        self, texts: list[str], timings: dict[str, float] | None = None
    ) -> list[Prediction]:
        if any("BOOM" in t for t in texts):
            raise RuntimeError("tokenizer exploded")
        return [
            Prediction("Earnings", 0.9, "positive", 0.8, 0.7, {"topic": {}, "sentiment": {}})
            for _ in texts
        ]


class FakeConsumer:
    """Hands out scripted batches, then sets `stop` (with `drain_stops` False: only after
    `stop_after_commits` commits, or never); records every commit and what the database held
    at that moment."""

    def __init__(self, batches: list[list[PlainRecord]], stop: threading.Event, count: Any):
        self.batches = list(batches)
        self.drain_stops = True
        self.stop_after_commits: int | None = None
        self.stop = stop
        self.count = count
        self.commits: list[dict[TopicPartition, OffsetAndMetadata]] = []
        self.stored_at_commit: list[int] = []
        self.commit_errors: list[Exception | None] = []  # per call: raise this (None: succeed)

    def subscribe(self, topics: list[str]) -> None:
        assert topics == [TOPIC]

    def poll(self, timeout_ms: int, max_records: int) -> dict[TopicPartition, list[PlainRecord]]:
        if not self.batches:
            if self.drain_stops:
                self.stop.set()
            return {}
        batch = self.batches.pop(0)
        polled: dict[TopicPartition, list[PlainRecord]] = {}
        for record in batch:
            polled.setdefault(TopicPartition(record.topic, record.partition), []).append(record)
        return polled

    def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata], timeout_ms: int) -> None:
        error = self.commit_errors.pop(0) if self.commit_errors else None
        if error is not None:
            raise error
        self.stored_at_commit.append(self.count())
        self.commits.append(offsets)
        if len(self.commits) == self.stop_after_commits:
            self.stop.set()


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "monitor.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sessions(migrated: Path, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    path = tmp_path / "monitor.db"
    shutil.copy(migrated, path)
    engine = make_engine(f"sqlite:///{path}")
    yield make_sessionmaker(engine)
    engine.dispose()


def scalar(sessions: sessionmaker[Session], sql: str) -> Any:
    with sessions() as session:
        return session.execute(sa.text(sql)).scalar()


def stored(sessions: sessionmaker[Session]) -> int:
    return int(scalar(sessions, "SELECT count(*) FROM stories"))


class Recording(BatchProcessor):
    """The real processor, noting when each batch is prepared and written; `fail_writes`
    OperationalErrors (an outage) come first; with `hold_first_write`, the write of the batch at
    offset 0 waits until `first_write` is set."""

    def __init__(self, sessions: sessionmaker[Session], fail_writes: int = 0) -> None:
        super().__init__(FakeClassifier(), sessions, limits=Limits())  # type: ignore[arg-type]
        self.events: list[str] = []
        self.fail_writes = fail_writes
        self.hold_first_write = False
        self.first_write = threading.Event()

    def prepare(self, records: Any) -> PreparedBatch:
        self.events.append(f"prepare {records[0].offset}")
        return super().prepare(records)

    def write(self, batch: PreparedBatch) -> BatchResult:
        if self.fail_writes:
            self.fail_writes -= 1
            raise OperationalError("INSERT", {}, Exception("connection refused"))
        first = batch.records[0].offset if batch.records else -1
        if first == 0 and self.hold_first_write:
            assert self.first_write.wait(10)  # until batch 2 was prepared: two batches in flight
        result = super().write(batch)
        self.events.append(f"written {first}")
        return result


def make_loop(
    processor: BatchProcessor, batches: list[list[PlainRecord]], sessions: sessionmaker[Session]
) -> tuple[IngestLoop, FakeConsumer]:
    stop = threading.Event()
    consumer = FakeConsumer(batches, stop, lambda: stored(sessions))
    loop = IngestLoop(
        consumer,  # type: ignore[arg-type]
        processor,
        topic=TOPIC,
        poll_timeout_ms=1,
        max_records=100,
        stop=stop,
        initial_backoff_s=0.01,
    )
    return loop, consumer


def test_offsets_follow_the_transaction_in_poll_order_with_two_batches_in_flight(
    sessions: sessionmaker[Session],
) -> None:
    processor = Recording(sessions)
    processor.hold_first_write = True
    batches = [[story(i) for i in range(k, k + 10)] for k in (0, 10, 20)]
    loop, consumer = make_loop(processor, batches, sessions)

    original_prepare = processor.prepare

    def prepare_then_release(records: Any) -> PreparedBatch:
        prepared = original_prepare(records)
        if records[0].offset == 10:
            processor.first_write.set()
        return prepared

    processor.prepare = prepare_then_release  # type: ignore[method-assign]
    stats = loop.run()

    # Batch 2 was prepared while batch 1 was still being written...
    assert processor.events.index("prepare 10") < processor.events.index("written 0")
    # ...yet writes and commits kept poll order, each commit after its own transaction.
    assert [e for e in processor.events if e.startswith("written")] == [
        "written 0",
        "written 10",
        "written 20",
    ]
    assert [c[TopicPartition(TOPIC, 0)].offset for c in consumer.commits] == [10, 20, 30]
    assert consumer.stored_at_commit == [10, 20, 30]
    assert (stats.batches, stats.records, stats.stored) == (3, 30, 30)


def test_a_write_that_never_succeeds_commits_nothing(sessions: sessionmaker[Session]) -> None:
    processor = Recording(sessions, fail_writes=10**6)
    loop, consumer = make_loop(processor, [[story(i) for i in range(5)]], sessions)
    consumer.drain_stops = False
    timer = threading.Timer(0.5, loop.stop.set)  # the operator stops it during the outage
    timer.start()
    stats = loop.run()
    timer.join()
    assert consumer.commits == []
    assert stored(sessions) == 0
    assert stats.batches == 0
    assert processor.fail_writes < 10**6 - 2, "the write was not retried"


def test_an_outage_is_retried_and_the_batch_written_once(sessions: sessionmaker[Session]) -> None:
    processor = Recording(sessions, fail_writes=3)
    loop, consumer = make_loop(processor, [[story(i) for i in range(5)]], sessions)
    consumer.drain_stops, consumer.stop_after_commits = False, 1
    stats = loop.run()
    assert processor.fail_writes == 0
    assert stored(sessions) == 5
    assert int(scalar(sessions, "SELECT max(version) FROM stories")) == 1
    assert [c[TopicPartition(TOPIC, 0)].offset for c in consumer.commits] == [5]
    assert consumer.stored_at_commit == [5]
    assert stats.stored == 5


def test_commit_retries_broker_errors_and_gives_way_to_a_rebalance(
    sessions: sessionmaker[Session],
) -> None:
    loop, consumer = make_loop(Recording(sessions), [[story(0)], [story(1)]], sessions)
    gone = KafkaConnectionError("broker gone")
    consumer.commit_errors = [gone, gone, None, CommitFailedError("rebalanced")]
    loop.run()
    # The first batch's commit was retried until it went through; the second was refused by a
    # rebalance and not retried (the partition's next owner re-reads it).
    assert [c[TopicPartition(TOPIC, 0)].offset for c in consumer.commits] == [1]
    assert stored(sessions) == 2


def test_each_failing_record_is_its_own_dead_letter(sessions: sessionmaker[Session]) -> None:
    bad = [
        raw(1, b"{not json"),
        raw(2, b"[" * 10_000 + b"]" * 10_000),
        raw(3, b'{"id": "x", "headline": "h", "n": ' + b"9" * 5000 + b"}"),
        story(4, published_at="9999-12-31T23:59:59Z"),
        story(5, published_at="0001-01-01T00:00:00+01:00"),
        story(6, headline="BOOM goes the tokenizer"),
        raw(7, None),
        PlainRecord(TOPIC, 0, 8, 253_402_300_800_000, b"k8", b'{"id": "y", "headline": "h"}'),
    ]
    records = [story(0), *bad, story(9), story(10)]
    loop, consumer = make_loop(Recording(sessions), [records], sessions)
    stats = loop.run()

    assert stored(sessions) == 3
    assert stats.dead_letters == len(bad)
    assert [c[TopicPartition(TOPIC, 0)].offset for c in consumer.commits] == [11]
    with sessions() as session:
        rows = session.execute(
            sa.text("SELECT kafka_offset, error, value FROM dead_letters ORDER BY kafka_offset")
        ).all()
    reasons = {offset: error for offset, error, _ in rows}
    assert sorted(reasons) == [r.offset for r in bad]
    assert "not JSON" in reasons[1]
    assert "nested deeper than" in reasons[2]
    assert "64-bit range" in reasons[3]
    assert "outside the accepted range" in reasons[4]
    assert "outside the representable range" in reasons[5]
    assert reasons[6] == "classify failed: RuntimeError: tokenizer exploded"
    assert "tombstone" in reasons[7]
    assert "record timestamp" in reasons[8]
    assert all(0 < len(reason) <= 1024 for reason in reasons.values())
    assert {offset: value for offset, _, value in rows}[1] == b"{not json"  # raw bytes kept


def test_a_record_the_database_refuses_is_isolated(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        session.execute(
            sa.text(
                "CREATE TRIGGER refuse BEFORE INSERT ON stories WHEN NEW.external_id = 'poison' "
                "BEGIN SELECT RAISE(ABORT, 'poison refused'); END"
            )
        )
    records = [story(0), raw(1, b'{"id": "poison", "headline": "h"}'), story(2), raw(3, b"x")]
    loop, consumer = make_loop(Recording(sessions), [records], sessions)
    stats = loop.run()
    assert stored(sessions) == 2
    assert stats.dead_letters == 2
    errors = dict(sessions().execute(sa.text("SELECT kafka_offset, error FROM dead_letters")).all())
    assert errors[1] == "rejected by the database: poison refused"
    assert "not JSON" in errors[3]
    assert [c[TopicPartition(TOPIC, 0)].offset for c in consumer.commits] == [4]


def test_prepare_never_raises_for_a_record(sessions: sessionmaker[Session]) -> None:
    processor = BatchProcessor(FakeClassifier(), sessions, limits=Limits())  # type: ignore[arg-type]
    records: list[Record] = [raw(i, bytes([i % 256]) * (i + 1)) for i in range(300)]
    prepared = processor.prepare(records)
    assert prepared.rows == []
    assert len(prepared.rejects.rows) == 300
