"""The dashboard's query functions, on PostgreSQL and on SQLite (both must give the same)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from monitor.store import queries
from monitor.store.sql import MARKET
from tests.factories import add_alert, add_dead_letter, add_story

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_sentiment_index_buckets_topics_and_counts_updates_once(db: sessionmaker) -> None:
    add_story(db, "a", at=T0 + timedelta(minutes=1), topic="Energy | Oil", sentiment="negative")
    add_story(db, "b", at=T0 + timedelta(minutes=2), topic="Energy | Oil", sentiment="positive")
    add_story(db, "c", at=T0 + timedelta(minutes=20), topic="Energy | Oil", sentiment="negative")
    add_story(db, "d1", at=T0 + timedelta(minutes=3), topic="Earnings", external_id="d")
    add_story(db, "d2", at=T0, topic="Earnings", sentiment="negative", external_id="d")
    add_story(db, "late", at=T0 + timedelta(hours=2))  # outside the range

    with db() as session:
        index = queries.sentiment_index(
            session, start=T0, end=T0 + timedelta(hours=1), bucket_s=900
        )
    rows = {(r.bucket.to_pydatetime(), r.topic): r for r in index.itertuples()}
    oil = rows[(T0, "Energy | Oil")]
    assert (oil.stories, oil.negative, oil.negative_share) == (2, 1, 0.5)
    assert oil.mean_score == pytest.approx(0.0)
    assert rows[(T0 + timedelta(minutes=15), "Energy | Oil")].stories == 1
    earnings = rows[(T0, "Earnings")]
    assert (earnings.stories, earnings.negative) == (1, 1)  # current labels of the update only
    assert len(index) == 3

    market = queries.market_index(index)
    first = market.iloc[0]
    assert (first.topic, first.stories, first.negative) == ("Market", 3, 2)

    with db() as session:
        only = queries.sentiment_index(
            session, start=T0, end=T0 + timedelta(hours=1), bucket_s=900, topics=["Earnings"]
        )
    assert only["topic"].unique().tolist() == ["Earnings"]


def test_sentiment_index_empty(db: sessionmaker) -> None:
    with db() as session:
        index = queries.sentiment_index(session, start=T0, end=T0 + timedelta(hours=1), bucket_s=60)
    assert index.empty
    assert queries.market_index(index).empty


def test_news_feed_one_row_per_story_newest_first(db: sessionmaker) -> None:
    add_story(db, "Old headline", at=T0, external_id="s1", sentiment="positive")
    add_story(db, "Corrected headline", at=T0, external_id="s1", sentiment="negative")
    add_story(db, "Later story", at=T0 + timedelta(minutes=5))
    with db() as session:
        page = queries.news_feed(session)
    assert page.rows["headline"].tolist() == ["Later story", "Corrected headline"]
    corrected = page.rows.iloc[1]
    assert (corrected.sentiment, corrected.version) == ("negative", 2)
    assert not page.has_more


def test_news_feed_filters_and_search(db: sessionmaker) -> None:
    add_story(db, "Oil jumps 5%", at=T0, topic="Energy | Oil", sentiment="positive", source="a")
    add_story(db, "OPEC_cut surprises", at=T0 + timedelta(minutes=1), topic="Energy | Oil")
    add_story(db, "Bank beats", at=T0 + timedelta(minutes=2), source="b", sentiment="negative")

    def headlines(**criteria: object) -> list[str]:
        with db() as session:
            page = queries.news_feed(session, filters=queries.NewsFilter(**criteria))
        return sorted(page.rows["headline"])

    assert headlines(topics=["Energy | Oil"]) == ["OPEC_cut surprises", "Oil jumps 5%"]
    assert headlines(sentiments=["negative"]) == ["Bank beats"]
    assert headlines(sources=["a", "b"]) == ["Bank beats", "Oil jumps 5%"]
    assert headlines(text="oil") == ["Oil jumps 5%"]  # case-insensitive
    assert headlines(text="5%") == ["Oil jumps 5%"]  # % is literal, not a wildcard
    assert headlines(text="c_t") == []  # so is _
    assert headlines(text="opec_") == ["OPEC_cut surprises"]
    assert headlines(start=T0 + timedelta(minutes=1), end=T0 + timedelta(minutes=2)) == [
        "OPEC_cut surprises"
    ]


def test_news_feed_pages(db: sessionmaker) -> None:
    for i in range(5):
        add_story(db, f"story {i}", at=T0 + timedelta(minutes=i))
    with db() as session:
        first = queries.news_feed(session, limit=2)
        last = queries.news_feed(session, limit=2, offset=4)
    assert first.rows["headline"].tolist() == ["story 4", "story 3"] and first.has_more
    assert last.rows["headline"].tolist() == ["story 0"] and not last.has_more


def test_news_sources_distinct_sorted(db: sessionmaker) -> None:
    for source in ("wire-b", "wire-a", "wire-b", "social"):
        add_story(db, "x", at=T0, source=source)
    with db() as session:
        assert queries.news_sources(session) == ["social", "wire-a", "wire-b"]


def test_throughput_fills_empty_minutes(db: sessionmaker) -> None:
    add_story(db, "a", at=T0, ingested_at=T0 + timedelta(seconds=10))
    add_story(db, "b", at=T0, ingested_at=T0 + timedelta(seconds=50))
    add_story(db, "c", at=T0, ingested_at=T0 + timedelta(minutes=3))
    with db() as session:
        frame = queries.throughput(session, start=T0, end=T0 + timedelta(minutes=4))
    assert frame["stories"].tolist() == [2, 0, 0, 1, 0]
    assert frame["bucket"].iloc[0].to_pydatetime() == T0


def test_dead_letters_newest_first(db: sessionmaker) -> None:
    for i, reason in enumerate(["not JSON", "headline missing"]):
        add_dead_letter(db, reason, value=b"\xff{bad", at=T0 + timedelta(minutes=i))
    with db() as session:
        frame = queries.recent_dead_letters(session)
    assert frame["error"].tolist() == ["headline missing", "not JSON"]
    assert frame["value"].iloc[0] == "\ufffd{bad"


def test_models_in_use(db: sessionmaker) -> None:
    add_story(db, "a", at=T0, model_version="old")
    add_story(db, "b", at=T0, model_version="new")
    add_story(db, "c", at=T0, model_version="new")
    with db() as session:
        models = queries.models_in_use(session)
    assert {m.version: round(m.recent_share, 2) for m in models} == {"new": 0.67, "old": 0.33}


def make_alert(sessions: sessionmaker, status: str = "firing", scope: str = "Dividend") -> int:
    """An alert whose 15-minute window starts at T0."""
    window_end = T0 + timedelta(minutes=15)
    return add_alert(
        sessions, status=status, scope=scope, window_end=window_end, story_ids=[3, 1]
    ).id


def test_alerts_listing_and_detail(db: sessionmaker) -> None:
    firing = make_alert(db)
    make_alert(db, status="resolved", scope=MARKET)
    with db() as session:
        assert [a.id for a in queries.firing_alerts(session)] == [firing]
        assert len(queries.list_alerts(session)) == 2
        assert [a.label for a in queries.list_alerts(session, status="resolved")] == ["Market"]
        alert = queries.get_alert(session, alert_id=firing)
        assert queries.get_alert(session, alert_id=10_000) is None
    assert alert is not None
    assert alert.story_ids == [3, 1]
    assert alert.window_start == T0  # timezone-aware on both backends


def test_acknowledge_alert_records_who_and_when(db: sessionmaker) -> None:
    alert_id = make_alert(db)
    moment = T0 + timedelta(hours=1)
    with db.begin() as session:
        assert queries.acknowledge_alert(session, alert_id=alert_id, who=" bob ", at=moment)
    with pytest.raises(queries.AlertNotFound), db.begin() as session:
        queries.acknowledge_alert(session, alert_id=10_000, who="bob")
    with db() as session:
        alert = queries.get_alert(session, alert_id=alert_id)
    assert alert is not None
    assert (alert.acknowledged_by, alert.acknowledged_at) == ("bob", moment)
    with db() as session, pytest.raises(ValueError):
        queries.acknowledge_alert(session, alert_id=alert_id, who="  ")


def test_the_first_acknowledgement_wins_and_a_second_is_reported(db: sessionmaker) -> None:
    alert_id = make_alert(db)
    with db.begin() as session:
        queries.acknowledge_alert(session, alert_id=alert_id, who="ana", at=T0)
    with pytest.raises(queries.AlreadyAcknowledged) as taken, db.begin() as session:
        queries.acknowledge_alert(session, alert_id=alert_id, who="bob")
    assert (taken.value.alert.acknowledged_by, taken.value.alert.acknowledged_at) == ("ana", T0)
    assert "already acknowledged by ana" in str(taken.value)
    with db() as session:
        alert = queries.get_alert(session, alert_id=alert_id)
    assert alert is not None
    assert (alert.acknowledged_by, alert.acknowledged_at) == ("ana", T0)


def test_two_people_acknowledging_at_once_cannot_both_win(
    clean_db: sessionmaker[Session],
) -> None:
    """The second UPDATE waits on the first's row lock, then finds the alert taken."""
    alert_id = make_alert(clean_db)
    outcome: list[object] = []

    def second() -> None:
        try:
            with clean_db.begin() as session:
                outcome.append(queries.acknowledge_alert(session, alert_id=alert_id, who="bob"))
        except queries.AlreadyAcknowledged as taken:
            outcome.append(taken)

    with clean_db.begin() as session:
        queries.acknowledge_alert(session, alert_id=alert_id, who="ana")
        racer = threading.Thread(target=second)
        racer.start()
        racer.join(timeout=1.0)
        assert racer.is_alive()  # blocked on ana's uncommitted row
    racer.join(timeout=30)
    [result] = outcome
    assert isinstance(result, queries.AlreadyAcknowledged)
    assert result.alert.acknowledged_by == "ana"


def test_stories_by_ids(db: sessionmaker) -> None:
    first = add_story(db, "first", at=T0)
    second = add_story(db, "second", at=T0 + timedelta(minutes=1))
    with db() as session:
        frame = queries.stories_by_ids(session, ids=[first, second, 999])
        assert queries.stories_by_ids(session, ids=[]).empty
    assert frame["headline"].tolist() == ["second", "first"]


def test_reader_engine_tunes_postgres(pg_url: str) -> None:
    from sqlalchemy import text

    engine = queries.make_reader_engine(pg_url)
    with engine.connect() as connection:
        assert connection.execute(text("SHOW random_page_cost")).scalar() == "1.1"
        assert connection.execute(text("SHOW enable_hashjoin")).scalar() == "off"
    engine.dispose()
