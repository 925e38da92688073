"""The news stream (News page, an alert's evidence): one row per story with its current labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from monitor.store.models import Classification, Story, StoryEntity
from monitor.store.sql import MARKET, current_classification, skip_scan

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
    stmt = news_select().order_by(Story.published_at.desc(), Story.id.desc())
    stmt = _apply_news_filter(session, stmt, filters)
    rows = session.execute(stmt.limit(limit + 1).offset(offset)).all()
    frame = news_frame(rows[:limit])
    return NewsPage(rows=frame, has_more=len(rows) > limit, offset=offset, limit=limit)


def stories_by_ids(session: Session, *, ids: Sequence[int]) -> pd.DataFrame:
    """The given stories with their current labels, newest first (an alert's evidence)."""
    if not ids:
        return pd.DataFrame(columns=NEWS_COLUMNS)
    stmt = (
        news_select()
        .where(Story.id.in_([int(i) for i in ids]))
        .order_by(Story.published_at.desc(), Story.id.desc())
    )
    return news_frame(session.execute(stmt).all())


# How an alert's window stories can be sorted (each ends with a unique key, so pages are stable).
WINDOW_ORDERS: dict[str, tuple[Any, ...]] = {
    "newest first": (Story.published_at.desc(), Story.id.desc()),
    "oldest first": (Story.published_at.asc(), Story.id.asc()),
    "most negative first": (Classification.sentiment_score.asc(), Story.id.asc()),
    "most confident first": (Classification.sentiment_confidence.desc(), Story.id.asc()),
    "by source": (Story.source.asc(), Story.published_at.desc(), Story.id.desc()),
}


def _window(
    stmt: Select, *, scope: str, start: datetime, end: datetime, scope_kind: str = "topic"
) -> Select:
    """Stories of an alert's window: published in (start, end], as the detector counts them,
    of the alert's topic (every topic for the market scope), or naming its entity."""
    stmt = stmt.where(Story.published_at > start, Story.published_at <= end)
    if scope_kind == "entity":
        named = (StoryEntity.story_id == Story.id) & (StoryEntity.entity == scope)
        return stmt.join(StoryEntity, named)
    return stmt if scope == MARKET else stmt.where(Classification.topic == scope)


def window_stories(
    session: Session,
    *,
    scope: str,
    start: datetime,
    end: datetime,
    scope_kind: str = "topic",
    order: str = "newest first",
    limit: int = 50,
    offset: int = 0,
) -> NewsPage:
    """Every story of an alert's window with its current labels, a page at a time."""
    stmt = _window(news_select(), scope=scope, start=start, end=end, scope_kind=scope_kind)
    stmt = stmt.order_by(*WINDOW_ORDERS[order])
    rows = session.execute(stmt.limit(limit + 1).offset(offset)).all()
    return NewsPage(news_frame(rows[:limit]), len(rows) > limit, offset, limit)


def count_window_stories(
    session: Session, *, scope: str, start: datetime, end: datetime, scope_kind: str = "topic"
) -> int:
    stmt = select(func.count()).select_from(Story).join(Classification, current_classification())
    windowed = _window(stmt, scope=scope, start=start, end=end, scope_kind=scope_kind)
    return int(session.scalar(windowed) or 0)


def news_frame(rows: Sequence[object], columns: Sequence[str] = NEWS_COLUMNS) -> pd.DataFrame:
    """Rows of `news_select` (and any columns added to it) as a frame, times aware UTC."""
    frame = pd.DataFrame(rows, columns=list(columns))
    if len(frame):
        frame["published_at"] = pd.to_datetime(frame["published_at"], utc=True)
    return frame


def news_select() -> Select:
    """Stories with their current labels (NEWS_COLUMNS), for queries to narrow and extend."""
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
    ).join(Classification, current_classification())


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
    return skip_scan(session, "stories", "source")
