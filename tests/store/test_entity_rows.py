"""story_entities on the write path and entity_hourly from the rollup, on PostgreSQL and SQLite:
an update of a story replaces its entity rows, and every hourly figure counts a story once
per entity, from current classifications only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.store import rollup
from monitor.store.models import EntityHourly, RollupState, StoryEntity
from monitor.store.sql import as_utc
from tests.factories import add_story

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=1)
SECTORS = {"AAPL": "Information Technology", "MSFT": "Information Technology"}


def entity_rows(sessions: sessionmaker[Session], story_id: int) -> dict[str, tuple[str, float]]:
    with sessions() as session:
        rows = session.scalars(select(StoryEntity).where(StoryEntity.story_id == story_id))
        return {r.entity: (r.sentiment, r.score) for r in rows}


def hourly(sessions: sessionmaker[Session]) -> dict[tuple[datetime, str], tuple]:
    with sessions() as session:
        return {
            (as_utc(r.hour), r.entity): (
                r.sector, r.stories, r.negative, r.neutral, r.positive, round(r.score_sum, 6)
            )
            for r in session.scalars(select(EntityHourly))
        }  # fmt: skip


def refresh(sessions: sessionmaker[Session]) -> rollup.RollupReport:
    with sessions.begin() as session:
        return rollup.refresh_entity_hourly(session, now=NOW)


def test_an_update_of_a_story_replaces_its_entity_rows(db: sessionmaker[Session]) -> None:
    first = add_story(
        db, "Apple beats Microsoft", at=T0, external_id="e1", sectors=SECTORS,
        entities={"AAPL": "positive", "MSFT": "negative"},
    )  # fmt: skip
    assert entity_rows(db, first) == {"AAPL": ("positive", 0.8), "MSFT": ("negative", -0.8)}
    again = add_story(
        db, "Apple beats estimates", at=T0, external_id="e1", entities={"AAPL": ("neutral", 0.1)}
    )
    assert again == first
    assert entity_rows(db, first) == {"AAPL": ("neutral", 0.1)}  # MSFT dropped, AAPL replaced
    add_story(db, "Apple, corrected again", at=T0, external_id="e1")
    assert entity_rows(db, first) == {}


def test_entity_hourly_counts_each_story_once_per_entity(db: sessionmaker[Session]) -> None:
    h0, h1 = T0, T0 + timedelta(hours=1)
    add_story(db, "a", at=h0 + timedelta(minutes=5), sectors=SECTORS,
              entities={"AAPL": "negative", "MSFT": "positive"})  # fmt: skip
    add_story(db, "b", at=h0 + timedelta(minutes=50), sectors=SECTORS,
              entities={"AAPL": ("negative", -0.5)})  # fmt: skip
    add_story(db, "c", at=h1 + timedelta(minutes=1), entities={"ZZZQ": "neutral"})
    add_story(db, "no entities", at=h1 + timedelta(minutes=2))
    report = refresh(db)
    assert report.rows == 3
    assert hourly(db) == {
        (h0, "AAPL"): ("Information Technology", 2, 2, 0, 0, -1.3),
        (h0, "MSFT"): ("Information Technology", 1, 0, 0, 1, 0.8),
        (h1, "ZZZQ"): (None, 1, 0, 1, 0, 0.0),
    }
    with db() as session:
        state = session.get(RollupState, rollup.ENTITY_ROLLUP_NAME)
        assert state is not None and state.watermark is not None
        assert session.get(RollupState, rollup.ROLLUP_NAME) is None  # its own row


def test_entity_hourly_follows_updates_and_only_touched_hours(db: sessionmaker[Session]) -> None:
    h0 = T0
    add_story(db, "a", at=h0 + timedelta(minutes=5), external_id="x",
              entities={"AAPL": "negative"})  # fmt: skip
    refresh(db)
    assert hourly(db) == {(h0, "AAPL"): (None, 1, 1, 0, 0, -0.8)}
    # the correction: the same story now names MSFT, positively; AAPL's hour row goes
    add_story(db, "a fixed", at=h0 + timedelta(minutes=5), external_id="x",
              entities={"MSFT": "positive"})  # fmt: skip
    report = refresh(db)
    assert h0 in report.hours
    assert hourly(db) == {(h0, "MSFT"): (None, 1, 0, 0, 1, 0.8)}
    # nothing new: the next run recomputes only its sweep hours, and changes nothing
    assert refresh(db).rows == 0 or hourly(db) == {(h0, "MSFT"): (None, 1, 0, 0, 1, 0.8)}


def test_the_scheduler_rollup_pass_refreshes_both_rollups(db: sessionmaker[Session]) -> None:
    import httpx

    from monitor.alerts.scheduler import AlertJobs
    from monitor.settings.alerts import AlertSettings
    from monitor.store.models import SentimentHourly

    at = datetime.now(UTC) - timedelta(hours=2)
    add_story(db, "Apple slides", at=at, entities={"AAPL": "negative"})
    with httpx.Client() as client:
        AlertJobs(db, AlertSettings(), "http://dashboard", client).rollup_once()
    with db() as session:
        assert [r.entity for r in session.scalars(select(EntityHourly))] == ["AAPL"]
        assert len(session.scalars(select(SentimentHourly)).all()) == 1
