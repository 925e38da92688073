"""The sentiment index (Overview, Alerts): stories, negatives and summed score per time bucket
and topic, live or from the hourly rollup."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial

import pandas as pd
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from monitor.store.models import (
    Classification,
    EntityHourly,
    RollupState,
    SentimentHourly,
    Story,
)
from monitor.store.rollup import ROLLUP_NAME
from monitor.store.sql import as_utc, current_classification, epochs_to_utc, floor_hour, time_bucket

INDEX_COLUMNS = ["bucket", "topic", "stories", "negative", "score_sum"]
# Ranges longer than this read complete hours from the rollup (see `overview_index`).
LIVE_SPAN = timedelta(days=1)


def sentiment_index(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    bucket_s: int,
    topics: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per (time bucket, topic): story count, negative count and summed sentiment score.

    Sums rather than means, so callers can roll topics up into the market exactly. Stories are
    placed by `published_at`; each story counts once (its current classification only).
    """
    bucket = time_bucket(session, Story.published_at, bucket_s).label("bucket")
    stmt = (
        select(
            bucket,
            Classification.topic.label("topic"),
            func.count().label("stories"),
            func.sum(case((Classification.sentiment == "negative", 1), else_=0)).label("negative"),
            func.sum(Classification.sentiment_score).label("score_sum"),
        )
        .join(Classification, current_classification())
        .where(Story.published_at >= start, Story.published_at < end)
        .group_by(bucket, Classification.topic)
    )
    return index_frame(session, stmt, Classification.topic, topics)


def market_index(index: pd.DataFrame) -> pd.DataFrame:
    """Roll a per-topic `sentiment_index` frame up into one row per bucket (the whole market)."""
    if index.empty:
        return finish_index(pd.DataFrame(columns=INDEX_COLUMNS))
    rolled = index.groupby("bucket", as_index=False)[["stories", "negative", "score_sum"]].sum()
    rolled.insert(1, "topic", "Market")
    return finish_index(rolled)


def index_frame(
    session: Session, stmt: Select, topic: InstrumentedAttribute[str], topics: Sequence[str] | None
) -> pd.DataFrame:
    """Run an index query (rows of INDEX_COLUMNS), narrowed to `topics` when given."""
    if topics:
        stmt = stmt.where(topic.in_(list(topics)))
    return finish_index(pd.DataFrame(session.execute(stmt).all(), columns=INDEX_COLUMNS))


def finish_index(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({"stories": "int64", "negative": "int64", "score_sum": "float64"})
    if not isinstance(frame["bucket"].dtype, pd.DatetimeTZDtype):
        # Epoch seconds from SQL (an empty frame too, so its dtype is right).
        frame["bucket"] = epochs_to_utc(frame["bucket"])
    frame["negative_share"] = (frame["negative"] / frame["stories"]).astype("float64")
    frame["mean_score"] = (frame["score_sum"] / frame["stories"]).astype("float64")
    return frame.sort_values(["bucket", "topic"], ignore_index=True)


def overview_index(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    bucket_s: int,
    topics: Sequence[str] | None = None,
) -> pd.DataFrame:
    """`sentiment_index` as the Overview reads it: equal results, cheaper over long ranges.

    Ranges up to `LIVE_SPAN` (and buckets that are not whole hours) are queried live. Longer
    ones take the complete hours the rollup holds (`sentiment_hourly`, kept by
    `monitor.store.rollup` in `monitor schedule`) and only the rest live: the partial first hour
    and everything from the hour of the rollup's last run on. Without a rollup (the schedule not
    running yet) the whole range is live, slower but the same.
    """
    live = partial(sentiment_index, session, bucket_s=bucket_s, topics=topics)
    whole_hours = end - start > LIVE_SPAN and bucket_s % 3600 == 0
    until = rolled_until(session) if whole_hours else None
    return combined_index(
        lambda lo, hi: live(start=lo, end=hi),
        lambda lo, hi: hourly_index(session, start=lo, end=hi, bucket_s=bucket_s, topics=topics),
        start=start,
        end=end,
        until=until,
    )


def rollup_split(
    start: datetime, end: datetime, until: datetime | None
) -> tuple[tuple[datetime, datetime] | None, list[tuple[datetime, datetime]]]:
    """[start, end) as the complete hours a rollup that ran up to `until` holds (None: none)
    and the ranges to read live: the partial first hour and everything from `until` on."""
    first_hour = floor_hour(start + timedelta(hours=1) - timedelta(microseconds=1))
    if until is None or (split := min(until, floor_hour(end))) <= first_hour:
        return None, [(start, end)]
    return (first_hour, split), [
        (lo, hi) for lo, hi in ((start, first_hour), (split, end)) if lo < hi
    ]


Reader = Callable[[datetime, datetime], pd.DataFrame]


def combined_index(
    live: Reader, hourly: Reader, *, start: datetime, end: datetime, until: datetime | None
) -> pd.DataFrame:
    """An index (INDEX_COLUMNS) over [start, end): the complete hours from `hourly` (a rollup
    that ran up to `until`), the rest from `live`; summed where a bucket straddles the two."""
    rolled, live_ranges = rollup_split(start, end, until)
    if rolled is None:
        return live(start, end)  # no complete rolled-up hour to take
    parts = [hourly(*rolled)] + [live(lo, hi) for lo, hi in live_ranges]
    frames = [f[INDEX_COLUMNS] for f in parts if len(f)]
    if not frames:
        return parts[0]
    # A bucket can straddle a boundary (a partial first hour, or buckets of several hours).
    combined = pd.concat(frames, ignore_index=True)
    summed = combined.groupby(["bucket", "topic"], as_index=False)[
        ["stories", "negative", "score_sum"]
    ].sum()
    return finish_index(summed[INDEX_COLUMNS])


def hourly_index(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    bucket_s: int,
    topics: Sequence[str] | None = None,
) -> pd.DataFrame:
    """`sentiment_index` from the rollup: whole hours [start, end), `bucket_s` whole hours."""
    return rollup_index(
        session, SentimentHourly, SentimentHourly.topic, start, end, bucket_s, topics
    )


def rollup_index(
    session: Session,
    rollup: type[SentimentHourly | EntityHourly],
    key: InstrumentedAttribute[str],
    start: datetime,
    end: datetime,
    bucket_s: int,
    keys: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The index (INDEX_COLUMNS, `key` in `topic`) from an hourly rollup table: whole hours
    [start, end), `bucket_s` whole hours."""
    bucket = time_bucket(session, rollup.hour, bucket_s).label("bucket")
    stmt = (
        select(
            bucket,
            key,
            func.sum(rollup.stories),
            func.sum(rollup.negative),
            func.sum(rollup.score_sum),
        )
        .where(rollup.hour >= start, rollup.hour < end)
        .group_by(bucket, key)
    )
    return index_frame(session, stmt, key, keys)


def rolled_until(session: Session, name: str = ROLLUP_NAME) -> datetime | None:
    """Where a rollup's complete hours end: the start of the hour of its last run."""
    refreshed = session.scalar(select(RollupState.refreshed_at).where(RollupState.name == name))
    return floor_hour(as_utc(refreshed)) if refreshed is not None else None
