"""Test data, written the way production writes it.

Stories and dead letters go through the ingestion write path (`monitor.store.writes.write_batch`),
so every test sees rows shaped exactly as the consumer leaves them: a re-sent (`source`, `id`)
updates the story and gives it a new current classification, the old one kept as superseded.
Alerts, written by the detector in production, are rows with plausible figures.

    add_story(sessions, "Oil jumps", at=T0, topic="Energy | Oil", sentiment="positive") -> id
    write_stories(sessions, [NewStory(...), ...]) -> ids        (one transaction, one batch)
    add_dead_letter(sessions, "not JSON", value=b"{", at=T0)
    add_alert(sessions, scope="Energy | Oil", window_end=T0) -> Alert
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session, sessionmaker

from monitor.store.models import Alert, Story
from monitor.store.writes import DeadLetterRow, EntityRow, StoryRow, write_batch

# Kafka offsets only grow, so a re-sent story is always newer than the stored one (and applied).
_offsets = itertools.count(1)
SCORES = {"negative": -1.0, "neutral": 0.0, "positive": 1.0}


@dataclass(frozen=True)
class NewStory:
    """One story as a producer would send it, with the labels the model gives it."""

    headline: str
    published_at: datetime
    topic: str = "Earnings"
    sentiment: str = "neutral"
    confidence: float = 0.8  # of the sentiment
    source: str = "newswire"
    external_id: str | None = None  # None: a new story; an existing one: an update of it
    url: str | None = None
    score: float | None = None  # sentiment score; None: ±confidence by sentiment
    tickers: list[str] | None = None
    extra: dict[str, Any] | None = None  # unknown fields, kept as sent
    offset: int | None = None  # its Kafka offset (partition 0); None: the next one
    # entity -> its sentiment, or (sentiment, score); e.g. {"AAPL": "negative"}
    entities: dict[str, str | tuple[str, float]] | None = None
    sectors: dict[str, str] | None = None  # entity -> sector

    def row(self) -> StoryRow:
        """The `StoryRow` the consumer would hand the write path for this story."""
        offset = self.offset if self.offset is not None else next(_offsets)
        score = self.score if self.score is not None else SCORES[self.sentiment] * self.confidence
        return StoryRow(
            source=self.source,
            external_id=self.external_id or f"story-{offset}",
            headline=self.headline,
            body=None,
            url=self.url,
            tickers=self.tickers,
            lang="en",
            extra=self.extra,
            published_at=self.published_at,
            kafka_topic="news",
            kafka_partition=0,
            kafka_offset=offset,
            labels={
                "topic": self.topic,
                "topic_confidence": 0.9,
                "sentiment": self.sentiment,
                "sentiment_confidence": self.confidence,
                "sentiment_score": score,
                "probabilities": {"sentiment": {self.sentiment: self.confidence}},
            },
            entities=tuple(self._entity_rows()),
        )

    def _entity_rows(self) -> list[EntityRow]:
        rows = []
        for entity, label in (self.entities or {}).items():
            sentiment, score = label if isinstance(label, tuple) else (label, SCORES[label] * 0.8)
            rows.append(
                EntityRow(
                    entity=entity,
                    mention=entity,
                    span_start=None,
                    span_end=None,
                    matched_by="ticker",
                    sector=(self.sectors or {}).get(entity),
                    sentiment=sentiment,
                    confidence=0.8,
                    score=score,
                    from_mention=True,
                )
            )
        return rows


def write_stories(
    sessions: sessionmaker[Session],
    stories: Sequence[NewStory],
    *,
    model_version: str = "test",
    ingested_at: datetime | None = None,
) -> list[int]:
    """Write `stories` as one batch of the consumer; their story ids, in order."""
    rows = [story.row() for story in stories]
    keys = [(row.source, row.external_id) for row in rows]
    with sessions.begin() as session:
        write_batch(
            session, stories=rows, dead_letters=[], model_version=model_version, now=ingested_at
        )
        found = session.execute(
            select(Story.source, Story.external_id, Story.id).where(
                tuple_(Story.source, Story.external_id).in_(keys)
            )
        )
        ids = {(source, external_id): story_id for source, external_id, story_id in found}
    return [ids[key] for key in keys]


def add_story(
    sessions: sessionmaker[Session],
    headline: str,
    *,
    at: datetime,
    model_version: str = "test",
    ingested_at: datetime | None = None,
    **fields: Any,
) -> int:
    """One story published at `at` and ingested (classified) at `ingested_at`, by default now,
    as the consumer stamps it; its id.

    `fields` are `NewStory`'s: topic, sentiment, confidence, source, external_id, url, score,
    entities ({"AAPL": "negative"} or {"AAPL": ("negative", -0.7)}), sectors.
    """
    story = NewStory(headline, published_at=at, **fields)
    return write_stories(sessions, [story], model_version=model_version, ingested_at=ingested_at)[0]


def add_dead_letter(
    sessions: sessionmaker[Session],
    error: str = "missing or empty headline",
    *,
    value: bytes | None = b'{"id": "x"}',
    at: datetime | None = None,
    partition: int = 1,
) -> None:
    """A record the consumer refused, kept with its reason, received at `at`."""
    row = DeadLetterRow("news", partition, next(_offsets), None, value, error)
    with sessions.begin() as session:
        write_batch(session, stories=[], dead_letters=[row], model_version="", now=at)


def add_alert(sessions: sessionmaker[Session], **overrides: Any) -> Alert:
    """An alert as the detector opens one: a 15-minute window ending at `window_end` (default:
    a minute ago) after a 6-hour baseline; keyword arguments override any column."""
    window_end = overrides.pop("window_end", datetime.now(UTC) - timedelta(minutes=1))
    values: dict[str, Any] = {
        "fingerprint": f"fp-{next(_offsets)}",
        "scope": "Energy | Oil",
        "status": "firing",
        "window_start": window_end - timedelta(minutes=15),
        "window_end": window_end,
        "baseline_start": window_end - timedelta(hours=6),
        "baseline_end": window_end - timedelta(minutes=15),
        "window_count": 40,
        "window_negative": 30,
        "baseline_count": 400,
        "baseline_negative": 80,
        "observed_share": 0.75,
        "baseline_share": 0.2,
        "statistic": 8.1,
        "threshold": 3.0,
        "p_value": 1e-9,
        "story_ids": [],
        "opened_at": window_end,
    }
    values.update(overrides)
    with sessions.begin() as session:
        alert = Alert(**values)
        session.add(alert)
    return alert
