"""The ingestion write path is idempotent: re-delivered records change nothing, newer records
update the story and give it a new current classification."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from monitor.store.models import Classification, DeadLetter, Story
from monitor.store.writes import DeadLetterRow, StoryRow, write_batch

pytestmark = pytest.mark.integration

LABELS = {
    "topic": "Earnings",
    "topic_confidence": 0.9,
    "sentiment": "negative",
    "sentiment_confidence": 0.8,
    "sentiment_score": -0.7,
    "probabilities": {"sentiment": {"negative": 0.8, "neutral": 0.1, "positive": 0.1}},
}


def make_row(external_id: str = "s1", offset: int = 0, **changes: object) -> StoryRow:
    row = StoryRow(
        source="wire",
        external_id=external_id,
        headline=f"headline {external_id}",
        body=None,
        url=None,
        tickers=["ACME"],
        lang="en",
        extra={"desk": "US"},
        published_at=datetime(2026, 1, 5, 12, tzinfo=UTC),
        kafka_topic="news",
        kafka_partition=0,
        kafka_offset=offset,
        labels=LABELS,
    )
    return replace(row, **changes)  # type: ignore[arg-type]


@pytest.fixture
def sessions(db: sessionmaker[Session]) -> sessionmaker[Session]:
    return db


def write(sessions: sessionmaker[Session], rows: list[StoryRow], dead: list[DeadLetterRow] = []):  # noqa: B006
    with sessions.begin() as session:
        return write_batch(session, stories=rows, dead_letters=dead, model_version="m1")


def counts(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    with sessions() as session:
        return (
            session.scalar(sa.select(sa.func.count()).select_from(Story)) or 0,
            session.scalar(sa.select(sa.func.count()).select_from(Classification)) or 0,
            session.scalar(
                sa.select(sa.func.count())
                .select_from(Classification)
                .where(Classification.is_current)
            )
            or 0,
        )


def test_redelivered_batch_changes_nothing(sessions: sessionmaker[Session]) -> None:
    rows = [make_row(str(i), offset=i) for i in range(50)]
    first = write(sessions, rows)
    again = write(sessions, rows)
    assert (first.inserted, first.updated, first.duplicates) == (50, 0, 0)
    assert (again.inserted, again.updated, again.duplicates) == (0, 0, 50)
    assert counts(sessions) == (50, 50, 50)


def test_newer_record_updates_story_and_reclassifies(sessions: sessionmaker[Session]) -> None:
    write(sessions, [make_row("s1", offset=3)])
    newer = make_row(
        "s1", offset=9, headline="corrected", labels={**LABELS, "sentiment": "neutral"}
    )
    result = write(sessions, [newer])
    assert (result.inserted, result.updated) == (0, 1)
    assert counts(sessions) == (1, 2, 1)
    with sessions() as session:
        story = session.scalars(sa.select(Story)).one()
        current = session.scalars(sa.select(Classification).where(Classification.is_current)).one()
    assert (story.headline, story.version, story.kafka_offset) == ("corrected", 2, 9)
    assert (current.sentiment, current.story_version, current.model_version) == ("neutral", 2, "m1")
    assert story.extra == {"desk": "US"} and story.tickers == ["ACME"]


def test_older_record_of_same_partition_is_ignored(sessions: sessionmaker[Session]) -> None:
    write(sessions, [make_row("s1", offset=9, headline="new")])
    result = write(sessions, [make_row("s1", offset=3, headline="old")])
    assert result.duplicates == 1
    with sessions() as session:
        assert session.scalars(sa.select(Story.headline)).one() == "new"


def test_dead_letters_are_kept_once(sessions: sessionmaker[Session]) -> None:
    dead = [DeadLetterRow("news", 1, 7, b"k", b"\xff", "not UTF-8")]
    assert write(sessions, [], dead).dead_letters == 1
    assert write(sessions, [], dead).dead_letters == 0
    with sessions() as session:
        stored = session.scalars(sa.select(DeadLetter)).one()
    assert (stored.value, stored.error, stored.kafka_offset) == (b"\xff", "not UTF-8", 7)
