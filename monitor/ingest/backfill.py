"""`monitor import`: a file of stories straight into the database, no broker, through the
consumer's own batch step (`BatchProcessor.prepare` → `write`: decode, validate, classify, one
transaction per batch).

Every line gets a stable origin, as a Kafka record has one: topic `import:<name>`, partition 0,
offset = its line number. The write path's one idempotency rule then does the rest
(`monitor.store.writes.applies`): re-running the same file changes nothing, a later line of the
same story (a correction inside the file) updates it, and an import never overwrites a story
that is already stored from another origin, so an archive cannot undo a live correction.

Lines the contract refuses are reported (`on_reject`), never written to `dead_letters`: the file
itself is their record. Like the consumer, batch k+1 is classified while batch k is written.
At the end the hourly rollup is refreshed for the hours the import touched (the same function
`monitor schedule` runs), so long Overview ranges show the history at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import MonitorError
from monitor.ingest.pipeline import (
    BatchProcessor,
    BatchResult,
    PlainRecord,
    PreparedBatch,
    Rejects,
    first_line,
)
from monitor.ingest.producer import Rejected, Story, read_stories
from monitor.ingest.schema import NO_TIMESTAMP, Limits
from monitor.store.db import is_outage
from monitor.store.rollup import refresh_entity_hourly, refresh_sentiment_hourly
from monitor.store.sql import IMPORT_PREFIX
from monitor.store.writes import Origin, already_applied

log = logging.getLogger(__name__)

MAX_TOPIC_CHARS = 255  # stories.kafka_topic


@dataclass
class ImportReport:
    """What an import did. Every line is counted once: inserted, updated, unchanged,
    superseded, rejected or refused (a dry run counts only lines and rejected)."""

    origin: str
    lines: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0  # stored already: this line before, or the story from another origin
    superseded: int = 0  # a later line of the same story in the same batch replaced it
    rejected: int = 0
    db_refused: int = 0  # dead-lettered by the database's refusal, as the consumer does
    rollup_hours: int = 0
    published: list[datetime] = field(default_factory=list)  # oldest, newest stored
    seconds: float = 0.0

    @property
    def valid(self) -> int:
        """Lines that met the contract."""
        return self.lines - self.rejected

    def add(self, result: BatchResult) -> None:
        self.inserted += result.write.inserted
        self.updated += result.write.updated
        self.unchanged += result.write.duplicates
        self.db_refused += result.dead_letter_kinds.count("db_refused")


def origin_topic(name: str) -> str:
    """The origin 'topic' of an import's stories: `import:<name>`, bounded like a topic."""
    return (IMPORT_PREFIX + name)[:MAX_TOPIC_CHARS]


def count_lines(path: Path) -> int:
    """Physical lines in the file, for the progress bar's total (a CSV row may span several)."""
    lines, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


@dataclass
class Importer:
    """Reads a file, reports its bad lines, and (unless `processor` is None: a dry run) writes
    the rest through the consumer's batch step."""

    limits: Limits
    origin: str
    processor: BatchProcessor | None = None
    sessions: sessionmaker[Session] | None = None
    batch_size: int = 512
    on_reject: Callable[[Rejected], None] = lambda _: None
    on_progress: Callable[[int], None] = lambda _: None  # the last line number read

    def run(self, path: Path, *, fmt: str | None = None, source: str | None = None) -> ImportReport:
        started = time.perf_counter()
        report = ImportReport(origin=self.origin)
        lines = read_stories(path, self.limits, fmt=fmt, default_source=source)
        stories = self._valid(lines, report)
        if self.processor is None:
            for _ in stories:  # a dry run: validation only
                pass
        else:
            try:
                self._write_all(self.processor, stories, report)
                report.rollup_hours = self._refresh_rollup()
            except Exception as exc:
                if not is_outage(exc):
                    raise
                raise MonitorError(
                    f"the database is unavailable ({first_line(exc)}) after {report.lines:,} "
                    "line(s); run the same command again to resume: what is stored is skipped"
                ) from None
        report.seconds = time.perf_counter() - started
        return report

    def _valid(self, lines: Iterable[Story | Rejected], report: ImportReport) -> Iterator[Story]:
        for line in lines:
            report.lines += 1
            self.on_progress(line.line)
            if isinstance(line, Rejected):
                self._reject(report, line)
            else:
                yield line

    def _reject(self, report: ImportReport, rejected: Rejected) -> None:
        report.rejected += 1
        self.on_reject(rejected)

    def _write_all(
        self, processor: BatchProcessor, stories: Iterator[Story], report: ImportReport
    ) -> None:
        """Batch k+1 is classified while batch k is written; writes stay in file order."""
        pending: Future[BatchResult] | None = None
        with ThreadPoolExecutor(1, thread_name_prefix="import-writer") as writer:
            while chunk := list(islice(stories, self.batch_size)):
                todo = self._not_yet_applied(chunk)
                report.unchanged += len(chunk) - len(todo)
                prepared = processor.prepare([self._record(story) for story in todo])
                for dead in prepared.rejects.rows:  # classification or row building failed
                    self._reject(report, Rejected(dead.kafka_offset, dead.error, dead.value or b""))
                report.superseded += len(todo) - len(prepared.rows) - len(prepared.rejects.rows)
                if pending is not None:
                    report.add(pending.result())
                pending = writer.submit(_write, processor, replace(prepared, rejects=Rejects()))
                _note_published(report, prepared)
            if pending is not None:
                report.add(pending.result())

    def _not_yet_applied(self, chunk: list[Story]) -> list[Story]:
        """The lines the write would apply: a re-run skips the model for what is stored."""
        assert self.sessions is not None
        origins = [
            Origin(story.source, story.key.decode("utf-8"), self.origin, 0, story.line)
            for story in chunk
        ]
        with self.sessions() as session:
            done = already_applied(session, origins)
        return [story for story, origin in zip(chunk, origins, strict=True) if origin not in done]

    def _record(self, story: Story) -> PlainRecord:
        """One line as the batch step reads a Kafka record."""
        return PlainRecord(self.origin, 0, story.line, NO_TIMESTAMP, story.key, story.value)

    def _refresh_rollup(self) -> int:
        """Recompute the hours this import touched (and any others since the last refresh)."""
        assert self.sessions is not None
        now = datetime.now(UTC)
        published = self.limits.contract.published_window(now)
        with self.sessions.begin() as session:
            rolled = refresh_sentiment_hourly(session, now=now, published=published)
        with self.sessions.begin() as session:
            refresh_entity_hourly(session, now=now, published=published)
        return len(rolled.hours)


def _write(processor: BatchProcessor, batch: PreparedBatch) -> BatchResult:
    """The consumer's write, with its isolation of a record the database refuses; an outage
    ends the import (re-running it resumes: lines already stored change nothing)."""
    try:
        return processor.write(batch)
    except Exception as exc:
        if is_outage(exc):
            raise
        log.error("a batch of %d was refused; isolating the refused records", len(batch.rows))
        return processor.write_each(batch, is_refusal=lambda e: not is_outage(e))


def _note_published(report: ImportReport, batch: PreparedBatch) -> None:
    times = [row.published_at for row in batch.rows]
    if times:
        report.published = [
            min([*report.published[:1], *times]),
            max([*report.published[1:], *times]),
        ]


def inside_detector_span(report: ImportReport, span: timedelta, now: datetime) -> bool:
    """Whether any imported story may fall in the detector's window + baseline right now."""
    return bool(report.published) and report.published[1] > now - span
