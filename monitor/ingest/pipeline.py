"""One poll batch, end to end: decode → validate → normalise → resolve entities → tokenize +
classify (one forward, the entity mentions scored in it) → build rows (`prepare`, CPU only) →
one transaction (`write`). Free of Kafka: it takes records with topic/partition/offset/key/
value/timestamp, so tests and benchmarks can drive it directly.

The one rule: whatever goes wrong with ONE record before it is written dead-letters that
record, with a bounded reason and its raw bytes, and the batch goes on. `Rejects.guard` is the
one place that applies it; every per-record step runs through it. Only the database (and, in
the consumer, the broker) can hold a batch. A record the database refuses is isolated by
`write_each`, which writes the batch row by row and dead-letters what is refused alone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.entities.resolve import Resolved, Resolver
from monitor.entities.score import entity_rows, mention_spans
from monitor.errors import InvalidMessage
from monitor.ingest.schema import Limits, NewsItem, bounded_reason, decode
from monitor.nlp.classifier import Classifier, Prediction
from monitor.nlp.text import model_text
from monitor.store.writes import DeadLetterRow, StoryRow, WriteResult, write_batch

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")


class Record(Protocol):
    """What we read of a Kafka record (kafka-python's ConsumerRecord has these)."""

    topic: str
    partition: int
    offset: int
    timestamp: int  # ms since the epoch
    key: bytes | None
    value: bytes | None


@dataclass(slots=True)
class PlainRecord:
    """A `Record` that is not a Kafka record: an imported line (`monitor import`), a test's."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None


@dataclass
class BatchResult:
    records: int
    write: WriteResult
    stage_seconds: dict[str, float] = field(default_factory=dict)
    dead_letter_kinds: list[str] = field(default_factory=list)


@dataclass
class Rejects:
    """The batch's dead letters, and the one place a per-record failure becomes one."""

    rows: list[DeadLetterRow] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    def add(self, record: Record, reason: str, kind: str) -> None:
        reason = bounded_reason(reason)
        log.warning(
            "dead letter %s[%d]@%d: %s", record.topic, record.partition, record.offset, reason
        )
        self.rows.append(
            DeadLetterRow(
                record.topic, record.partition, record.offset, record.key, record.value, reason
            )
        )
        self.kinds.append(kind)

    def guard(
        self, step: str, items: Iterable[tuple[Record, In]], run: Callable[[Record, In], Out]
    ) -> list[tuple[Record, Out]]:
        """`run` each (record, value); a record whose step raises anything is dead-lettered
        (a contract violation with its own reason, any other exception as a failure of `step`)
        and left out of the result. Nothing here touches the database or the broker, so no
        exception here can be an outage."""
        done: list[tuple[Record, Out]] = []
        for record, value in items:
            try:
                done.append((record, run(record, value)))
            except InvalidMessage as exc:
                self.add(record, exc.reason, exc.kind)
            except Exception as exc:  # the one rule: one record's failure is that record's
                self.add(record, f"{step} failed: {type(exc).__name__}: {exc}", f"{step}_failed")
        return done


@dataclass
class PreparedBatch:
    """A batch decoded and classified, ready for its one transaction. `rows[i]` was built from
    `sources[i]`; `records` are all the batch's records (their offsets are committed)."""

    records: Sequence[Record]
    rows: list[StoryRow]
    sources: list[Record]
    rejects: Rejects
    stage_seconds: dict[str, float]


class Story(NamedTuple):
    """A decoded story on its way to the model: its model text and the entities it names."""

    item: NewsItem
    text: str
    entities: tuple[Resolved, ...] = ()


class BatchProcessor:
    """decode → validate → resolve → classify (`prepare`, CPU) → one transaction (`write`).

    Without a `resolver` (MONITOR_ENTITIES__ENABLED=false) stories get no entity rows."""

    def __init__(
        self,
        classifier: Classifier,
        sessions: sessionmaker[Session],
        *,
        limits: Limits,
        resolver: Resolver | None = None,
    ) -> None:
        self.classifier = classifier
        self.sessions = sessions
        self.limits = limits
        self.resolver = resolver

    def process(self, records: Sequence[Record]) -> BatchResult:
        """Classify and store one batch; returns only after the transaction has committed."""
        return self.write(self.prepare(records))

    def prepare(self, records: Sequence[Record]) -> PreparedBatch:
        """Every per-record step, each through `Rejects.guard`; never raises for a record."""
        timings: dict[str, float] = {}
        rejects = Rejects()
        started = time.perf_counter()
        decoded = rejects.guard("decode", ((r, r.value) for r in records), self._decode)
        timings["decode"] = time.perf_counter() - started
        # Records arrive in offset order per partition: a later one is the newer version.
        latest = {(item.source, item.id): (record, item) for record, item in decoded}
        texts = rejects.guard("normalise", latest.values(), _text)
        if self.resolver is not None:
            started = time.perf_counter()
            texts = rejects.guard("resolve", texts, self._resolve)
            timings["resolve"] = time.perf_counter() - started
        classified = self._classify(texts, rejects, timings)
        rows = rejects.guard("build_row", classified, _story_row)
        return PreparedBatch(
            records, [row for _, row in rows], [r for r, _ in rows], rejects, timings
        )

    def write(self, batch: PreparedBatch) -> BatchResult:
        """The batch's one transaction: stories, classifications and dead letters together."""
        started = time.perf_counter()
        with self.sessions.begin() as session:
            write = write_batch(
                session,
                stories=batch.rows,
                dead_letters=batch.rejects.rows,
                model_version=self.classifier.version,
            )
        timings = {**batch.stage_seconds, "db": time.perf_counter() - started}
        return BatchResult(len(batch.records), write, timings, batch.rejects.kinds)

    def write_each(
        self, batch: PreparedBatch, *, is_refusal: Callable[[Exception], bool]
    ) -> BatchResult:
        """The database refused the batch for its content: write it row by row, and
        dead-letter each row it refuses alone (`is_refusal`; anything else, an outage,
        propagates), so one poison record cannot stall a partition."""
        total = self.write(_only(batch, [], [], batch.rejects))
        for row, source in zip(batch.rows, batch.sources, strict=True):
            try:
                result = self.write(_only(batch, [row], [source], Rejects()))
            except Exception as exc:
                if not is_refusal(exc):
                    raise
                refused = Rejects()
                reason = (
                    f"rejected by the database: {first_line(exc)}"
                    if isinstance(exc, SQLAlchemyError)
                    else f"write failed: {type(exc).__name__}: {exc}"  # not the database's verdict
                )
                refused.add(source, reason, "db_refused")
                result = self.write(_only(batch, [], [], refused))
            total = _sum(total, result)
        return BatchResult(len(batch.records), total.write, {}, total.dead_letter_kinds)

    def _decode(self, record: Record, value: bytes | None) -> NewsItem:
        return decode(value, limits=self.limits, timestamp_ms=record.timestamp)

    def _resolve(self, _: Record, story: Story) -> Story:
        assert self.resolver is not None
        entities = self.resolver.resolve(story.text, story.item.tickers)
        return story._replace(entities=tuple(entities))

    def _predict(self, stories: list[Story], timings: dict[str, float] | None) -> list[Prediction]:
        """The model's labels for `stories`; with a resolver, the mentions in the same forward."""
        texts = [s.text for s in stories]
        if self.resolver is None:
            return self.classifier.predict_normalized(texts, timings)
        mentions = [mention_spans(s.entities) for s in stories]
        return self.classifier.predict_normalized(texts, timings, mentions=mentions)

    def _classify(
        self, texts: list[tuple[Record, Story]], rejects: Rejects, timings: dict[str, float]
    ) -> list[tuple[Record, tuple[Story, Prediction]]]:
        """One forward for the batch; if it fails, one per record, so only the records the
        model cannot take are dead-lettered."""
        try:
            predictions = self._predict([story for _, story in texts], timings)
        except Exception as exc:
            log.error("classifying a batch of %d failed (%r); one by one", len(texts), exc)
        else:
            return [
                (record, (story, prediction))
                for (record, story), prediction in zip(texts, predictions, strict=True)
            ]
        return rejects.guard(
            "classify", texts, lambda _, story: (story, self._predict([story], None)[0])
        )


def _text(_: Record, item: NewsItem) -> Story:
    return Story(item, model_text(item.headline, item.body))


def _story_row(record: Record, classified: tuple[Story, Prediction]) -> StoryRow:
    story, prediction = classified
    item = story.item
    if item.published_at is None:  # decode() fills it from the record's timestamp
        raise InvalidMessage("no published_at and no record timestamp", "out_of_range")
    return StoryRow(
        source=item.source,
        external_id=item.id,
        headline=item.headline,
        body=item.body,
        url=item.url,
        tickers=item.tickers,
        lang=item.lang,
        extra=item.extra or None,
        published_at=item.published_at,
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
        entities=entity_rows(story.entities, prediction),
    )


def _only(
    batch: PreparedBatch, rows: list[StoryRow], sources: list[Record], rejects: Rejects
) -> PreparedBatch:
    return PreparedBatch(sources, rows, sources, rejects, batch.stage_seconds)


def _sum(a: BatchResult, b: BatchResult) -> BatchResult:
    x, y = a.write, b.write
    write = WriteResult(
        x.inserted + y.inserted,
        x.updated + y.updated,
        x.duplicates + y.duplicates,
        x.dead_letters + y.dead_letters,
    )
    return BatchResult(a.records + b.records, write, {}, a.dead_letter_kinds + b.dead_letter_kinds)


def first_line(exc: BaseException | None) -> str:
    """An error's first line (the driver's own message for a database error), for logs and
    reasons: SQLAlchemy appends the statement and its parameters, which may be anything."""
    orig = getattr(exc, "orig", None)
    text = (str(orig) if orig is not None else str(exc)).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
