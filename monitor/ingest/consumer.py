"""The ingestion loop, in the order that makes it exactly-once in effect:

    poll a batch → decode + classify it → write it in ONE database transaction → commit the
    batch's Kafka offsets (only after that transaction has committed).

Two batches are in flight at once (the next one is classified on the CPU while the previous
one is written), but writes and offset commits stay strictly in poll order. A crash between a
database commit and its offset commit re-delivers the batch; the write path is idempotent (see
`monitor.store.writes`), so nothing is counted twice. Signals only set `stop`: the loop finishes
the batch in hand, commits, and returns; the caller closes the consumer and the engine.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.errors import CommitFailedError, KafkaError, RebalanceInProgressError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError

from monitor.ingest.pipeline import BatchProcessor, BatchResult, PreparedBatch, Record
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
        self._pending: Future[tuple[PreparedBatch, BatchResult | None]] | None = None

    def run(self) -> LoopStats:
        """Two batches in flight: batch k+1 is polled and classified (CPU) while batch k is
        written (database); k's offsets are committed only once its transaction has committed,
        and k+1 is written only after k, so per-story order holds."""
        with ThreadPoolExecutor(1, thread_name_prefix="db-writer") as writer:
            # No rebalance listener finishes the in-flight batch first: kafka-python 3 runs
            # listeners on its IO thread, where a blocking commit raises. A batch whose
            # partitions moved fails its offset commit and is re-read by the new owner; the
            # idempotent write path makes that harmless.
            self.consumer.subscribe([self.topic])
            while not self.stop.is_set():
                polled = self.consumer.poll(
                    timeout_ms=self.poll_timeout_ms, max_records=self.max_records
                )
                if self.on_poll:
                    self.on_poll(self.consumer)
                records = [record for batch in polled.values() for record in batch]
                prepared = self.processor.prepare(records) if records else None
                if not self.finish_pending():
                    break  # stopped while the database was down: re-delivered later
                if prepared is not None:
                    self._pending = writer.submit(self._write, prepared)
            self.finish_pending()
        return self.stats

    def finish_pending(self) -> bool:
        """Wait for the batch being written and commit its offsets; False if it was not
        written (told to stop while the database was down)."""
        if self._pending is None:
            return True
        batch, result = self._pending.result()
        self._pending = None
        if result is None:
            return False
        started = time.perf_counter()
        self._commit(batch.records)
        result.stage_seconds["commit"] = time.perf_counter() - started
        self.stats.add(result)
        if self.on_batch:
            self.on_batch(result)
        return True

    def _write(self, batch: PreparedBatch) -> tuple[PreparedBatch, BatchResult | None]:
        """Write the batch, waiting out database outages; None if told to stop meanwhile."""
        records = batch.records
        delay = 0.5
        while True:
            try:
                try:
                    return batch, self.processor.write(batch)
                except (OperationalError, InterfaceError):
                    raise
                except DBAPIError as exc:
                    if exc.connection_invalidated:
                        raise
                    return batch, self._isolate_rejected(records, exc)
                except SQLAlchemyError as exc:
                    return batch, self._isolate_rejected(records, exc)
            except DBAPIError as exc:
                # The connection went away, possibly halfway through isolating a poison
                # record; every write is idempotent, so the whole batch is simply redone.
                reason = _first_line(exc)
            log.warning("database unavailable (%s); retrying the batch in %.1f s", reason, delay)
            if self.stop.wait(delay):
                return batch, None
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
                if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                    raise
                reason = f"rejected by the database: {_first_line(exc)}"
                row = DeadLetterRow(
                    record.topic, record.partition, record.offset, record.key, record.value, reason
                )
                result = self.processor.store_dead_letters([row])
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
            except (CommitFailedError, RebalanceInProgressError) as exc:
                # The group rebalanced (or is rebalancing, which only poll() can complete, so
                # retrying here would spin forever): the partitions' next owner, maybe us,
                # re-reads these records from the last committed offset; writes are
                # idempotent, so they are not counted twice.
                log.warning("offset commit refused by a rebalance: %s", exc)
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
