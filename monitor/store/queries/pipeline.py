"""The Pipeline page: ingestion throughput, dead letters, and the model versions in use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.store.models import Classification, DeadLetter, Story
from monitor.store.sql import as_utc, epochs_to_utc, time_bucket


def throughput(
    session: Session, *, start: datetime, end: datetime, bucket_s: int = 60
) -> pd.DataFrame:
    """Stories ingested per bucket (by `ingested_at`), with empty buckets filled with zero."""
    bucket = time_bucket(session, Story.ingested_at, bucket_s).label("bucket")
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
    frame["bucket"] = epochs_to_utc(frame["bucket"])
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
    models = [ModelInUse(row[0], as_utc(row[1]), row[2] / total) for row in rows]
    return sorted(models, key=lambda m: m.last_classified_at, reverse=True)
