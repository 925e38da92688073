"""The ingestion write path: one batch of classified stories and dead letters per transaction.

Idempotent by construction, so a batch re-delivered after a crash (rows committed, Kafka offsets
not yet) changes nothing: a story row remembers the Kafka record it was last written from, and
the upsert only applies a record that is newer on that partition. Only the stories the upsert
actually wrote get a new current classification.

A backfill (`monitor import`) writes through the same path with an origin of its own (topic
`import:<name>`, partition 0, offset = line number): re-running it changes nothing by the same
rule, and it never overwrites a story stored from another origin (`applies`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    insert,
    literal,
    not_,
    or_,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from monitor.store.models import Base, utcnow
from monitor.store.sql import IMPORT_PREFIX


@dataclass(frozen=True)
class EntityRow:
    """One company a story names and the sentiment towards it (a `story_entities` row)."""

    entity: str  # the key: the dictionary's ticker, or the name where it has none
    mention: str
    span_start: int | None
    span_end: int | None
    matched_by: str  # ticker | cashtag | name
    sector: str | None
    sentiment: str
    confidence: float
    score: float
    from_mention: bool


@dataclass(frozen=True)
class StoryRow:
    """A validated story, where it came from, the model's labels for it and its entities."""

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
    entities: tuple[EntityRow, ...] = ()  # one per entity key (story_entities)


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


# Core tables: one compiled (and cached) statement executed with many parameter sets, which
# SQLAlchemy batches as multi-row INSERT ... RETURNING ("insertmanyvalues"). Building one giant
# VALUES clause per batch instead costs more in SQL compilation than the database spends.
STORIES: Table = Base.metadata.tables["stories"]
CLASSIFICATIONS: Table = Base.metadata.tables["classifications"]
DEAD_LETTERS: Table = Base.metadata.tables["dead_letters"]
STORY_ENTITIES: Table = Base.metadata.tables["story_entities"]
UPDATABLE = (
    "headline", "body", "url", "tickers", "lang", "extra", "published_at", "updated_at",
    "kafka_topic", "kafka_partition", "kafka_offset",
)  # fmt: skip


def _insert_for(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def write_batch(
    session: Session,
    *,
    stories: Sequence[StoryRow],
    dead_letters: Sequence[DeadLetterRow],
    model_version: str,
    now: datetime | None = None,
) -> WriteResult:
    """Upsert stories, add their classifications, keep dead letters. The caller commits.

    `now` stamps `ingested_at`, `updated_at`, `classified_at` and `received_at`: the wall clock
    unless a caller (a backfill, a test) says otherwise.
    """
    now = now or utcnow()
    inserted = updated = 0
    written: dict[int, tuple[int, StoryRow]] = {}
    if stories:
        for story_id, version, row in _upsert_stories(session, stories, now):
            written[story_id] = (version, row)
            if version == 1:
                inserted += 1
            else:
                updated += 1
    if written:
        _replace_classifications(session, written, model_version, now)
        _replace_entities(session, written)
    stored_dead = _insert_dead_letters(session, dead_letters, now) if dead_letters else 0
    return WriteResult(inserted, updated, len(stories) - len(written), stored_dead)


def _upsert_stories(
    session: Session, stories: Sequence[StoryRow], now: datetime
) -> list[tuple[int, int, StoryRow]]:
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
    statement = _insert_for(session)(STORIES)
    new, old = statement.excluded, STORIES.c
    statement = statement.on_conflict_do_update(
        index_elements=[old.source, old.external_id],
        set_={**{name: new[name] for name in UPDATABLE}, "version": old.version + 1},
        where=applies(old, new),
    ).returning(old.id, old.version, old.source, old.external_id)
    by_key = {(s.source, s.external_id): s for s in stories}
    return [
        (story_id, version, by_key[(source, external_id)])
        for story_id, version, source, external_id in session.connection().execute(
            statement, values
        )
    ]


def applies(old: Any, new: Any) -> ColumnElement[bool]:
    """Whether a record updates the story already stored: it must not be the record stored (or
    an older one of the same partition), and an import never overwrites a story that came from
    elsewhere (the broker, or another import): an archive must not undo a live correction."""
    same_origin = old.kafka_topic == new.kafka_topic
    return or_(
        and_(~same_origin, not_(new.kafka_topic.startswith(IMPORT_PREFIX, autoescape=True))),
        and_(
            same_origin,
            or_(old.kafka_partition != new.kafka_partition, old.kafka_offset < new.kafka_offset),
        ),
    )


ORIGINS_PER_QUERY = 250  # SQLite allows 500 terms in a compound SELECT


@dataclass(frozen=True)
class Origin:
    """Where a record would write a story from: the story's key and the record's position."""

    source: str
    external_id: str
    topic: str
    partition: int
    offset: int


def already_applied(session: Session, origins: Sequence[Origin]) -> set[Origin]:
    """The records `write_batch` would leave unapplied, by the same rule (`applies`), without
    writing: a backfill skips classifying them, so re-running a file costs a read. Only the
    records of stories already stored are checked (a first import pays one index lookup)."""
    found: set[Origin] = set()
    keys = list({(o.source, o.external_id) for o in origins})
    stored = (
        set(
            session.execute(
                select(STORIES.c.source, STORIES.c.external_id).where(
                    tuple_(STORIES.c.source, STORIES.c.external_id).in_(keys)
                )
            ).tuples()
        )
        if keys
        else set()
    )
    origins = [o for o in origins if (o.source, o.external_id) in stored]
    for start in range(0, len(origins), ORIGINS_PER_QUERY):
        new = union_all(
            *(
                select(
                    literal(o.source).label("source"),
                    literal(o.external_id).label("external_id"),
                    literal(o.topic).label("kafka_topic"),
                    literal(o.partition).label("kafka_partition"),
                    literal(o.offset).label("kafka_offset"),
                )
                for o in origins[start : start + ORIGINS_PER_QUERY]
            )
        ).subquery("new")
        old = STORIES.c
        rows = session.execute(
            select(*new.c)
            .join(STORIES, and_(old.source == new.c.source, old.external_id == new.c.external_id))
            .where(not_(applies(old, new.c)))
        )
        found.update(Origin(*row) for row in rows)
    return found


def _replace_classifications(
    session: Session, written: dict[int, tuple[int, StoryRow]], model_version: str, now: datetime
) -> None:
    connection = session.connection()
    connection.execute(
        update(CLASSIFICATIONS)
        .where(and_(CLASSIFICATIONS.c.story_id.in_(list(written)), CLASSIFICATIONS.c.is_current))
        .values(is_current=False)
    )
    connection.execute(
        insert(CLASSIFICATIONS),
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


def _replace_entities(session: Session, written: dict[int, tuple[int, StoryRow]]) -> None:
    """A written story's entity rows are exactly those of the record written: an update
    replaces them (a company dropped from the story leaves no row behind)."""
    connection = session.connection()
    connection.execute(STORY_ENTITIES.delete().where(STORY_ENTITIES.c.story_id.in_(list(written))))
    rows = [
        {"story_id": story_id, **entity.__dict__}
        for story_id, (_, row) in written.items()
        for entity in row.entities
    ]
    if rows:
        connection.execute(insert(STORY_ENTITIES), rows)


def _insert_dead_letters(session: Session, rows: Sequence[DeadLetterRow], now: datetime) -> int:
    statement = (
        _insert_for(session)(DEAD_LETTERS)
        .on_conflict_do_nothing(index_elements=["kafka_topic", "kafka_partition", "kafka_offset"])
        .returning(DEAD_LETTERS.c.id)
    )
    values = [{**row.__dict__, "received_at": now} for row in rows]
    return len(session.connection().execute(statement, values).all())
