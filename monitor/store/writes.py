"""The ingestion write path: one batch of classified stories and dead letters per transaction.

Idempotent by construction, so a batch re-delivered after a crash (rows committed, Kafka offsets
not yet) changes nothing: a story row remembers the Kafka record it was last written from, and
the upsert only applies a record that is newer on that partition. Only the stories the upsert
actually wrote get a new current classification.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor.store.models import Classification, DeadLetter, Story, utcnow

# Bound parameters per statement stay well under PostgreSQL's 65,535 and SQLite's 32,766.
ROWS_PER_STATEMENT = 1000


@dataclass(frozen=True)
class StoryRow:
    """A validated story, where it came from, and the model's labels for it."""

    source: str
    external_id: str
    headline: str
    body: str | None
    url: str | None
    tickers: list[str] | None
    lang: str | None
    extra: dict[str, Any] | None
    published_at: datetime
    kafka_topic: str
    kafka_partition: int
    kafka_offset: int
    labels: dict[str, Any]  # Classification columns: topic, sentiment, confidences, ...


@dataclass(frozen=True)
class DeadLetterRow:
    kafka_topic: str
    kafka_partition: int
    kafka_offset: int
    key: bytes | None
    value: bytes | None
    error: str


@dataclass(frozen=True)
class WriteResult:
    inserted: int
    updated: int
    duplicates: int  # records already applied (a re-delivery after a crash)
    dead_letters: int


def _insert_for(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def write_batch(
    session: Session,
    *,
    stories: Sequence[StoryRow],
    dead_letters: Sequence[DeadLetterRow],
    model_version: str,
) -> WriteResult:
    """Upsert stories, add their classifications, keep dead letters. The caller commits."""
    inserted = updated = 0
    written: dict[int, tuple[int, StoryRow]] = {}
    for start in range(0, len(stories), ROWS_PER_STATEMENT):
        chunk = stories[start : start + ROWS_PER_STATEMENT]
        for story_id, version, row in _upsert_stories(session, chunk):
            written[story_id] = (version, row)
            if version == 1:
                inserted += 1
            else:
                updated += 1
    if written:
        _replace_classifications(session, written, model_version)
    stored_dead = _insert_dead_letters(session, dead_letters) if dead_letters else 0
    return WriteResult(inserted, updated, len(stories) - len(written), stored_dead)


def _upsert_stories(
    session: Session, stories: Sequence[StoryRow]
) -> list[tuple[int, int, StoryRow]]:
    now = utcnow()
    upsert = _insert_for(session)
    values = [
        {
            "source": s.source,
            "external_id": s.external_id,
            "headline": s.headline,
            "body": s.body,
            "url": s.url,
            "tickers": s.tickers,
            "lang": s.lang,
            "extra": s.extra or None,
            "published_at": s.published_at,
            "ingested_at": now,
            "updated_at": now,
            "kafka_topic": s.kafka_topic,
            "kafka_partition": s.kafka_partition,
            "kafka_offset": s.kafka_offset,
            "version": 1,
        }
        for s in stories
    ]
    statement = upsert(Story).values(values)
    new = statement.excluded
    # A record is applied only if it is not the one (or older than the one) already stored.
    newer = or_(
        Story.kafka_topic != new.kafka_topic,
        Story.kafka_partition != new.kafka_partition,
        Story.kafka_offset < new.kafka_offset,
    )
    statement = statement.on_conflict_do_update(
        index_elements=[Story.source, Story.external_id],
        set_={
            **{
                name: new[name]
                for name in (
                    "headline",
                    "body",
                    "url",
                    "tickers",
                    "lang",
                    "extra",
                    "published_at",
                    "kafka_topic",
                    "kafka_partition",
                    "kafka_offset",
                )
            },
            "updated_at": now,
            "version": Story.version + 1,
        },
        where=newer,
    ).returning(Story.id, Story.version, Story.source, Story.external_id)
    by_key = {(s.source, s.external_id): s for s in stories}
    return [
        (story_id, version, by_key[(source, external_id)])
        for story_id, version, source, external_id in session.execute(statement)
    ]


def _replace_classifications(
    session: Session, written: dict[int, tuple[int, StoryRow]], model_version: str
) -> None:
    story_ids = list(written)
    session.execute(
        update(Classification)
        .where(and_(Classification.story_id.in_(story_ids), Classification.is_current))
        .values(is_current=False)
    )
    now = utcnow()
    session.execute(
        insert(Classification),
        [
            {
                "story_id": story_id,
                "story_version": version,
                "model_version": model_version,
                "is_current": True,
                "classified_at": now,
                **row.labels,
            }
            for story_id, (version, row) in written.items()
        ],
    )


def _insert_dead_letters(session: Session, rows: Sequence[DeadLetterRow]) -> int:
    upsert = _insert_for(session)
    now = utcnow()
    statement = (
        upsert(DeadLetter)
        .values([{**row.__dict__, "received_at": now} for row in rows])
        .on_conflict_do_nothing(index_elements=["kafka_topic", "kafka_partition", "kafka_offset"])
        .returning(DeadLetter.id)
    )
    return len(session.execute(statement).all())
