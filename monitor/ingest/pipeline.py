"""One poll batch, end to end: decode → validate → tokenize + classify (one forward) → one
transaction. Free of Kafka: it takes records with topic/partition/offset/key/value/timestamp,
so tests and benchmarks can drive it directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import InvalidMessage
from monitor.ingest.schema import NewsItem, decode
from monitor.nlp.classifier import Classifier, Prediction
from monitor.nlp.text import model_text
from monitor.store.writes import DeadLetterRow, StoryRow, WriteResult, write_batch

log = logging.getLogger(__name__)


class Record(Protocol):
    """What we read of a Kafka record (kafka-python's ConsumerRecord has these)."""

    topic: str
    partition: int
    offset: int
    timestamp: int  # ms since the epoch
    key: bytes | None
    value: bytes | None


@dataclass
class BatchResult:
    records: int
    write: WriteResult
    stage_seconds: dict[str, float] = field(default_factory=dict)
    dead_letter_kinds: list[str] = field(default_factory=list)


@dataclass
class PreparedBatch:
    """A batch decoded and classified, ready for its one transaction."""

    records: Sequence[Record]
    rows: list[StoryRow]
    dead: list[DeadLetterRow]
    dead_kinds: list[str]
    stage_seconds: dict[str, float]


class BatchProcessor:
    """decode → validate → tokenize + classify (`prepare`, CPU) → one transaction (`write`)."""

    def __init__(
        self, classifier: Classifier, sessions: sessionmaker[Session], *, max_message_bytes: int
    ) -> None:
        self.classifier = classifier
        self.sessions = sessions
        self.max_message_bytes = max_message_bytes

    def process(self, records: Sequence[Record]) -> BatchResult:
        """Classify and store one batch; returns only after the transaction has committed."""
        return self.write(self.prepare(records))

    def prepare(self, records: Sequence[Record]) -> PreparedBatch:
        timings: dict[str, float] = {}
        started = time.perf_counter()
        valid, dead, kinds = self._decode(records)
        timings["decode"] = time.perf_counter() - started

        texts = [model_text(item.headline, item.body) for _, item in valid]
        predictions = self.classifier.predict_normalized(texts, timings)
        rows = [
            _story_row(record, item, prediction)
            for (record, item), prediction in zip(valid, predictions, strict=True)
        ]
        return PreparedBatch(records, rows, dead, kinds, timings)

    def write(self, batch: PreparedBatch) -> BatchResult:
        """The batch's one transaction: stories, classifications and dead letters together."""
        started = time.perf_counter()
        with self.sessions.begin() as session:
            write = write_batch(
                session,
                stories=batch.rows,
                dead_letters=batch.dead,
                model_version=self.classifier.version,
            )
        timings = {**batch.stage_seconds, "db": time.perf_counter() - started}
        return BatchResult(len(batch.records), write, timings, batch.dead_kinds)

    def store_dead_letters(self, dead: Sequence[DeadLetterRow]) -> BatchResult:
        """Keep records that cannot be stored as stories (the database refused them)."""
        with self.sessions.begin() as session:
            write = write_batch(session, stories=[], dead_letters=dead, model_version="")
        return BatchResult(len(dead), write, {}, ["rejected_by_db"] * len(dead))

    def _decode(
        self, records: Sequence[Record]
    ) -> tuple[list[tuple[Record, NewsItem]], list[DeadLetterRow], list[str]]:
        """Split the batch into valid items (the last version of each story) and dead letters."""
        latest: dict[tuple[str, str], tuple[Record, NewsItem]] = {}
        dead: list[DeadLetterRow] = []
        kinds: list[str] = []
        for record in records:
            try:
                item = decode(record.value, max_bytes=self.max_message_bytes)
            except InvalidMessage as exc:
                log.warning(
                    "dead letter %s[%d]@%d: %s",
                    record.topic,
                    record.partition,
                    record.offset,
                    exc.reason,
                )
                dead.append(
                    DeadLetterRow(
                        record.topic,
                        record.partition,
                        record.offset,
                        record.key,
                        record.value,
                        exc.reason,
                    )
                )
                kinds.append(exc.kind)
                continue
            # Records arrive in offset order per partition: a later one is the newer version.
            latest[(item.source, item.id)] = (record, item)
        return list(latest.values()), dead, kinds


def _story_row(record: Record, item: NewsItem, prediction: Prediction) -> StoryRow:
    published = item.published_at or datetime.fromtimestamp(record.timestamp / 1000, UTC)
    return StoryRow(
        source=item.source,
        external_id=item.id,
        headline=item.headline,
        body=item.body,
        url=item.url,
        tickers=item.tickers,
        lang=item.lang,
        extra=item.extra or None,
        published_at=published,
        kafka_topic=record.topic,
        kafka_partition=record.partition,
        kafka_offset=record.offset,
        labels={
            "topic": prediction.topic,
            "topic_confidence": prediction.topic_confidence,
            "sentiment": prediction.sentiment,
            "sentiment_confidence": prediction.sentiment_confidence,
            "sentiment_score": prediction.sentiment_score,
            "probabilities": prediction.probabilities,
        },
    )
