"""The hourly sentiment rollup and the Overview's reads of it, on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from monitor.store import queries, rollup
from monitor.store.models import (
    SentimentHourly,
)
from monitor.store.sql import as_utc
from tests.factories import add_story

T0 = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
END = T0 + timedelta(days=3, hours=5)
TOPICS = ("Earnings", "Energy | Oil", "Macro")
SENTIMENTS = ("negative", "neutral", "positive")


def refresh(sessions: sessionmaker[Session], now: datetime) -> rollup.RollupReport:
    with sessions.begin() as session:
        return rollup.refresh_sentiment_hourly(session, now=now)


def seed(sessions: sessionmaker[Session]) -> None:
    """~3 days of stories, 1 every 37 minutes, labels cycling; two of them updated later."""
    at, i = T0 + timedelta(minutes=7), 0
    while at < END:
        add_story(
            sessions,
            f"s{i}",
            at=at,
            topic=TOPICS[i % 3],
            sentiment=SENTIMENTS[i * 7 % 3],
            external_id=f"e{i}",
        )
        at, i = at + timedelta(minutes=37), i + 1
    # A correction that changes a story's topic and sentiment (same source + external id).
    add_story(sessions, "s4 fixed", at=T0 + timedelta(hours=2, minutes=35), external_id="e4",
              topic="Macro", sentiment="positive")  # fmt: skip


def hourly(sessions: sessionmaker[Session]) -> dict[tuple[datetime, str], tuple[int, ...]]:
    with sessions() as session:
        rows = session.scalars(select(SentimentHourly)).all()
        return {
            (as_utc(r.hour), r.topic): (r.stories, r.negative, r.neutral, r.positive) for r in rows
        }


def assert_same(left: pd.DataFrame, right: pd.DataFrame) -> None:
    assert len(left) > 0
    pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(
    ("start", "bucket_s", "topics"),
    [
        (END - timedelta(days=3), 3600, None),  # unaligned start and end
        (END - timedelta(days=3, minutes=-13), 7200, None),  # buckets straddle the split
        (T0, 3600, ["Macro", "Earnings"]),
    ],
)
def test_overview_index_equals_the_live_query(
    db: sessionmaker[Session], start: datetime, bucket_s: int, topics: list[str] | None
) -> None:
    seed(db)
    end = END - timedelta(minutes=11)
    refresh(db, now=END - timedelta(minutes=50))  # the last hour or so stays live
    with db() as session:
        live = queries.sentiment_index(
            session, start=start, end=end, bucket_s=bucket_s, topics=topics
        )
        assert queries.rolled_until(session) == queries.floor_hour(END - timedelta(minutes=50))
        assert_same(
            queries.overview_index(session, start=start, end=end, bucket_s=bucket_s, topics=topics),
            live,
        )
        # The rolled-up part really comes from the rollup table.
        assert len(queries.hourly_index(session, start=T0, end=END, bucket_s=bucket_s)) > 0

    # A correction after the refresh: equal again once the rollup has run.
    add_story(db, "s10 fixed", at=T0 + timedelta(hours=6, minutes=10), external_id="e10",
              topic="Energy | Oil", sentiment="negative")  # fmt: skip
    refresh(db, now=END - timedelta(minutes=20))
    with db() as session:
        live = queries.sentiment_index(
            session, start=start, end=end, bucket_s=bucket_s, topics=topics
        )
        assert_same(
            queries.overview_index(session, start=start, end=end, bucket_s=bucket_s, topics=topics),
            live,
        )


def test_without_a_rollup_and_for_a_day_the_overview_reads_live(
    db: sessionmaker[Session],
) -> None:
    seed(db)
    with db() as session:
        assert queries.rolled_until(session) is None
        for span in (timedelta(days=3), timedelta(days=1)):
            args = {"start": END - span, "end": END, "bucket_s": 3600}
            assert_same(
                queries.overview_index(session, **args), queries.sentiment_index(session, **args)
            )


def test_refresh_recomputes_only_touched_hours(
    db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rollup, "OVERLAP", timedelta(0))
    monkeypatch.setattr(rollup, "SWEEP_HOURS_PER_RUN", 0)
    h = [T0 + timedelta(hours=n) for n in range(6)]
    for n in (0, 1, 2, 4):
        add_story(db, f"h{n}", at=h[n] + timedelta(minutes=5), external_id=f"h{n}")
    first = refresh(db, now=T0 + timedelta(hours=8))
    assert first.hours == [h[0], h[1], h[2], h[4]]
    assert first.watermark is not None

    # Nothing new: nothing recomputed.
    assert refresh(db, now=T0 + timedelta(hours=8)).hours == []

    # Tamper with an untouched hour: an incremental refresh must leave it alone.
    with db.begin() as session:
        session.execute(
            update(SentimentHourly).where(SentimentHourly.hour == h[0]).values(stories=99)
        )
    add_story(db, "new", at=h[5] + timedelta(minutes=1))
    add_story(
        db, "h2 fixed", at=h[2] + timedelta(minutes=5), external_id="h2", sentiment="negative"
    )
    second = refresh(db, now=T0 + timedelta(hours=8))
    assert second.hours == [h[2], h[5]]
    assert second.watermark is not None and second.watermark >= first.watermark
    rows = hourly(db)
    assert rows[(h[0], "Earnings")][0] == 99  # untouched
    assert rows[(h[2], "Earnings")] == (1, 1, 0, 0)  # recomputed: now negative
    assert rows[(h[5], "Earnings")] == (1, 0, 1, 0)

    # The round-robin sweep re-checks hours nothing marked.
    monkeypatch.setattr(rollup, "SWEEP_HOURS_PER_RUN", 24 * 7 + 1)
    swept = refresh(db, now=T0 + timedelta(hours=8))
    assert h[0] in swept.hours
    assert hourly(db)[(h[0], "Earnings")][0] == 1


def test_corrections_move_counts_between_topics_and_sentiments(
    db: sessionmaker[Session],
) -> None:
    hour = T0 + timedelta(hours=3)
    add_story(db, "a", at=hour + timedelta(minutes=1), topic="Earnings", sentiment="negative",
              external_id="a")  # fmt: skip
    add_story(db, "b", at=hour + timedelta(minutes=2), topic="Earnings", sentiment="neutral")
    refresh(db, now=T0 + timedelta(hours=5))
    assert hourly(db) == {(hour, "Earnings"): (2, 1, 1, 0)}

    add_story(db, "a, corrected", at=hour + timedelta(minutes=1), topic="Macro",
              sentiment="positive", external_id="a")  # fmt: skip
    refresh(db, now=T0 + timedelta(hours=5))
    assert hourly(db) == {(hour, "Earnings"): (1, 0, 1, 0), (hour, "Macro"): (1, 0, 0, 1)}
    with db() as session:
        score = session.scalar(
            select(SentimentHourly.score_sum).where(SentimentHourly.topic == "Macro")
        )
    assert score == pytest.approx(0.8)


def test_rows_outside_the_contract_never_wedge_the_rollup(db: sessionmaker[Session]) -> None:
    """A story dated 9999 (written before the contract bounded published_at) used to make every
    refresh overflow at `hour + 1 h`; now it is outside the range the rollup reads."""
    add_story(db, "from the far future", at=datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
    add_story(db, "from before the range", at=datetime(1980, 1, 1, tzinfo=UTC))
    add_story(db, "an ordinary story", at=T0 + timedelta(minutes=5))
    for _ in range(2):  # the watermark advances, and the next run is as clean
        report = refresh(db, END)
        assert report.watermark is not None
    assert set(hourly(db)) == {(T0, "Earnings")}


def test_an_hour_that_fails_is_skipped_and_the_rest_rolled_up(
    db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for hours in (0, 1, 2):
        add_story(db, f"story {hours}", at=T0 + timedelta(hours=hours, minutes=5))
    recompute = rollup._recompute

    def fail_at_one(session: Session, start: datetime, end: datetime) -> int:
        if start <= T0 + timedelta(hours=1) < end:
            raise OverflowError("date value out of range")
        return recompute(session, start, end)

    monkeypatch.setattr(rollup, "_recompute", fail_at_one)
    report = refresh(db, END)
    assert set(hourly(db)) == {(T0, "Earnings"), (T0 + timedelta(hours=2), "Earnings")}
    assert report.rows == 2
    assert "rollup of hour 2026-11-20T01:00:00+00:00 failed, skipped" in caplog.text
