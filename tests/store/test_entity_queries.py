"""The entity read queries (Company page, top movers, `monitor entities`), on PostgreSQL and
SQLite: the sentiment towards an entity, live and from the entity_hourly rollup, once per story
and entity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.orm import sessionmaker

from monitor.store import queries, rollup
from monitor.store.models import EntityHourly, RollupState
from tests.factories import add_alert, add_story

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
TECH = {"AAPL": "Information Technology", "MSFT": "Information Technology", "XOM": "Energy"}


def story(db: sessionmaker, minutes: float, entities: dict, **fields: Any) -> int:
    return add_story(
        db,
        fields.pop("headline", f"story at {minutes}"),
        at=T0 + timedelta(minutes=minutes),
        entities=entities,
        sectors={e: TECH[e] for e in entities if e in TECH},
        **fields,
    )


def test_entity_index_counts_the_sentiment_towards_the_entity(db: sessionmaker) -> None:
    # Apple beats Microsoft: the story is positive, negative towards MSFT.
    story(db, 1, {"AAPL": "positive", "MSFT": ("negative", -0.6)}, sentiment="positive")
    story(db, 2, {"AAPL": ("negative", -0.5)}, sentiment="neutral")
    story(db, 20, {"AAPL": "positive"})
    story(db, 3, {"MSFT": "negative"}, external_id="upd")
    story(db, 4, {"MSFT": "positive"}, external_id="upd")  # the update replaces its rows
    story(db, 90, {"AAPL": "negative"})  # outside the range

    with db() as session:
        index = queries.entity_index(session, start=T0, end=T0 + timedelta(hours=1), bucket_s=900)
    rows = {(r.bucket.to_pydatetime(), r.topic): r for r in index.itertuples()}
    apple = rows[(T0, "AAPL")]
    assert (apple.stories, apple.negative) == (2, 1)
    assert apple.score_sum == pytest.approx(0.8 - 0.5)
    msft = rows[(T0, "MSFT")]
    assert (msft.stories, msft.negative) == (2, 1)  # the updated story counts once
    assert msft.score_sum == pytest.approx(-0.6 + 0.8)
    assert rows[(T0 + timedelta(minutes=15), "AAPL")].stories == 1
    assert len(index) == 3


def test_entity_series_takes_complete_hours_from_the_rollup(db: sessionmaker) -> None:
    # Live rows in the first (partial) and last hours; the middle hours only in the rollup.
    story(db, -30, {"AAPL": "negative"})
    story(db, 24 * 60 + 10, {"AAPL": "positive"})
    with db.begin() as session:
        session.execute(
            insert(EntityHourly),
            [
                {
                    "entity": "AAPL",
                    "hour": T0 + timedelta(hours=h),
                    "sector": "Information Technology",
                    "stories": 10,
                    "negative": 4,
                    "neutral": 3,
                    "positive": 3,
                    "score_sum": -1.5,
                }
                for h in range(24)
            ],
        )
        session.add(RollupState(name=queries.ENTITY_ROLLUP, refreshed_at=T0 + timedelta(hours=24)))
    with db() as session:
        series = queries.entity_series(
            session,
            entity="AAPL",
            start=T0 - timedelta(minutes=45),  # a partial first hour: live
            end=T0 + timedelta(hours=25),
            bucket_s=3600,
        )
        short = queries.entity_series(
            session, entity="AAPL", start=T0, end=T0 + timedelta(hours=1), bucket_s=900
        )
    assert int(series["stories"].sum()) == 24 * 10 + 2
    assert int(series["negative"].sum()) == 24 * 4 + 1
    assert series["topic"].unique().tolist() == ["AAPL"]
    assert short.empty  # a day or less is read live: the rollup-only hours are not there


def test_top_movers_against_the_entitys_own_baseline(db: sessionmaker) -> None:
    now = T0 + timedelta(days=8)
    for i in range(10):  # baseline: AAPL mostly positive, MSFT mixed, XOM too few stories
        story(db, 60 * 24 * 2 + i, {"AAPL": "positive" if i < 9 else "negative"})
        story(db, 60 * 24 * 2 + i, {"MSFT": "negative" if i % 2 else "positive"})
    story(db, 60 * 24 * 2, {"XOM": "positive"})
    window = now - timedelta(hours=12)
    for i in range(6):  # window: AAPL turns negative, MSFT unchanged, XOM negative (thin)
        add_story(db, f"a{i}", at=window + timedelta(minutes=i), entities={"AAPL": "negative"})
        add_story(
            db,
            f"m{i}",
            at=window + timedelta(minutes=i),
            entities={"MSFT": "negative" if i % 2 else "positive"},
        )
        add_story(db, f"x{i}", at=window + timedelta(minutes=i), entities={"XOM": "negative"})

    with db() as session:
        movers = queries.top_movers(
            session, now=now, window=timedelta(days=1), baseline=timedelta(days=7), min_stories=5
        )
    assert movers["entity"].tolist() == ["AAPL", "MSFT"]  # XOM: 1 baseline story
    apple = movers.iloc[0]
    assert apple.direction == "worse"
    assert (apple.stories, apple.baseline_stories) == (6, 10)
    assert apple.share_change == pytest.approx(1.0 - 0.1)
    assert apple.movement == pytest.approx(0.9)
    assert movers.iloc[1].movement == pytest.approx(0.0)
    assert list(movers.columns) == queries.MOVER_COLUMNS

    with db() as session:
        none = queries.top_movers(session, now=now, window=timedelta(days=1), min_stories=50)
    assert none.empty and list(none.columns) == queries.MOVER_COLUMNS


def test_sector_summary_counts_once_per_entity(db: sessionmaker) -> None:
    story(db, 1, {"AAPL": "negative", "MSFT": "negative"})
    story(db, 2, {"XOM": "positive"})
    story(db, 3, {"ZZZ": "neutral"})  # no sector in the dictionary
    with db() as session:
        sectors = queries.sector_summary(session, start=T0, end=T0 + timedelta(hours=1))
    by = sectors.set_index("sector")
    assert by.loc["Information Technology", "entities"] == 2
    assert by.loc["Information Technology", "stories"] == 2  # one story, two entities
    assert by.loc["Information Technology", "negative_share"] == 1.0
    assert by.loc["Energy", "mean_score"] == pytest.approx(0.8)
    assert "(no sector)" in by.index
    assert sectors.iloc[0].sector == "Information Technology"


def test_entity_stories_show_both_sentiments(db: sessionmaker) -> None:
    beat = story(
        db,
        1,
        {"AAPL": "positive", "MSFT": ("negative", -0.7)},
        sentiment="positive",
        headline="Apple beats Microsoft",
    )
    story(db, 2, {"AAPL": "neutral"})
    with db() as session:
        page = queries.entity_stories(session, entity="MSFT")
        apple = queries.entity_stories(session, entity="AAPL", limit=1)
        of_story = queries.entities_of_stories(session, story_ids=[beat])
        seen = queries.seen_entities(session)
    row = page.rows.iloc[0]
    assert list(page.rows.columns) == queries.ENTITY_STORY_COLUMNS
    assert (row.headline, row.sentiment, row.entity_sentiment) == (
        "Apple beats Microsoft",
        "positive",
        "negative",
    )
    assert row.entity_score == pytest.approx(-0.7)
    assert not page.has_more
    assert apple.has_more and len(apple.rows) == 1
    assert of_story[["entity", "sentiment"]].values.tolist() == [
        ["AAPL", "positive"],
        ["MSFT", "negative"],
    ]
    assert seen == ["AAPL", "MSFT"]


def test_entity_alerts_only_of_that_entity(db: sessionmaker) -> None:
    mine = add_alert(db, scope="AAPL", scope_kind="entity", signal="volume")
    add_alert(db, scope="MSFT", scope_kind="entity")
    add_alert(db, scope="AAPL")  # a topic that happens to be called AAPL
    with db() as session:
        alerts = queries.entity_alerts(session, entity="AAPL")
    assert [a.id for a in alerts] == [mine.id]
    assert (alerts[0].scope_kind, alerts[0].signal) == ("entity", "volume")


def test_series_and_totals_from_the_rollup_equal_the_live_tables(db: sessionmaker) -> None:
    """After `refresh_entity_hourly`, the rollup-backed reads give the live figures."""
    now = T0 + timedelta(days=3)
    for i in range(60):
        story(
            db,
            i * 67.0,  # every 67 minutes over ~2.8 days
            {"AAPL": ("negative", -0.5) if i % 3 else "positive", "MSFT": "neutral"},
        )
    with db.begin() as session:
        rollup.refresh_entity_hourly(session, now=now, published=(T0 - timedelta(days=1), now))
    start, end = T0 + timedelta(minutes=20), now - timedelta(minutes=5)
    with db() as session:
        assert queries.rolled_until(session, queries.ENTITY_ROLLUP) is not None
        live = queries.entity_index(session, start=start, end=end, bucket_s=3600, entities=["AAPL"])
        series = queries.entity_series(session, entity="AAPL", start=start, end=end, bucket_s=3600)
        totals = queries.entity_totals(session, start=start, end=end).set_index("entity")
    columns = ["bucket", "stories", "negative"]
    assert series[columns].to_dict("records") == live[columns].to_dict("records")
    assert series["score_sum"].sum() == pytest.approx(live["score_sum"].sum())
    assert totals.loc["AAPL", "stories"] == live["stories"].sum()
    assert totals.loc["MSFT", "stories"] == live["stories"].sum()  # the same stories


def test_window_stories_of_an_entity_alert(db: sessionmaker) -> None:
    named = story(db, 5, {"AAPL": "negative"}, topic="Markets")
    story(db, 6, {"MSFT": "negative"})
    story(db, 7, {})  # names nobody
    window = {"start": T0, "end": T0 + timedelta(minutes=15)}
    with db() as session:
        count = queries.count_window_stories(session, scope="AAPL", scope_kind="entity", **window)
        page = queries.window_stories(session, scope="AAPL", scope_kind="entity", **window)
        topic = queries.count_window_stories(session, scope="AAPL", **window)
    assert count == 1 and page.rows["story_id"].tolist() == [named]
    assert topic == 0  # as a topic, nothing is called AAPL
