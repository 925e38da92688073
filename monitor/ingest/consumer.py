"""The ingestion loop, in the order that makes it exactly-once in effect:

    poll a batch → decode + classify + write it in ONE database transaction → commit the
    batch's Kafka offsets (only after the database commit).

A crash between the two commits re-delivers the batch; the write path is idempotent (see
`monitor.store.writes`), so nothing is counted twice. Signals only set `stop`: the loop finishes
the batch in hand, commits, and returns; the caller closes the consumer and the engine.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.errors import CommitFailedError, KafkaError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from monitor.ingest.pipeline import BatchProcessor, BatchResult, Record
from monitor.store.writes import DeadLetterRow, WriteResult

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 10.0


@dataclass
class LoopStats:
    batches: int = 0
    records: int = 0
    stored: int = 0
    updated: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    last_batch_at: float = field(default_factory=time.time)

    def add(self, result: BatchResult) -> None:
        self.batches += 1
        self.records += result.records
        self.stored += result.write.inserted
        self.updated += result.write.updated
        self.duplicates += result.write.duplicates
        self.dead_letters += result.write.dead_letters
        self.last_batch_at = time.time()


class IngestLoop:
    def __init__(
        self,
        consumer: KafkaConsumer,
        processor: BatchProcessor,
        *,
        topic: str,
        poll_timeout_ms: int,
        max_records: int,
        stop: threading.Event,
        on_batch: Callable[[BatchResult], None] | None = None,
        on_poll: Callable[[KafkaConsumer], None] | None = None,
    ) -> None:
        self.consumer = consumer
        self.processor = processor
        self.topic = topic
        self.poll_timeout_ms = poll_timeout_ms
        self.max_records = max_records
        self.stop = stop
        self.on_batch = on_batch
        self.on_poll = on_poll
        self.stats = LoopStats()

    def run(self) -> LoopStats:
        self.consumer.subscribe([self.topic])
        while not self.stop.is_set():
            polled = self.consumer.poll(
                timeout_ms=self.poll_timeout_ms, max_records=self.max_records
            )
            if self.on_poll:
                self.on_poll(self.consumer)
            records = [record for batch in polled.values() for record in batch]
            if not records:
                continue
            result = self._process(records)
            if result is None:
                break  # stopped while the database was down: the batch is re-delivered later
            started = time.perf_counter()
            self._commit(records)
            result.stage_seconds["commit"] = time.perf_counter() - started
            self.stats.add(result)
            if self.on_batch:
                self.on_batch(result)
        return self.stats

    def _process(self, records: Sequence[Record]) -> BatchResult | None:
        """Process the batch, waiting out database outages; None if told to stop meanwhile."""
        delay = 0.5
        while True:
            try:
                return self.processor.process(records)
            except (OperationalError, InterfaceError) as exc:
                reason = _first_line(exc)
            except DBAPIError as exc:
                if not exc.connection_invalidated:
                    return self._isolate_rejected(records, exc)
                reason = _first_line(exc)
            except SQLAlchemyError as exc:
                return self._isolate_rejected(records, exc)
            log.warning("database unavailable (%s); retrying the batch in %.1f s", reason, delay)
            if self.stop.wait(delay):
                return None
            delay = min(delay * 2, MAX_BACKOFF_S)

    def _isolate_rejected(self, records: Sequence[Record], error: Exception) -> BatchResult:
        """The database refused the batch for its content: retry record by record, and
        dead-letter the ones it refuses alone, so one poison record cannot stall a partition."""
        log.error("batch of %d rejected by the database (%s); isolating", len(records), error)
        total = WriteResult(0, 0, 0, 0)
        for record in records:
            try:
                result = self.processor.process([record])
            except (OperationalError, InterfaceError):
                raise
            except SQLAlchemyError as exc:
                reason = f"rejected by the database: {_first_line(exc)}"
                result = self.processor.store_dead_letters(
                    [
                        DeadLetterRow(
                            record.topic,
                            record.partition,
                            record.offset,
                            record.key,
                            record.value,
                            reason,
                        )
                    ]
                )
            total = WriteResult(
                *(a + b for a, b in zip(_fields(total), _fields(result.write), strict=True))
            )
        kinds = ["rejected_by_db"] * total.dead_letters
        return BatchResult(len(records), total, dead_letter_kinds=kinds)

    def _commit(self, records: Sequence[Record]) -> None:
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            if tp not in offsets or offsets[tp].offset <= record.offset:
                offsets[tp] = OffsetAndMetadata(record.offset + 1, "", -1)
        delay = 0.5
        while True:
            try:
                self.consumer.commit(offsets, timeout_ms=10_000)
                return
            except CommitFailedError as exc:
                # The group rebalanced: another member re-reads these records; writes are
                # idempotent, so they are not counted twice.
                log.warning("offset commit refused after a rebalance: %s", exc)
                return
            except KafkaError as exc:
                log.warning("offset commit failed (%s); retrying in %.1f s", exc, delay)
            if self.stop.wait(delay):
                return
            delay = min(delay * 2, MAX_BACKOFF_S)


def _fields(result: WriteResult) -> tuple[int, int, int, int]:
    return (result.inserted, result.updated, result.duplicates, result.dead_letters)


def _first_line(exc: Exception) -> str:
    orig = getattr(exc, "orig", None)
    return (str(orig) if orig is not None else str(exc)).strip().splitlines()[0][:300]
