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
from typing import Any

from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.errors import CommitFailedError, KafkaError, RebalanceInProgressError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    sleep_using_event,
    stop_when_event_set,
    wait_exponential_jitter,
)

from monitor.ingest.pipeline import (
    BatchProcessor,
    BatchResult,
    PreparedBatch,
    Record,
    first_line,
)
from monitor.store.db import is_outage

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 10.0
# A rebalance took the partitions (or is taking them: only poll() completes it, so retrying
# would spin): their next owner, maybe us, re-reads from the last committed offset, and the
# idempotent writes make that harmless.
REBALANCED = (CommitFailedError, RebalanceInProgressError)


def _transient_kafka(exc: BaseException) -> bool:
    return isinstance(exc, KafkaError) and not isinstance(exc, REBALANCED)


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
        initial_backoff_s: float = 0.5,
    ) -> None:
        self.consumer = consumer
        self.processor = processor
        self.topic = topic
        self.poll_timeout_ms = poll_timeout_ms
        self.max_records = max_records
        self.stop = stop
        self.on_batch = on_batch
        self.on_poll = on_poll
        self.initial_backoff_s = initial_backoff_s
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
                polled = self._until_stopped("polling the broker failed", _transient_kafka)(
                    self._poll
                )
                if polled is None:
                    break  # stopped while the broker was failing
                if self.on_poll:
                    self.on_poll(self.consumer)
                records = [record for batch in polled.values() for record in batch]
                # prepare() never raises for a record: each one's failure is its dead letter.
                prepared = self.processor.prepare(records) if records else None
                if not self.finish_pending():
                    break  # stopped while the database was down: re-delivered later
                if prepared is not None:
                    self._pending = writer.submit(self._write, prepared)
            self.finish_pending()
        return self.stats

    def _poll(self) -> dict[Any, list[Any]]:
        return self.consumer.poll(timeout_ms=self.poll_timeout_ms, max_records=self.max_records)

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
        """Write the batch, waiting out database outages; None if told to stop meanwhile.
        An outage halfway through isolating a poison record redoes the whole batch: every
        write is idempotent."""
        return batch, self._until_stopped("database unavailable", is_outage)(
            self._write_once, batch
        )

    def _write_once(self, batch: PreparedBatch) -> BatchResult:
        try:
            return self.processor.write(batch)
        except Exception as exc:
            if is_outage(exc):
                raise
            log.error(
                "batch of %d refused (%s); isolating the refused records",
                len(batch.records),
                first_line(exc),
            )
            return self.processor.write_each(batch, is_refusal=lambda e: not is_outage(e))

    def _commit(self, records: Sequence[Record]) -> None:
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            if tp not in offsets or offsets[tp].offset <= record.offset:
                offsets[tp] = OffsetAndMetadata(record.offset + 1, "", -1)
        try:
            self._until_stopped("offset commit failed", _transient_kafka)(
                self.consumer.commit, offsets, timeout_ms=10_000
            )
        except REBALANCED as exc:
            log.warning("offset commit refused by a rebalance: %s", exc)

    def _until_stopped(self, what: str, transient: Callable[[BaseException], bool]) -> Retrying:
        """Retry what `transient` accepts, with exponential backoff and jitter, until it
        succeeds or `stop` is set (then the call returns None); anything else propagates."""

        def warn(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            wait = state.next_action.sleep if state.next_action else 0.0
            log.warning("%s (%s); retrying in %.1f s", what, first_line(error), wait)

        def stopped(_: RetryCallState) -> Any:
            return None

        return Retrying(
            retry=retry_if_exception(transient),
            wait=wait_exponential_jitter(
                initial=self.initial_backoff_s, max=MAX_BACKOFF_S, jitter=self.initial_backoff_s
            ),
            stop=stop_when_event_set(self.stop),
            sleep=sleep_using_event(self.stop),
            before_sleep=warn,
            retry_error_callback=stopped,
        )
