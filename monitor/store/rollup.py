"""The hourly rollups: `sentiment_hourly` (per topic) and `entity_hourly` (per entity), kept
current from the live tables by the same watermark-and-sweep refresh, each with its own
`rollup_state` row.

`refresh_sentiment_hourly` recomputes only the hours touched since its last run: the hours (of
`published_at`) of stories whose current classification was written after the watermark, the
newest `classified_at` already processed. New stories and corrections both write a new current
classification, so both are found; a correction can move a story between topics and sentiments,
so each touched hour is recomputed whole, for every topic, from stories ⨝ current
classifications (delete + insert). Ingestion never writes here; `monitor schedule` runs the
refresh every `MONITOR_ALERTS__ROLLUP_INTERVAL_S`.

`refresh_entity_hourly` is the same refresh over `story_entities`: per hour and entity, the
stories naming it (a story counts once per entity: one story_entities row per story and key),
their sentiment towards it and the sum of its score. Only stories with a current
classification count; an update of a story replaces its entity rows and writes a new current
classification, so its hour is recomputed.

Two guards keep it exact despite a watermark on a client-stamped time:

- each scan looks `OVERLAP` back past the watermark, so a classification stamped before the
  previous scan but committed after it is still found (recomputing an hour twice is harmless);
- each run also recomputes `SWEEP_HOURS_PER_RUN` hours of the last `SWEEP_SPAN` round-robin, so
  what no classification marks (a re-sent story whose `published_at` moved to another hour
  leaves its old hour one too high) is corrected within one sweep (7 days / 4 hours per 30 s
  run: about 21 minutes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.settings import ContractSettings
from monitor.store.db import is_outage
from monitor.store.models import (
    Classification,
    EntityHourly,
    RollupState,
    SentimentHourly,
    Story,
    StoryEntity,
)
from monitor.store.sql import as_utc, current_classification, floor_hour, from_epoch, time_bucket

log = logging.getLogger(__name__)

ROLLUP_NAME = "sentiment_hourly"  # its row in rollup_state
ENTITY_ROLLUP_NAME = "entity_hourly"
HOUR = timedelta(hours=1)
OVERLAP = timedelta(minutes=2)
SWEEP_SPAN = timedelta(days=7)
SWEEP_HOURS_PER_RUN = 4


@dataclass(frozen=True)
class RollupReport:
    """What one refresh did."""

    hours: list[datetime]  # hours recomputed (touched, plus the sweep's), oldest first
    rows: int  # sentiment_hourly (or entity_hourly) rows written
    watermark: datetime | None


def refresh_sentiment_hourly(
    session: Session, *, now: datetime, published: tuple[datetime, datetime] | None = None
) -> RollupReport:
    """Recompute the hours touched since the last run, then advance the watermark.

    The caller owns the transaction; commit it to publish the new hours and watermark together.
    On PostgreSQL the state row is locked, so concurrent refreshes run one after the other.
    Only stories published inside `published` (the message contract's range) are rolled up, and
    an hour that fails is logged and skipped (the sweep tries it again): no single row can
    wedge the rollup.
    """
    return _refresh(session, ROLLUP_NAME, _recompute, now=now, published=published)


def refresh_entity_hourly(
    session: Session, *, now: datetime, published: tuple[datetime, datetime] | None = None
) -> RollupReport:
    """`refresh_sentiment_hourly` for `entity_hourly`: the hours touched since its own
    watermark (rollup_state `entity_hourly`), plus its own sweep."""
    return _refresh(session, ENTITY_ROLLUP_NAME, _recompute_entities, now=now, published=published)


Recompute = Callable[[Session, datetime, datetime], int]


def _refresh(
    session: Session,
    name: str,
    recompute: Recompute,
    *,
    now: datetime,
    published: tuple[datetime, datetime] | None,
) -> RollupReport:
    published = published or ContractSettings().published_window(now)
    state = session.get(RollupState, name, with_for_update=True)
    if state is None:
        state = RollupState(name=name)
        session.add(state)
    watermark = as_utc(state.watermark) if state.watermark is not None else None

    touched, newest = _touched_hours(
        session, since=watermark - OVERLAP if watermark else None, published=published
    )
    hours = set(touched)
    if watermark is not None:  # the first run rebuilds every hour anyway
        sweep, state.sweep_hour = _sweep(state.sweep_hour, now)
        hours.update(sweep)
    ordered = sorted(hours)
    rows = sum(_recompute_isolated(session, recompute, start, end) for start, end in _runs(ordered))

    if newest is not None and (watermark is None or newest > watermark):
        state.watermark = newest
    state.refreshed_at = now
    session.flush()
    return RollupReport(hours=ordered, rows=rows, watermark=state.watermark)


def _touched_hours(
    session: Session, *, since: datetime | None, published: tuple[datetime, datetime]
) -> tuple[list[datetime], datetime | None]:
    """Hours of stories whose current classification is newer than `since` (all when None),
    and the newest `classified_at` among them."""
    hour = time_bucket(session, Story.published_at, 3600).label("hour")
    stmt = (
        select(hour, func.max(Classification.classified_at))
        .join(Classification, current_classification())
        .group_by(hour)
    )
    if since is not None:
        stmt = stmt.where(Classification.classified_at > since)
    stmt = stmt.where(Story.published_at.between(*published))
    found = session.execute(stmt).all()
    hours = [from_epoch(row[0]) for row in found]
    newest = max((as_utc(row[1]) for row in found), default=None)
    return hours, newest


def _sweep(cursor: datetime | None, now: datetime) -> tuple[list[datetime], datetime]:
    """The next few hours of the round-robin re-check, and where the next run continues."""
    last = floor_hour(now)
    first = last - SWEEP_SPAN
    hour = as_utc(cursor) if cursor is not None else first
    hours = []
    for _ in range(SWEEP_HOURS_PER_RUN):
        if not first <= hour <= last:
            hour = first
        hours.append(hour)
        hour += HOUR
    return hours, hour


def _runs(hours: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """Sorted hours as [start, end) runs of consecutive hours."""
    runs: list[tuple[datetime, datetime]] = []
    for hour in hours:
        if runs and runs[-1][1] == hour:
            runs[-1] = (runs[-1][0], hour + HOUR)
        else:
            runs.append((hour, hour + HOUR))
    return runs


def _recompute_isolated(
    session: Session, recompute: Recompute, start: datetime, end: datetime
) -> int:
    """`recompute` in a savepoint; if the run fails, hour by hour, skipping (and logging)
    the hours that fail alone."""
    try:
        with session.begin_nested():
            return recompute(session, start, end)
    except (SQLAlchemyError, ArithmeticError, ValueError) as exc:
        if is_outage(exc):
            raise  # the whole pass fails and is retried; no hour is skipped for an outage
        if end - start == HOUR:
            log.error("rollup of hour %s failed, skipped: %s", start.isoformat(), exc)
            return 0
    return sum(
        _recompute_isolated(session, recompute, hour, hour + HOUR)
        for hour in (start + i * HOUR for i in range(int((end - start) / HOUR)))
    )


def _count(column: Any, sentiment: str) -> Any:
    return func.sum(case((column == sentiment, 1), else_=0))


TALLIES = ("stories", "negative", "neutral", "positive")


def _tallies(sentiment: Any, score: Any) -> tuple[Any, ...]:
    """A rollup row's aggregates (TALLIES, then score_sum) of the rows grouped."""
    return (
        func.count(),
        _count(sentiment, "negative"),
        _count(sentiment, "neutral"),
        _count(sentiment, "positive"),
        func.sum(score),
    )


def _replace_hours(
    session: Session,
    table: type[SentimentHourly | EntityHourly],
    start: datetime,
    end: datetime,
    result: Iterable[Any],
    keys: tuple[str, ...],
) -> int:
    """Replace `table`'s rows of hours [start, end) with `result`'s, each (hour, *keys, *TALLIES,
    score_sum); returns how many were written."""
    width = len(keys)
    rows = [
        {
            "hour": from_epoch(r[0]),
            **dict(zip(keys, r[1 : 1 + width], strict=True)),
            **{name: int(n) for name, n in zip(TALLIES, r[1 + width : -1], strict=True)},
            "score_sum": float(r[-1] or 0.0),
        }
        for r in result
    ]
    session.execute(delete(table).where(table.hour >= start, table.hour < end))
    if rows:
        session.execute(insert(table), rows)
    return len(rows)


def _recompute(session: Session, start: datetime, end: datetime) -> int:
    """Replace the rollup rows of hours [start, end) with a fresh aggregate of the live tables."""
    hour = time_bucket(session, Story.published_at, 3600).label("hour")

    stmt = (
        select(
            hour,
            Classification.topic,
            *_tallies(Classification.sentiment, Classification.sentiment_score),
        )
        .join(Classification, current_classification())
        .where(Story.published_at >= start, Story.published_at < end)
        .group_by(hour, Classification.topic)
    )
    return _replace_hours(session, SentimentHourly, start, end, session.execute(stmt), ("topic",))


def _recompute_entities(session: Session, start: datetime, end: datetime) -> int:
    """Replace the entity_hourly rows of hours [start, end): per hour and entity, the stories
    with a current classification that name it, by their sentiment towards it."""
    hour = time_bucket(session, Story.published_at, 3600).label("hour")
    stmt = (
        select(
            hour,
            StoryEntity.entity,
            func.max(StoryEntity.sector),
            *_tallies(StoryEntity.sentiment, StoryEntity.score),
        )
        .select_from(Story)
        .join(Classification, current_classification())
        .join(StoryEntity, StoryEntity.story_id == Story.id)
        .where(Story.published_at >= start, Story.published_at < end)
        .group_by(hour, StoryEntity.entity)
    )
    result = session.execute(stmt)
    return _replace_hours(session, EntityHourly, start, end, result, ("entity", "sector"))
