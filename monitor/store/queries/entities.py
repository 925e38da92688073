"""Companies (the Company page, Overview's top movers, `monitor entities`): an entity's
sentiment index, its stories with the sentiment towards it, top movers against their own
baseline, per-sector aggregates, and its alerts.

An entity's sentiment is the one towards it (`story_entities.sentiment` / `.score`), which can
differ from the story's own; every aggregate counts a story once per entity (the table's key).
Complete hours come from the `entity_hourly` rollup where it has run (`ENTITY_ROLLUP`), the
rest live from story_entities ⨝ stories ⨝ current classification, exactly as the topic index
does (`sentiment.combined_index`); stories are placed by `published_at`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from monitor.store.models import Classification, EntityHourly, Story, StoryEntity
from monitor.store.queries.alerts import AlertRow, list_alerts
from monitor.store.queries.news import NEWS_COLUMNS, NewsPage, news_frame, news_select
from monitor.store.queries.sentiment import (
    LIVE_SPAN,
    combined_index,
    index_frame,
    rolled_until,
    rollup_index,
    rollup_split,
)
from monitor.store.rollup import ENTITY_ROLLUP_NAME
from monitor.store.sql import current_classification, floor_hour, skip_scan, time_bucket

ENTITY_ROLLUP = ENTITY_ROLLUP_NAME  # the entity rollup's row in rollup_state
ENTITY_SCOPE = "entity"  # alerts.scope_kind of an alert about one entity
UNKNOWN_SECTOR = "(no sector)"
TOTAL_COLUMNS = ["entity", "sector", "stories", "negative", "score_sum"]
ENTITY_STORY_COLUMNS = [
    *NEWS_COLUMNS,
    "mention",
    "matched_by",
    "entity_sentiment",
    "entity_confidence",
    "entity_score",
    "from_mention",
]


def _live_join(stmt: Select) -> Select:
    """Entity rows of stories with their current classification (each story once per entity)."""
    return stmt.join(Story, Story.id == StoryEntity.story_id).join(
        Classification, current_classification()
    )


def _negatives(sentiment: InstrumentedAttribute[str]) -> ColumnElement[Any]:
    return func.sum(case((sentiment == "negative", 1), else_=0))


# --- the index of one or more entities ("topic" holds the entity, so `honest.series` draws it)


def entity_index(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    bucket_s: int,
    entities: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per (time bucket, entity), live: stories naming it, negative towards it, summed score
    towards it (INDEX_COLUMNS, the entity in `topic`)."""
    bucket = time_bucket(session, Story.published_at, bucket_s).label("bucket")
    stmt = _live_join(
        select(
            bucket,
            StoryEntity.entity,
            func.count(),
            _negatives(StoryEntity.sentiment),
            func.sum(StoryEntity.score),
        ).select_from(StoryEntity)
    )
    stmt = stmt.where(Story.published_at >= start, Story.published_at < end).group_by(
        bucket, StoryEntity.entity
    )
    return index_frame(session, stmt, StoryEntity.entity, entities)


def entity_series(
    session: Session, *, entity: str, start: datetime, end: datetime, bucket_s: int
) -> pd.DataFrame:
    """One entity's index over [start, end), as the Company page reads it: equal to
    `entity_index`, with ranges over `LIVE_SPAN` in whole-hour buckets taking the complete hours
    from `entity_hourly` (the rule of `overview_index`)."""
    whole_hours = end - start > LIVE_SPAN and bucket_s % 3600 == 0
    until = rolled_until(session, ENTITY_ROLLUP) if whole_hours else None
    return combined_index(
        lambda lo, hi: entity_index(
            session, start=lo, end=hi, bucket_s=bucket_s, entities=[entity]
        ),
        lambda lo, hi: rollup_index(
            session, EntityHourly, EntityHourly.entity, lo, hi, bucket_s, [entity]
        ),
        start=start,
        end=end,
        until=until,
    )


# --- totals per entity over a range: top movers, sectors, `monitor entities show`


def entity_totals(
    session: Session,
    *,
    start: datetime,
    end: datetime,
    entities: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per entity over [start, end): sector, stories, negative, summed score (TOTAL_COLUMNS),
    complete hours from the rollup where it has run, the rest live."""
    rolled, live_ranges = rollup_split(start, end, rolled_until(session, ENTITY_ROLLUP))
    parts = [_live_totals(session, lo, hi, entities) for lo, hi in live_ranges]
    if rolled is not None:
        parts.append(_hourly_totals(session, *rolled, entities))
    frame = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    frame["sector"] = frame["sector"].fillna(UNKNOWN_SECTOR)
    frame = frame.groupby("entity", as_index=False).agg(
        sector=("sector", "max"),
        stories=("stories", "sum"),
        negative=("negative", "sum"),
        score_sum=("score_sum", "sum"),
    )
    return frame.astype({"stories": "int64", "negative": "int64", "score_sum": "float64"})


def _live_totals(
    session: Session, start: datetime, end: datetime, entities: Sequence[str] | None
) -> pd.DataFrame:
    stmt = _live_join(
        select(
            StoryEntity.entity,
            func.max(StoryEntity.sector),
            func.count(),
            _negatives(StoryEntity.sentiment),
            func.sum(StoryEntity.score),
        ).select_from(StoryEntity)
    ).where(Story.published_at >= start, Story.published_at < end)
    if entities:
        stmt = stmt.where(StoryEntity.entity.in_(list(entities)))
    return pd.DataFrame(
        session.execute(stmt.group_by(StoryEntity.entity)).all(), columns=TOTAL_COLUMNS
    )


def _hourly_totals(
    session: Session, start: datetime, end: datetime, entities: Sequence[str] | None
) -> pd.DataFrame:
    stmt = select(
        EntityHourly.entity,
        func.max(EntityHourly.sector),
        func.sum(EntityHourly.stories),
        func.sum(EntityHourly.negative),
        func.sum(EntityHourly.score_sum),
    ).where(EntityHourly.hour >= start, EntityHourly.hour < end)
    if entities:
        stmt = stmt.where(EntityHourly.entity.in_(list(entities)))
    return pd.DataFrame(
        session.execute(stmt.group_by(EntityHourly.entity)).all(), columns=TOTAL_COLUMNS
    )


MOVER_COLUMNS = [
    "entity",
    "sector",
    "stories",
    "negative",
    "negative_share",
    "mean_score",
    "baseline_stories",
    "baseline_negative_share",
    "baseline_mean_score",
    "share_change",
    "score_change",
    "movement",
    "direction",
]


def top_movers(
    session: Session,
    *,
    now: datetime,
    window: timedelta,
    baseline: timedelta = timedelta(days=7),
    min_stories: int = 5,
    limit: int = 10,
) -> pd.DataFrame:
    """Entities whose sentiment moved most in the window against their own baseline.

    Window: [now - window, now). Baseline: the `baseline` before the hour the window starts in
    (whole hours, so it is read from the rollup alone once that has run). An entity qualifies
    with at least `min_stories` stories in each. `share_change` is the negative share's change
    (window − baseline, in share units), `score_change` the mean score's (−2…+2); `movement` =
    max(|share_change|, |score_change| / 2), both then on a 0…1 scale, is what ranks them;
    `direction` is "worse" when the share rose or the score fell (by the larger move), else
    "better". Columns: MOVER_COLUMNS, largest movement first.
    """
    start = now - window
    current = entity_totals(session, start=start, end=now)
    before_end = floor_hour(start)
    before = entity_totals(session, start=before_end - baseline, end=before_end)
    both = current.merge(before, on="entity", suffixes=("", "_base"))
    both = both[(both["stories"] >= min_stories) & (both["stories_base"] >= min_stories)]
    if both.empty:
        return pd.DataFrame(columns=MOVER_COLUMNS)
    share = both["negative"] / both["stories"]
    score = both["score_sum"] / both["stories"]
    base_share = both["negative_base"] / both["stories_base"]
    base_score = both["score_sum_base"] / both["stories_base"]
    share_change, score_change = share - base_share, score - base_score
    by_share = share_change.abs() >= score_change.abs() / 2
    worse = (by_share & (share_change > 0)) | (~by_share & (score_change < 0))
    movers = pd.DataFrame(
        {
            "entity": both["entity"],
            "sector": both["sector"],
            "stories": both["stories"],
            "negative": both["negative"],
            "negative_share": share,
            "mean_score": score,
            "baseline_stories": both["stories_base"],
            "baseline_negative_share": base_share,
            "baseline_mean_score": base_score,
            "share_change": share_change,
            "score_change": score_change,
            "movement": pd.concat([share_change.abs(), score_change.abs() / 2], axis=1).max(axis=1),
            "direction": worse.map({True: "worse", False: "better"}),
        }
    )
    movers = movers.sort_values(["movement", "stories", "entity"], ascending=[False, False, True])
    return movers.head(limit).reset_index(drop=True)


SECTOR_COLUMNS = ["sector", "entities", "stories", "negative", "negative_share", "mean_score"]


def sector_summary(session: Session, *, start: datetime, end: datetime) -> pd.DataFrame:
    """Per sector (the dictionary's, as stored with each entity row) over [start, end): how
    many entities were named, entity mentions (a story naming two companies of a sector counts
    twice: once per entity), negatives, negative share, mean score; busiest first."""
    totals = entity_totals(session, start=start, end=end)
    if totals.empty:
        return pd.DataFrame(columns=SECTOR_COLUMNS)
    sectors = totals.groupby("sector", as_index=False).agg(
        entities=("entity", "count"),
        stories=("stories", "sum"),
        negative=("negative", "sum"),
        score_sum=("score_sum", "sum"),
    )
    sectors["negative_share"] = sectors["negative"] / sectors["stories"]
    sectors["mean_score"] = sectors["score_sum"] / sectors["stories"]
    ordered = sectors.sort_values(["stories", "sector"], ascending=[False, True])
    return ordered[SECTOR_COLUMNS].reset_index(drop=True)


# --- stories and alerts of one entity; entities of stories


def entity_stories(
    session: Session,
    *,
    entity: str,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> NewsPage:
    """Stories naming `entity`, newest first, with their current labels and, beside them, the
    sentiment towards the entity (ENTITY_STORY_COLUMNS)."""
    stmt = (
        news_select()
        .add_columns(
            StoryEntity.mention,
            StoryEntity.matched_by,
            StoryEntity.sentiment,
            StoryEntity.confidence,
            StoryEntity.score,
            StoryEntity.from_mention,
        )
        .join(StoryEntity, StoryEntity.story_id == Story.id)
        .where(StoryEntity.entity == entity)
    )
    if start is not None:
        stmt = stmt.where(Story.published_at >= start)
    if end is not None:
        stmt = stmt.where(Story.published_at < end)
    stmt = stmt.order_by(Story.published_at.desc(), Story.id.desc())
    rows = session.execute(stmt.limit(limit + 1).offset(offset)).all()
    frame = news_frame(rows[:limit], ENTITY_STORY_COLUMNS)
    return NewsPage(rows=frame, has_more=len(rows) > limit, offset=offset, limit=limit)


STORY_ENTITY_COLUMNS = ["story_id", "entity", "sentiment", "score", "from_mention"]


def entities_of_stories(session: Session, *, story_ids: Sequence[int]) -> pd.DataFrame:
    """The entities each of `story_ids` names, with the sentiment towards each
    (STORY_ENTITY_COLUMNS, by story then entity): the News page's entity column."""
    if not len(story_ids):
        return pd.DataFrame(columns=STORY_ENTITY_COLUMNS)
    stmt = (
        select(
            StoryEntity.story_id,
            StoryEntity.entity,
            StoryEntity.sentiment,
            StoryEntity.score,
            StoryEntity.from_mention,
        )
        .where(StoryEntity.story_id.in_([int(i) for i in story_ids]))
        .order_by(StoryEntity.story_id, StoryEntity.entity)
    )
    return pd.DataFrame(session.execute(stmt).all(), columns=STORY_ENTITY_COLUMNS)


def seen_entities(session: Session) -> list[str]:
    """Every entity some story names, sorted: a skip scan over `ix_story_entities_entity`
    (one index probe per entity, not a read of every row; PostgreSQL and SQLite alike)."""
    return skip_scan(session, "story_entities", "entity")


def entity_alerts(
    session: Session, *, entity: str, status: str | None = None, limit: int = 50
) -> list[AlertRow]:
    """Alerts about `entity` (scope_kind 'entity', scope the ticker), newest first."""
    return list_alerts(session, status=status, scope=entity, scope_kind=ENTITY_SCOPE, limit=limit)
