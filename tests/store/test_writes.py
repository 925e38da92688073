"""The ingestion write path is idempotent: re-delivered records change nothing, newer records
update the story and give it a new current classification."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from monitor.store.models import Classification, DeadLetter, Story
from monitor.store.sql import as_utc
from monitor.store.writes import DeadLetterRow, Origin, StoryRow, already_applied, write_batch
from tests.factories import NewStory

pytestmark = pytest.mark.integration


def make_row(external_id: str = "s1", offset: int = 0, **changes: Any) -> StoryRow:
    story = NewStory(
        f"headline {external_id}",
        published_at=datetime(2026, 1, 5, 12, tzinfo=UTC),
        sentiment="negative",
        source="wire",
        external_id=external_id,
        tickers=["ACME"],
        extra={"desk": "US"},
        offset=offset,
    )
    return replace(story, **changes).row()


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
    newer = make_row("s1", offset=9, headline="corrected", sentiment="neutral")
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


def test_now_stamps_every_time_the_write_path_records(sessions: sessionmaker[Session]) -> None:
    moment = datetime(2026, 2, 1, 8, 30, tzinfo=UTC)
    with sessions.begin() as session:
        dead = [DeadLetterRow("news", 1, 8, None, b"x", "not JSON")]
        write_batch(
            session, stories=[make_row()], dead_letters=dead, model_version="m1", now=moment
        )
    with sessions() as session:
        story = session.scalars(sa.select(Story)).one()
        classification = session.scalars(sa.select(Classification)).one()
        letter = session.scalars(sa.select(DeadLetter)).one()
    stamps = {story.ingested_at, story.updated_at, classification.classified_at, letter.received_at}
    assert {as_utc(stamp) for stamp in stamps} == {moment}


def imported(external_id: str, line: int, origin: str = "import:archive.jsonl", **changes: Any):  # type: ignore[no-untyped-def]
    return replace(make_row(external_id, offset=line, **changes), kafka_topic=origin)


def test_an_import_never_overwrites_a_story_from_another_origin(
    sessions: sessionmaker[Session],
) -> None:
    write(sessions, [make_row("live", offset=5, headline="corrected live")])
    result = write(sessions, [imported("live", 1, headline="archived original")])
    assert result.duplicates == 1
    write(sessions, [imported("old", 1, headline="first archive")])
    other = write(sessions, [imported("old", 9, "import:other.csv", headline="second archive")])
    assert other.duplicates == 1  # another file's copy does not replace it either
    with sessions() as session:
        headlines = dict(session.execute(sa.select(Story.external_id, Story.headline)).all())
    assert headlines == {"live": "corrected live", "old": "first archive"}


def test_an_import_updates_its_own_lines_and_kafka_updates_an_import(
    sessions: sessionmaker[Session],
) -> None:
    write(sessions, [imported("s1", 3, headline="line 3")])
    assert write(sessions, [imported("s1", 3, headline="line 3 again")]).duplicates == 1
    assert write(sessions, [imported("s1", 8, headline="line 8")]).updated == 1
    assert write(sessions, [make_row("s1", offset=1, headline="from the wire")]).updated == 1
    with sessions() as session:
        story = session.scalars(sa.select(Story)).one()
    assert (story.headline, story.version, story.kafka_topic) == ("from the wire", 3, "news")


def test_already_applied_agrees_with_the_write(sessions: sessionmaker[Session]) -> None:
    write(sessions, [make_row("live", offset=5), imported("mine", 4)])
    candidates = [
        imported("live", 1),  # stored from Kafka: never
        imported("mine", 4),  # this very line: already applied
        imported("mine", 2),  # an older line: no
        imported("mine", 6),  # a later line: applies
        imported("new", 7),  # not stored: applies
    ]
    origins = [
        Origin(r.source, r.external_id, r.kafka_topic, r.kafka_partition, r.kafka_offset)
        for r in candidates
    ]
    with sessions() as session:
        skipped = already_applied(session, origins)
    assert skipped == set(origins[:3])
    result = write(sessions, candidates[3:])
    assert (result.inserted, result.updated, result.duplicates) == (1, 1, 0)
