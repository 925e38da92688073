"""Watchlist alerts against PostgreSQL: per-entity counts (once per story, the sentiment towards
the entity), one alert per burst through the lifecycle, payloads naming the entity, silences,
`*`, and no collision between a topic and an entity of the same name."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts import entity_queries, silences, watchlist
from monitor.alerts.stats import Counts
from monitor.settings.alerts import AlertSettings, EntityAlertSettings
from monitor.store.models import Alert, AlertScopeState, StoryEntity, WebhookDelivery
from tests.alerts.conftest import (
    T0,
    Receiver,
    Stories,
    alert_settings,
    detect_at,
    spread,
    sqlite_sessions,
)
from tests.factories import NewStory, write_stories

pytestmark = pytest.mark.integration

SECTORS = {
    "AAPL": "Information Technology",
    "MSFT": "Information Technology",
    "XOM": "Energy",
    "JPM": "Financials",
}


def watch_settings(watchlist: str = "AAPL", **overrides: Any) -> AlertSettings:
    entity = EntityAlertSettings(window_s=3600, baseline_s=6 * 3600, min_window_count=8)
    return alert_settings(watchlist=watchlist, entity=entity, **overrides)


def entity_stream(
    sessions: sessionmaker[Session],
    entity: str,
    start: datetime,
    end: datetime,
    *,
    per_hour: float,
    negative_share: float,
    tag: str = "calm",
    story_sentiment: str | None = None,
) -> list[int]:
    """Evenly spaced stories about `entity` in (start, end]; every k-th is negative towards it
    (the story's own sentiment is `story_sentiment`, or the same)."""
    stories = []
    for i, published_at, negative in spread(start, end, per_hour, negative_share):
        towards = "negative" if negative else "neutral"
        stories.append(
            NewStory(
                f"{tag} {entity} story {i}",
                published_at=published_at,
                topic="Earnings",
                sentiment=story_sentiment or towards,
                source="test",
                entities={entity: (towards, -0.8 if negative else 0.0)},
                sectors={entity: SECTORS.get(entity, "Industrials")},
            )
        )
    return write_stories(sessions, stories)


def calm(sessions: sessionmaker[Session], now: datetime, entities: tuple[str, ...]) -> None:
    """7 h of 20%-negative coverage, 6 stories an hour, about each entity, up to `now`."""
    for entity in entities:
        entity_stream(
            sessions, entity, now - timedelta(hours=7), now, per_hour=6, negative_share=0.2
        )


def negative_burst(
    sessions: sessionmaker[Session], entity: str, now: datetime, count: int = 14, **kw: Any
) -> list[int]:
    """`count` stories negative towards `entity` in the half hour before `now`."""
    return entity_stream(
        sessions,
        entity,
        now - timedelta(minutes=30),
        now,
        per_hour=2 * count,
        negative_share=1.0,
        tag="burst",
        **kw,
    )


def entity_alerts(sessions: sessionmaker[Session], ids: list[int]) -> list[Alert]:
    """The watchlist alerts among `ids` (a thin test market may fire a topic alert too)."""
    with sessions() as session:
        query = select(Alert).where(Alert.id.in_(ids), Alert.scope_kind == "entity")
        return list(session.scalars(query))


def deliveries(sessions: sessionmaker[Session]) -> list[dict[str, Any]]:
    with sessions() as session:
        rows = session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
        return [row.payload for row in rows]


def test_counts_once_per_entity_with_the_sentiment_towards_it(
    clean_db: sessionmaker[Session],
) -> None:
    # "Apple beats Microsoft": positive story, negative towards MSFT, positive towards AAPL.
    write_stories(
        clean_db,
        [
            NewStory(
                "Apple beats Microsoft",
                published_at=T0 - timedelta(minutes=5),
                sentiment="positive",
                entities={"AAPL": "positive", "MSFT": "negative"},
                sectors=SECTORS,
            ),
            NewStory(
                "Microsoft slides",
                published_at=T0 - timedelta(hours=3),
                sentiment="negative",
                entities={"MSFT": "negative"},
                sectors=SECTORS,
            ),
        ],
    )
    windows = watchlist.windows_at(T0, watch_settings())
    with clean_db() as session:
        counts = entity_queries.entity_counts(session, windows=windows, entities=None)
        only = entity_queries.entity_counts(session, windows=windows, entities=frozenset({"MSFT"}))
        prior = entity_queries.baseline_share(session, windows=windows, default=0.2)
    assert counts["AAPL"].counts == Counts(1, 0, 0, 0)
    assert counts["MSFT"].counts == Counts(1, 1, 1, 1)
    assert counts["MSFT"].sector == "Information Technology"
    assert set(only) == {"MSFT"}
    assert prior == 1.0  # the baseline's one entity row is negative


def test_a_burst_fires_one_alert_naming_the_entity_then_resolves(
    clean_db: sessionmaker[Session], receiver: Receiver
) -> None:
    settings = watch_settings(webhooks=[receiver.endpoint()])
    calm(clean_db, T0, ("AAPL", "MSFT", "XOM"))
    # The stories are positive overall ("Rival beats Apple"), negative towards AAPL.
    burst_ids = set(negative_burst(clean_db, "AAPL", T0, story_sentiment="positive"))

    assert detect_at(clean_db, settings, T0).fired == []  # persistence: 1 of 2
    report = detect_at(clean_db, settings, T0 + timedelta(seconds=30))
    assert len(report.fired) == 1
    for i in range(2, 6):  # both signals stay high: still one alert
        assert detect_at(clean_db, settings, T0 + timedelta(seconds=30 * i)).fired == []

    with clean_db() as session:
        alert = session.scalars(select(Alert)).one()
        assert (alert.scope, alert.scope_kind, alert.status) == ("AAPL", "entity", "firing")
        assert alert.signal in ("share", "volume")
        assert alert.fingerprint == "negative-spike:entity:AAPL"
        assert alert.window_negative >= 14 and alert.statistic >= alert.threshold
        assert len(alert.story_ids) == 10 and set(alert.story_ids) & burst_ids
        towards = session.scalars(
            select(StoryEntity.sentiment).where(
                StoryEntity.entity == "AAPL", StoryEntity.story_id.in_(alert.story_ids)
            )
        ).all()
        assert towards == ["negative"] * 10
        assert alert.details is not None
        assert set(alert.details["signals"]) == {"share", "volume"}
        assert session.get(AlertScopeState, "entity:AAPL") is not None
        assert session.get(AlertScopeState, "AAPL") is None  # no topic state for it

    [firing] = deliveries(clean_db)
    data = firing["data"]
    assert firing["type"] == "alert.firing"
    assert (data["scope"], data["scope_kind"], data["signal"]) == ("AAPL", "entity", alert.signal)
    assert set(data["signals"]) == {"share", "volume"}
    assert data["entity"] == {
        "key": "AAPL",
        "name": "Apple Inc.",
        "sector": "Information Technology",
    }
    assert data["window"]["negative"] == alert.window_negative
    assert data["volume"]["observed"] == alert.window_negative
    assert data["volume"]["expected"] < 2 and data["volume"]["rate_ratio"] > 5
    assert data["severity"] in ("critical", "warning", "info")
    story = data["top_stories"][0]
    story = next(s for s in data["top_stories"] if s["headline"].startswith("burst AAPL"))
    assert story["sentiment"] == "positive"  # the story's own
    assert story["entity"]["sentiment"] == "negative"  # towards the company
    assert story["entity"]["key"] == "AAPL"

    later = T0 + timedelta(hours=1, minutes=1)  # the burst has left the window
    assert detect_at(clean_db, settings, later).resolved == []  # hysteresis: 1 of 2
    assert detect_at(clean_db, settings, later + timedelta(seconds=30)).resolved == [alert.id]
    resolved = deliveries(clean_db)[-1]
    assert resolved["type"] == "alert.resolved"
    assert resolved["data"]["status"] == "resolved"
    assert resolved["data"]["entity"]["key"] == "AAPL"


def test_volume_alone_fires_when_the_share_cannot_move(clean_db: sessionmaker[Session]) -> None:
    """A name always covered negatively: the share is flat at 100%, the volume is the event."""
    settings = watch_settings("JPM", persistence_evaluations=1)
    entity_stream(clean_db, "JPM", T0 - timedelta(hours=7), T0, per_hour=1, negative_share=1.0)
    negative_burst(clean_db, "JPM", T0, count=12)
    [alert] = entity_alerts(clean_db, detect_at(clean_db, settings, T0).fired)
    assert alert.signal == "volume"
    assert alert.details is not None and alert.details["signals"] == ["volume"]
    assert alert.threshold == settings.entity.volume_fire_z


def test_watchlist_off_star_and_unwatched(clean_db: sessionmaker[Session]) -> None:
    calm(clean_db, T0, ("AAPL", "MSFT"))
    negative_burst(clean_db, "MSFT", T0)
    entity_stream(clean_db, "ZZZ", T0 - timedelta(minutes=20), T0, per_hour=6, negative_share=1)
    one = {"persistence_evaluations": 1}
    off = detect_at(clean_db, alert_settings(**one), T0).fired  # off by default
    assert entity_alerts(clean_db, off) == []
    not_watched = detect_at(clean_db, watch_settings("AAPL", **one), T0 + timedelta(seconds=1))
    assert entity_alerts(clean_db, not_watched.fired) == []
    every = detect_at(clean_db, watch_settings("*", **one), T0 + timedelta(seconds=2)).fired
    [alert] = entity_alerts(clean_db, every)
    assert alert.scope == "MSFT"
    with clean_db() as session:
        states = set(session.scalars(select(AlertScopeState.scope)))
    assert "entity:MSFT" in states
    # 6 stories (1 negative) in the hour, 2 stories: below both minimums, not evaluated
    assert "entity:AAPL" not in states and "entity:ZZZ" not in states


def test_a_topic_and_an_entity_of_the_same_name_never_collide(
    clean_db: sessionmaker[Session], make_story: Stories
) -> None:
    """A topic called 'AAPL' (made up) and the entity AAPL burst together: two alerts, two
    fingerprints, two states."""
    settings = watch_settings(persistence_evaluations=1)
    make_story.calm_market(T0)
    make_story.stream("AAPL", T0 - timedelta(minutes=59), T0, per_hour=30, negative_share=0.8)
    calm(clean_db, T0, ("AAPL",))
    negative_burst(clean_db, "AAPL", T0)
    fired = detect_at(clean_db, settings, T0).fired
    with clean_db() as session:
        alerts = session.scalars(select(Alert).where(Alert.id.in_(fired))).all()
        pairs = {(a.scope_kind, a.fingerprint) for a in alerts if a.scope == "AAPL"}
        assert pairs == {
            ("topic", "negative-spike:AAPL"),
            ("entity", "negative-spike:entity:AAPL"),
        }
        assert session.get(AlertScopeState, "AAPL") is not None
        assert session.get(AlertScopeState, "entity:AAPL") is not None
    # Both keep their own lifecycle: the next evaluations open nothing new.
    assert detect_at(clean_db, settings, T0 + timedelta(seconds=30)).fired == []


@pytest.mark.parametrize(
    ("matcher", "glob", "held"),
    [("AAPL", False, True), ("entity:AAPL", False, True), ("entity:*", True, True),
     ("AA*", True, True), ("Earnings", False, False)],
)  # fmt: skip
def test_silences_match_the_entity_key_or_entity_colon_key(
    clean_db: sessionmaker[Session], matcher: str, glob: bool, held: bool
) -> None:
    settings = watch_settings(persistence_evaluations=1)
    calm(clean_db, T0, ("AAPL",))
    negative_burst(clean_db, "AAPL", T0)
    now = datetime.now(T0.tzinfo)
    with clean_db.begin() as session:
        silences.add_silence(
            session,
            matcher=matcher,
            is_glob=glob,
            ends_at=now + timedelta(hours=1),
            created_by="desk",
            reason="earnings call",
            now=now,
        )
    report = detect_at(clean_db, settings, T0)
    assert (report.held == ["entity:AAPL"]) is held
    assert (entity_alerts(clean_db, report.fired) == []) is held


def test_a_firing_entity_dropped_from_the_watchlist_still_resolves(
    clean_db: sessionmaker[Session],
) -> None:
    calm(clean_db, T0, ("AAPL", "MSFT"))
    negative_burst(clean_db, "AAPL", T0)
    one = {"persistence_evaluations": 1, "resolve_evaluations": 1}
    [alert] = entity_alerts(clean_db, detect_at(clean_db, watch_settings("AAPL", **one), T0).fired)
    later = T0 + timedelta(hours=1, minutes=1)
    report = detect_at(clean_db, watch_settings("MSFT", **one), later)
    assert alert.id in report.resolved


def test_the_same_sql_works_on_sqlite(tmp_path: Path) -> None:
    with sqlite_sessions(tmp_path / "watch.db") as sessions:
        calm(sessions, T0, ("AAPL",))
        negative_burst(sessions, "AAPL", T0)
        settings = watch_settings("aapl", clock="data", persistence_evaluations=1)
        report = detect_at(sessions, settings, at=None)
        assert report.now is not None and abs(report.now - T0) < timedelta(seconds=1)
        [alert] = entity_alerts(sessions, report.fired)
        assert (alert.scope, alert.scope_kind) == ("AAPL", "entity")


def test_an_unreadable_dictionary_costs_the_name_not_the_alert(
    clean_db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MONITOR_ENTITIES__DICTIONARY", str(tmp_path / "missing.csv"))
    calm(clean_db, T0, ("AAPL",))
    negative_burst(clean_db, "AAPL", T0)
    fired = detect_at(clean_db, watch_settings(persistence_evaluations=1), T0).fired
    [alert] = entity_alerts(clean_db, fired)
    assert alert.details is not None
    assert alert.details["name"] is None
    assert alert.details["sector"] == "Information Technology"  # from its rows
