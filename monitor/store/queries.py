"""Read queries for the dashboard (and the one write it does: acknowledging an alert).

Every function takes the session keyword-only and returns dataclasses or DataFrames, so pages
hold no SQL. All of them run on PostgreSQL and SQLite: the only dialect-specific piece, turning a
timestamp into epoch seconds for time buckets, is chosen in `_epoch_seconds`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from typing import cast as cast_type

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Engine,
    Select,
    and_,
    case,
    cast,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy import Integer as SAInteger
from sqlalchemy.orm import InstrumentedAttribute, Session

from monitor.store.db import make_engine
from monitor.store.models import (
    Alert,
    Classification,
    DeadLetter,
    RollupState,
    SentimentHourly,
    Story,
    utcnow,
)

MARKET = "*"  # the scope of market-wide alerts
READER_STATEMENT_TIMEOUT_MS = 15_000


def make_reader_engine(url: str) -> Engine:
    """An engine for dashboards: on PostgreSQL, planner settings for its key-lookup joins.

    Every join the dashboard makes goes from a time-bounded set of stories to each one's current
    classification by `story_id`, which the covering indexes of migration 0003 answer from the
    index alone. PostgreSQL's default costs (random_page_cost 4, for spinning disks) make it
    hash-join against all classifications instead, 2.5-5x slower at 1M stories
    (bench/bench_dashboard.py): so this engine's connections, and no one else's, price random
    reads as cached/SSD ones and leave hash and merge joins as a last resort. A statement
    timeout keeps a pathological filter from hanging a page.
    """
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _tune_reader_connection)
    return engine


def _tune_reader_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET random_page_cost = 1.1")
    cursor.execute("SET enable_hashjoin = off")
    cursor.execute("SET enable_mergejoin = off")
    cursor.execute(f"SET statement_timeout = {READER_STATEMENT_TIMEOUT_MS}")
    cursor.close()
    dbapi_connection.commit()


# ---------------------------------------------------------------------------------------------
# time buckets


def _epoch_seconds(session: Session, column: InstrumentedAttribute[datetime]) -> ColumnElement[Any]:
    """Seconds since 1970 for a timestamp column, in the SQL of the session's database."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLAlchemy stores SQLite datetimes as UTC text; strftime('%s') parses that text.
        return cast(func.strftime("%s", column), SAInteger)
    # date_part returns float8; extract() returns numeric, several times slower to aggregate.
    return func.date_part("epoch", column)


def _bucket(
    session: Session, column: InstrumentedAttribute[datetime], bucket_s: int
) -> ColumnElement[Any]:
    """The start of the `bucket_s`-second bucket holding `column`, as epoch seconds."""
    seconds = _epoch_seconds(session, column)
    if session.get_bind().dialect.name == "sqlite":
        # Integer division floors (times are after 1970); SQLite may lack floor().
        return (seconds // bucket_s) * bucket_s
    return func.floor(seconds / bucket_s) * bucket_s


def floor_hour(moment: datetime) -> datetime:
    """The start of the UTC hour holding `moment`."""
    return datetime.fromtimestamp(int(moment.timestamp()) // 3600 * 3600, UTC)


def _to_utc(seconds: pd.Series) -> pd.Series:
    return pd.to_datetime(seconds.astype("float64"), unit="s", utc=True)


def _as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC); make every value aware."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# sentiment index (Overview, Alerts)

INDEX_COLUMNS = ["bucket", "topic", "stories", "negative", "score_sum"]


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
    bucket = _bucket(session, Story.published_at, bucket_s).label("bucket")
    stmt = (
        select(
            bucket,
            Classification.topic.label("topic"),
            func.count().label("stories"),
            func.sum(case((Classification.sentiment == "negative", 1), else_=0)).label("negative"),
            func.sum(Classification.sentiment_score).label("score_sum"),
        )
        .join(Classification, _current_of_story())
        .where(Story.published_at >= start, Story.published_at < end)
        .group_by(bucket, Classification.topic)
    )
    if topics:
        stmt = stmt.where(Classification.topic.in_(list(topics)))
    frame = pd.DataFrame(session.execute(stmt).all(), columns=INDEX_COLUMNS)
    return _finish_index(frame)


def market_index(index: pd.DataFrame) -> pd.DataFrame:
    """Roll a per-topic `sentiment_index` frame up into one row per bucket (the whole market)."""
    if index.empty:
        return _finish_index(pd.DataFrame(columns=INDEX_COLUMNS))
    rolled = index.groupby("bucket", as_index=False)[["stories", "negative", "score_sum"]].sum()
    rolled.insert(1, "topic", "Market")
    return _finish_index(rolled)


def _finish_index(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({"stories": "int64", "negative": "int64", "score_sum": "float64"})
    if not isinstance(frame["bucket"].dtype, pd.DatetimeTZDtype):
        # Epoch seconds from SQL (an empty frame too, so its dtype is right).
        frame["bucket"] = _to_utc(frame["bucket"])
    frame["negative_share"] = (frame["negative"] / frame["stories"]).astype("float64")
    frame["mean_score"] = (frame["score_sum"] / frame["stories"]).astype("float64")
    return frame.sort_values(["bucket", "topic"], ignore_index=True)


# Ranges longer than this read complete hours from the rollup (see `overview_index`).
LIVE_SPAN = timedelta(days=1)
ROLLUP_NAME = "sentiment_hourly"


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
    if end - start <= LIVE_SPAN or bucket_s % 3600:
        return sentiment_index(session, start=start, end=end, bucket_s=bucket_s, topics=topics)
    until = rolled_until(session)
    if until is None:
        return sentiment_index(session, start=start, end=end, bucket_s=bucket_s, topics=topics)
    first_hour = floor_hour(start + timedelta(hours=1) - timedelta(microseconds=1))
    split = min(until, floor_hour(end))
    if split <= first_hour:
        return sentiment_index(session, start=start, end=end, bucket_s=bucket_s, topics=topics)
    parts = [hourly_index(session, start=first_hour, end=split, bucket_s=bucket_s, topics=topics)]
    for lo, hi in ((start, first_hour), (split, end)):
        if lo < hi:
            parts.append(
                sentiment_index(session, start=lo, end=hi, bucket_s=bucket_s, topics=topics)
            )
    frames = [f[INDEX_COLUMNS] for f in parts if len(f)]
    if not frames:
        return parts[0]
    # A bucket can straddle a boundary (a partial first hour, or buckets of several hours).
    combined = pd.concat(frames, ignore_index=True)
    summed = combined.groupby(["bucket", "topic"], as_index=False)[
        ["stories", "negative", "score_sum"]
    ].sum()
    return _finish_index(summed[INDEX_COLUMNS])


def hourly_index(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    bucket_s: int,
    topics: Sequence[str] | None = None,
) -> pd.DataFrame:
    """`sentiment_index` from the rollup: whole hours [start, end), `bucket_s` whole hours."""
    bucket = _bucket(session, SentimentHourly.hour, bucket_s).label("bucket")
    stmt = (
        select(
            bucket,
            SentimentHourly.topic,
            func.sum(SentimentHourly.stories),
            func.sum(SentimentHourly.negative),
            func.sum(SentimentHourly.score_sum),
        )
        .where(SentimentHourly.hour >= start, SentimentHourly.hour < end)
        .group_by(bucket, SentimentHourly.topic)
    )
    if topics:
        stmt = stmt.where(SentimentHourly.topic.in_(list(topics)))
    frame = pd.DataFrame(session.execute(stmt).all(), columns=INDEX_COLUMNS)
    return _finish_index(frame)


def rolled_until(session: Session) -> datetime | None:
    """Where the rollup's complete hours end: the start of the hour of its last run."""
    refreshed = session.scalar(
        select(RollupState.refreshed_at).where(RollupState.name == ROLLUP_NAME)
    )
    return floor_hour(_as_utc(refreshed)) if refreshed is not None else None


def _current_of_story() -> ColumnElement[bool]:
    # Bare `is_current` (not `IS true`) so PostgreSQL matches the partial indexes on it.
    return and_(Classification.story_id == Story.id, Classification.is_current)


# ---------------------------------------------------------------------------------------------
# alerts


@dataclass(frozen=True)
class AlertRow:
    """An alert with the figures that justified it."""

    id: int
    scope: str
    status: str
    window_start: datetime
    window_end: datetime
    baseline_start: datetime
    baseline_end: datetime
    window_count: int
    window_negative: int
    baseline_count: int
    baseline_negative: int
    observed_share: float
    baseline_share: float
    statistic: float
    threshold: float
    p_value: float | None
    story_ids: list[int]
    details: dict[str, Any] | None
    opened_at: datetime
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None

    @property
    def label(self) -> str:
        """How people name the alert's scope: the topic, or 'Market' for '*'."""
        return "Market" if self.scope == MARKET else self.scope

    @classmethod
    def from_orm(cls, alert: Alert) -> AlertRow:
        def aware(value: datetime | None) -> datetime | None:
            return _as_utc(value) if value is not None else None

        return cls(
            id=alert.id,
            scope=alert.scope,
            status=alert.status,
            window_start=_as_utc(alert.window_start),
            window_end=_as_utc(alert.window_end),
            baseline_start=_as_utc(alert.baseline_start),
            baseline_end=_as_utc(alert.baseline_end),
            window_count=alert.window_count,
            window_negative=alert.window_negative,
            baseline_count=alert.baseline_count,
            baseline_negative=alert.baseline_negative,
            observed_share=alert.observed_share,
            baseline_share=alert.baseline_share,
            statistic=alert.statistic,
            threshold=alert.threshold,
            p_value=alert.p_value,
            story_ids=[int(i) for i in (alert.story_ids or [])],
            details=alert.details,
            opened_at=_as_utc(alert.opened_at),
            resolved_at=aware(alert.resolved_at),
            acknowledged_at=aware(alert.acknowledged_at),
            acknowledged_by=alert.acknowledged_by,
        )


def firing_alerts(session: Session) -> list[AlertRow]:
    """Alerts firing now, newest first."""
    return list_alerts(session, status="firing", limit=100)


def list_alerts(
    session: Session,
    *,
    status: str | None = None,
    scope: str | None = None,
    limit: int = 200,
) -> list[AlertRow]:
    """Alerts newest first, optionally of one status ('firing' / 'resolved') or scope."""
    stmt = select(Alert).order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Alert.status == status)
    if scope:
        stmt = stmt.where(Alert.scope == scope)
    return [AlertRow.from_orm(alert) for alert in session.scalars(stmt)]


def get_alert(session: Session, *, alert_id: int) -> AlertRow | None:
    alert = session.get(Alert, alert_id)
    return AlertRow.from_orm(alert) if alert is not None else None


def acknowledge_alert(
    session: Session, *, alert_id: int, who: str, at: datetime | None = None
) -> bool:
    """Record who acknowledged an alert and when; False when there is no such alert.

    The dashboard's only write. The caller owns the transaction. Acknowledging again overwrites,
    so the latest person to take it on is the one shown.
    """
    who = who.strip()
    if not who:
        raise ValueError("who must name the person acknowledging")
    result = session.execute(
        update(Alert)
        .where(Alert.id == alert_id)
        .values(acknowledged_at=at or utcnow(), acknowledged_by=who[:128])
    )
    return bool(cast_type(CursorResult[Any], result).rowcount)


# ---------------------------------------------------------------------------------------------
# news stream

NEWS_COLUMNS = [
    "story_id",
    "published_at",
    "source",
    "headline",
    "url",
    "topic",
    "topic_confidence",
    "sentiment",
    "sentiment_confidence",
    "sentiment_score",
    "version",
    "model_version",
]


@dataclass(frozen=True)
class NewsFilter:
    """What the News page narrows the stream to; empty fields mean 'any'."""

    topics: Sequence[str] = ()
    sentiments: Sequence[str] = ()
    sources: Sequence[str] = ()
    start: datetime | None = None
    end: datetime | None = None
    text: str = ""


@dataclass(frozen=True)
class NewsPage:
    """One page of the stream; `has_more` says whether an older page exists."""

    rows: pd.DataFrame
    has_more: bool
    offset: int
    limit: int = field(default=50)


def news_feed(
    session: Session, *, filters: NewsFilter = NewsFilter(), limit: int = 50, offset: int = 0
) -> NewsPage:
    """Classified stories newest first: one row per story (its newest version and labels)."""
    stmt = _news_select().order_by(Story.published_at.desc(), Story.id.desc())
    stmt = _apply_news_filter(session, stmt, filters)
    rows = session.execute(stmt.limit(limit + 1).offset(offset)).all()
    frame = pd.DataFrame(rows[:limit], columns=NEWS_COLUMNS)
    if len(frame):
        frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
    return NewsPage(rows=frame, has_more=len(rows) > limit, offset=offset, limit=limit)


def stories_by_ids(session: Session, *, ids: Sequence[int]) -> pd.DataFrame:
    """The given stories with their current labels, newest first (an alert's evidence)."""
    if not ids:
        return pd.DataFrame(columns=NEWS_COLUMNS)
    stmt = (
        _news_select()
        .where(Story.id.in_([int(i) for i in ids]))
        .order_by(Story.published_at.desc(), Story.id.desc())
    )
    frame = pd.DataFrame(session.execute(stmt).all(), columns=NEWS_COLUMNS)
    if len(frame):
        frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
    return frame


def _news_select() -> Select:
    return select(
        Story.id,
        Story.published_at,
        Story.source,
        Story.headline,
        Story.url,
        Classification.topic,
        Classification.topic_confidence,
        Classification.sentiment,
        Classification.sentiment_confidence,
        Classification.sentiment_score,
        Story.version,
        Classification.model_version,
    ).join(Classification, _current_of_story())


def _apply_news_filter(session: Session, stmt: Select, filters: NewsFilter) -> Select:
    if filters.topics:
        stmt = stmt.where(Classification.topic.in_(list(filters.topics)))
    if filters.sentiments:
        stmt = stmt.where(Classification.sentiment.in_(list(filters.sentiments)))
    if filters.sources:
        stmt = stmt.where(Story.source.in_(list(filters.sources)))
    if filters.start is not None:
        stmt = stmt.where(Story.published_at >= filters.start)
    if filters.end is not None:
        stmt = stmt.where(Story.published_at < filters.end)
    needle = filters.text.strip()
    if needle:
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.where(Story.headline.ilike(pattern, escape="\\"))
        else:
            # SQLite's LIKE is already case-insensitive for ASCII.
            stmt = stmt.where(Story.headline.like(pattern, escape="\\"))
    return stmt


def news_sources(session: Session) -> list[str]:
    """Distinct story sources, by a skip scan over the (source, external_id) unique index.

    A plain DISTINCT reads every story; this reads one index entry per source, which matters
    at millions of stories and a handful of feeds. Works on PostgreSQL and SQLite alike.
    """
    skip_scan = text(
        """
        WITH RECURSIVE s(source) AS (
            SELECT min(source) FROM stories
            UNION ALL
            SELECT (SELECT min(source) FROM stories WHERE stories.source > s.source)
            FROM s WHERE s.source IS NOT NULL
        )
        SELECT source FROM s WHERE source IS NOT NULL
        """
    )
    return [row[0] for row in session.execute(skip_scan)]


# ---------------------------------------------------------------------------------------------
# pipeline


def throughput(
    session: Session, *, start: datetime, end: datetime, bucket_s: int = 60
) -> pd.DataFrame:
    """Stories ingested per bucket (by `ingested_at`), with empty buckets filled with zero."""
    bucket = _bucket(session, Story.ingested_at, bucket_s).label("bucket")
    stmt = (
        select(bucket, func.count().label("stories"))
        .where(Story.ingested_at >= start, Story.ingested_at < end)
        .group_by(bucket)
    )
    counts = pd.DataFrame(session.execute(stmt).all(), columns=["bucket", "stories"])
    first = int(start.timestamp()) // bucket_s * bucket_s
    grid = pd.DataFrame({"bucket": range(first, int(end.timestamp()) + 1, bucket_s)})
    counts["bucket"] = counts["bucket"].astype("int64")
    frame = grid.merge(counts, on="bucket", how="left").fillna({"stories": 0})
    frame["stories"] = frame["stories"].astype("int64")
    frame["bucket"] = _to_utc(frame["bucket"])
    frame["per_minute"] = frame["stories"] * 60.0 / bucket_s
    return frame


def recent_dead_letters(session: Session, *, limit: int = 100) -> pd.DataFrame:
    """Dead letters newest first, with the reason and the start of the raw value."""
    stmt = (
        select(
            DeadLetter.id,
            DeadLetter.received_at,
            DeadLetter.kafka_topic,
            DeadLetter.kafka_partition,
            DeadLetter.kafka_offset,
            DeadLetter.error,
            func.substr(DeadLetter.value, 1, 200),
        )
        .order_by(DeadLetter.received_at.desc(), DeadLetter.id.desc())
        .limit(limit)
    )
    rows = [(*row[:6], _preview(row[6])) for row in session.execute(stmt).all()]
    columns = ["id", "received_at", "topic", "partition", "offset", "error", "value"]
    frame = pd.DataFrame(rows, columns=columns)
    if len(frame):
        frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True)
    return frame


def _preview(value: bytes | None) -> str:
    if value is None:
        return ""
    return bytes(value).decode("utf-8", errors="replace")


@dataclass(frozen=True)
class ModelInUse:
    """The model version behind the newest classifications, and how many recent rows used it."""

    version: str
    last_classified_at: datetime
    recent_share: float


def models_in_use(session: Session, *, recent: int = 1000) -> list[ModelInUse]:
    """Model versions among the newest `recent` classifications, most recently used first.

    Reads the newest rows by primary key rather than grouping the whole table, so it stays cheap
    at any size; more than one version shows a rollout (or a rollback) in progress.
    """
    newest = (
        select(Classification.model_version, Classification.classified_at)
        .order_by(Classification.id.desc())
        .limit(recent)
        .subquery()
    )
    stmt = select(newest.c.model_version, func.max(newest.c.classified_at), func.count()).group_by(
        newest.c.model_version
    )
    rows = session.execute(stmt).all()
    total = sum(row[2] for row in rows) or 1
    models = [ModelInUse(row[0], _as_utc(row[1]), row[2] / total) for row in rows]
    return sorted(models, key=lambda m: m.last_classified_at, reverse=True)
