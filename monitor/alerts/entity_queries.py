"""The watchlist's SQL: per-entity window/baseline aggregates and the stories behind an alert.

A story counts once per entity (story_entities' key: story_id, entity) with the sentiment towards
the entity; an update of a story replaces its entity rows, so only current ones exist. Plain
aggregates that run the same on PostgreSQL and SQLite, like `monitor.alerts.queries`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from monitor.alerts.queries import NEGATIVE, Windows, stories_for_payload
from monitor.alerts.stats import Counts
from monitor.store.models import Story, StoryEntity


@dataclass(frozen=True)
class EntityCounts:
    counts: Counts  # stories about the entity; negative = negative towards it
    sector: str | None


def entity_counts(
    session: Session, *, windows: Windows, entities: frozenset[str] | None
) -> dict[str, EntityCounts]:
    """Counts per entity (restricted to the keys in `entities` unless None: entity keys are the
    dictionary's tickers, upper case, so the match is exact and uses ix_story_entities_entity),
    one GROUP BY over both periods; the sector is the one stored with its rows."""
    in_window = Story.published_at > windows.window_start
    negative = StoryEntity.sentiment == NEGATIVE
    query = (
        select(
            StoryEntity.entity,
            func.max(StoryEntity.sector),
            func.sum(case((in_window, 1), else_=0)),
            func.sum(case((in_window & negative, 1), else_=0)),
            func.sum(case((~in_window, 1), else_=0)),
            func.sum(case((~in_window & negative, 1), else_=0)),
        )
        .join(Story, Story.id == StoryEntity.story_id)
        .where(
            Story.published_at > windows.baseline_start,
            Story.published_at <= windows.window_end,
        )
        .group_by(StoryEntity.entity)
    )
    if entities is not None:
        query = query.where(StoryEntity.entity.in_(sorted(entities)))
    return {
        entity: EntityCounts(Counts(*(int(v or 0) for v in values)), sector)
        for entity, sector, *values in session.execute(query)
    }


def pooled_share(counts: dict[str, EntityCounts], default: float) -> float:
    """The baseline's negative share over the given entities (every entity: `*`), or `default`
    when their baseline is empty."""
    total = sum(c.counts.baseline_count for c in counts.values())
    negative = sum(c.counts.baseline_negative for c in counts.values())
    return negative / total if total else default


def baseline_share(session: Session, *, windows: Windows, default: float) -> float:
    """The negative share towards all entities in the baseline: the share signal's prior (one
    more scan; with `*` the grouped counts already hold it: `pooled_share`)."""
    negative = func.sum(case((StoryEntity.sentiment == NEGATIVE, 1), else_=0))
    row = session.execute(
        select(func.count(), negative)
        .select_from(StoryEntity)
        .join(Story, Story.id == StoryEntity.story_id)
        .where(
            Story.published_at > windows.baseline_start,
            Story.published_at <= windows.window_start,
        )
    ).one()
    total, negatives = int(row[0] or 0), int(row[1] or 0)
    return negatives / total if total else default


def driving_story_ids(session: Session, *, entity: str, windows: Windows, limit: int) -> list[int]:
    """The window's stories negative towards the entity, most confident first, then newest."""
    query = (
        select(Story.id)
        .join(StoryEntity, StoryEntity.story_id == Story.id)
        .where(
            StoryEntity.entity == entity,
            StoryEntity.sentiment == NEGATIVE,
            Story.published_at > windows.window_start,
            Story.published_at <= windows.window_end,
        )
        .order_by(StoryEntity.confidence.desc(), Story.published_at.desc(), Story.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def stories_with_entity(
    session: Session, entity: str, story_ids: list[int]
) -> list[dict[str, Any]]:
    """`stories_for_payload` plus the sentiment towards the entity and how it was named."""
    stories = stories_for_payload(session, story_ids)
    rows = session.scalars(
        select(StoryEntity).where(StoryEntity.entity == entity, StoryEntity.story_id.in_(story_ids))
    )
    towards = {row.story_id: row for row in rows}
    for story in stories:
        row = towards.get(story["id"])
        if row is not None:
            story["entity"] = {
                "key": row.entity,
                "mention": row.mention,
                "sentiment": row.sentiment,
                "confidence": round(row.confidence, 4),
                "score": round(row.score, 4),
                "from_mention": row.from_mention,
            }
    return stories
