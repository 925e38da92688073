"""The detector against real databases: SQL aggregates, alert rows, state across restarts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts import queries
from monitor.alerts.detector import windows_at
from monitor.settings.alerts import AlertSettings
from monitor.store import migrate
from monitor.store.db import make_engine, make_sessionmaker
from monitor.store.models import Alert, AlertScopeState, Classification, Story
from tests.alerts.conftest import T0, Stories, alert_settings, detect_at, sqlite_sessions

pytestmark = pytest.mark.integration


def burst(make_story: Stories, now, topic: str = "earnings", count: int = 30) -> list[int]:  # type: ignore[no-untyped-def]
    """`count` stories in the hour before `now`, two thirds negative."""
    return make_story.stream(
        topic, now - timedelta(minutes=59), now, per_hour=count, negative_share=2 / 3, tag="burst"
    )


def test_counts_are_per_topic_plus_market_and_only_current_rows(
    clean_db: sessionmaker[Session], make_story: Stories
) -> None:
    make_story.one(topic="earnings", sentiment="negative", published_at=T0 - timedelta(minutes=5))
    make_story.one(topic="earnings", sentiment="neutral", published_at=T0 - timedelta(minutes=6))
    make_story.one(topic="macro", sentiment="negative", published_at=T0 - timedelta(hours=3))
    make_story.one(topic="macro", sentiment="negative", published_at=T0 - timedelta(days=3))
    make_story.one(topic="macro", sentiment="negative", published_at=T0 + timedelta(minutes=1))
    # A corrected story: the old classification said negative, the current one neutral.
    when = T0 - timedelta(minutes=7)
    make_story.one(topic="earnings", sentiment="negative", published_at=when, external_id="fix")
    make_story.one(topic="earnings", sentiment="neutral", published_at=when, external_id="fix")
    with clean_db() as session:
        counts = queries.scope_counts(session, windows=windows_at(T0, AlertSettings()))
    assert counts["earnings"] == queries.Counts(3, 1, 0, 0)
    assert counts["macro"] == queries.Counts(0, 0, 1, 1)
    assert counts["*"] == queries.Counts(3, 1, 1, 1)


def test_a_burst_fires_once_keeps_its_evidence_and_resolves(
    clean_db: sessionmaker[Session], make_story: Stories
) -> None:
    settings = alert_settings()
    make_story.calm_market(T0)
    burst_ids = set(burst(make_story, T0))

    assert detect_at(clean_db, settings, T0).fired == []  # persistence: 1 of 2
    report = detect_at(clean_db, settings, T0 + timedelta(seconds=30))
    assert len(report.fired) == 1
    for i in range(2, 10):  # still spiking: no second alert
        assert detect_at(clean_db, settings, T0 + timedelta(seconds=30 * i)).fired == []

    with clean_db() as session:
        alert = session.scalars(select(Alert)).one()
        assert (alert.scope, alert.status, alert.threshold) == ("earnings", "firing", 3.0)
        assert alert.window_count == 30 + 50 and alert.window_negative >= 20
        assert alert.observed_share == pytest.approx(alert.window_negative / alert.window_count)
        assert alert.statistic >= 3.0 and alert.p_value < 0.01
        assert 0.13 < alert.baseline_share < 0.17
        negative_burst = set(
            session.scalars(
                select(Story.id)
                .join(Classification, Classification.story_id == Story.id)
                .where(Story.id.in_(burst_ids), Classification.sentiment == "negative")
            )
        )
        assert len(alert.story_ids) == settings.top_stories
        assert set(alert.story_ids) <= negative_burst | _negatives(session, "earnings")
        confidences = [_confidence(session, i) for i in alert.story_ids]
        assert confidences == sorted(confidences, reverse=True)

    later = T0 + timedelta(hours=1, minutes=1)  # the burst has left the window
    assert detect_at(clean_db, settings, later).resolved == []  # hysteresis: 1 of 2
    assert detect_at(clean_db, settings, later + timedelta(seconds=30)).resolved == [alert.id]
    with clean_db() as session:
        closed = session.get(Alert, alert.id)
        assert closed is not None and closed.status == "resolved"
        assert closed.details is not None and closed.details["resolution"]["statistic"] < 1.0


def test_state_survives_a_restart_and_the_clock_must_move(
    pg_url: str, clean_db: sessionmaker[Session], make_story: Stories
) -> None:
    settings = alert_settings()
    make_story.calm_market(T0)
    burst(make_story, T0)
    detect_at(clean_db, settings, T0)
    detect_at(clean_db, settings, T0)  # same 'now' (a stalled data clock) must not count twice
    with clean_db() as session:
        assert session.get(AlertScopeState, "earnings").above == 1  # type: ignore[union-attr]
    # A new process: new engine, same database.
    engine = make_engine(pg_url)
    try:
        report = detect_at(make_sessionmaker(engine), settings, T0 + timedelta(seconds=30))
        assert len(report.fired) == 1
    finally:
        engine.dispose()


def test_cooldown_after_resolve(clean_db: sessionmaker[Session], make_story: Stories) -> None:
    settings = alert_settings(persistence_evaluations=1, resolve_evaluations=1, cooldown_s=3600)
    make_story.calm_market(T0 + timedelta(hours=4))
    burst(make_story, T0)
    assert len(detect_at(clean_db, settings, T0).fired) == 1
    assert len(detect_at(clean_db, settings, T0 + timedelta(hours=1, minutes=1)).resolved) == 1
    # A stronger new spike inside the cooldown (to 2:01): significant, but held back.
    burst(make_story, T0 + timedelta(hours=2), count=60)
    held = detect_at(clean_db, settings, T0 + timedelta(hours=2)).fired
    assert "earnings" not in _scopes(clean_db, held)  # (the market may fire: it is not cooling)
    with clean_db() as session:
        assert session.get(AlertScopeState, "earnings").above == 1  # type: ignore[union-attr]
    fired = detect_at(clean_db, settings, T0 + timedelta(hours=2, minutes=2)).fired
    assert _scopes(clean_db, fired) == ["earnings"]


def test_the_same_sql_works_on_sqlite(tmp_path: Path) -> None:
    with sqlite_sessions(tmp_path / "alerts.db") as sessions:
        stories = Stories(sessions)
        stories.calm_market(T0)
        burst(stories, T0)
        settings = alert_settings(clock="data", persistence_evaluations=1)
        report = detect_at(sessions, settings, at=None)
        assert report.now == T0  # the data clock: newest published_at
        assert len(report.fired) == 1
        with sessions() as session:
            alert = session.scalars(select(Alert)).one()
            assert alert.scope == "earnings" and len(alert.story_ids) == 10
    migrate.downgrade(f"sqlite:///{tmp_path / 'alerts.db'}")


def _negatives(session: Session, topic: str) -> set[int]:
    return set(
        session.scalars(
            select(Classification.story_id).where(
                Classification.topic == topic, Classification.sentiment == "negative"
            )
        )
    )


def _confidence(session: Session, story_id: int) -> float:
    return session.scalars(
        select(Classification.sentiment_confidence).where(
            Classification.story_id == story_id, Classification.is_current.is_(True)
        )
    ).one()


def _scopes(sessions: sessionmaker[Session], alert_ids: list[int]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Alert.scope).where(Alert.id.in_(alert_ids))))
