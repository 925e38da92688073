"""The detector's SQL: window/baseline aggregates per topic and the stories behind a spike.

Only current classifications count (one row per story, so a corrected story counts once).
Plain SQL aggregates (GROUP BY, SUM(CASE ...)) that run the same on PostgreSQL and SQLite; the
building blocks they share with the dashboard come from `monitor.store.sql`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from monitor.alerts.stats import Counts
from monitor.store.models import Classification, Story
from monitor.store.sql import IMPORT_PREFIX, MARKET, as_utc, current_classification

NEGATIVE = "negative"


@dataclass(frozen=True)
class Windows:
    """(start, end] bounds of the recent window and of the baseline just before it."""

    baseline_start: datetime
    window_start: datetime
    window_end: datetime

    @classmethod
    def ending(cls, now: datetime, *, window_s: float, baseline_s: float) -> Windows:
        """The window of `window_s` seconds up to `now` and the baseline of `baseline_s` before."""
        window_start = now - timedelta(seconds=window_s)
        return cls(
            baseline_start=window_start - timedelta(seconds=baseline_s),
            window_start=window_start,
            window_end=now,
        )


def scope_counts(session: Session, *, windows: Windows) -> dict[str, Counts]:
    """Counts per topic plus the market (`MARKET`), from one GROUP BY over both periods."""
    in_window = Story.published_at > windows.window_start
    negative = Classification.sentiment == NEGATIVE
    query = (
        select(
            Classification.topic,
            func.sum(case((in_window, 1), else_=0)).label("window_count"),
            func.sum(case((in_window & negative, 1), else_=0)).label("window_negative"),
            func.sum(case((~in_window, 1), else_=0)).label("baseline_count"),
            func.sum(case((~in_window & negative, 1), else_=0)).label("baseline_negative"),
        )
        .select_from(Story)
        .join(Classification, current_classification())
        .where(
            Story.published_at > windows.baseline_start,
            Story.published_at <= windows.window_end,
        )
        .group_by(Classification.topic)
    )
    result: dict[str, Counts] = {}
    totals = [0, 0, 0, 0]
    for topic, *values in session.execute(query):
        ints = [int(v or 0) for v in values]
        result[topic] = Counts(*ints)
        totals = [a + b for a, b in zip(totals, ints, strict=True)]
    result[MARKET] = Counts(*totals)
    return result


def spike_story_ids(session: Session, *, scope: str, windows: Windows, limit: int) -> list[int]:
    """The window's negative stories of a scope, most confident first, then newest."""
    query = (
        select(Story.id)
        .join(Classification, current_classification())
        .where(
            Story.published_at > windows.window_start,
            Story.published_at <= windows.window_end,
            Classification.sentiment == NEGATIVE,
        )
        .order_by(Classification.sentiment_confidence.desc(), Story.published_at.desc(), Story.id)
        .limit(limit)
    )
    if scope != MARKET:
        query = query.where(Classification.topic == scope)
    return list(session.scalars(query))


def newest_published_at(
    session: Session, *, within: tuple[datetime, datetime] | None = None
) -> datetime | None:
    """The data clock for replays: the newest published_at seen (inside `within`) on the
    stream; a backfill (`monitor import`) never moves it, so history cannot fire alerts."""
    query = select(func.max(Story.published_at)).where(
        ~Story.kafka_topic.startswith(IMPORT_PREFIX, autoescape=True)
    )
    if within is not None:
        query = query.where(Story.published_at.between(*within))
    newest = session.scalar(query)
    if isinstance(newest, str):  # SQLite's MAX() loses the column type
        newest = datetime.fromisoformat(newest)
    return as_utc(newest) if newest is not None else None


def stories_for_payload(session: Session, story_ids: list[int]) -> list[dict[str, Any]]:
    """Headline, url, time and sentiment confidence of the given stories, in the given order."""
    if not story_ids:
        return []
    rows = session.execute(
        select(Story, Classification)
        .join(Classification, current_classification())
        .where(Story.id.in_(story_ids))
    ).all()
    by_id = {
        story.id: {
            "id": story.id,
            "headline": story.headline,
            "url": story.url,
            "source": story.source,
            "published_at": as_utc(story.published_at).isoformat(),
            "topic": classification.topic,
            "sentiment": classification.sentiment,
            "sentiment_confidence": round(classification.sentiment_confidence, 4),
        }
        for story, classification in rows
    }
    return [by_id[i] for i in story_ids if i in by_id]
