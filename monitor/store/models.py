"""SQLAlchemy 2.0 typed ORM models: the data model of docs/design.md.

Schema changes go through Alembic migrations in `monitor/store/migrations/versions/`; these
classes must match them (a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT ids on PostgreSQL; SQLite only auto-increments a column typed exactly INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")
Timestamp = DateTime(timezone=True)


def utcnow() -> datetime:
    return datetime.now(UTC)


def partial_index(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """An index over the rows matching `where`, on PostgreSQL and SQLite alike."""
    predicate = text(where)
    return Index(name, *columns, unique=unique, postgresql_where=predicate, sqlite_where=predicate)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Story(Base):
    """One news story, identified by (source, external_id); a re-sent id updates it."""

    __tablename__ = "stories"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_stories_source_external_id"),
        # INCLUDE id: the dashboard's time-range joins read stories from the index alone (0003).
        Index("ix_stories_published_at", "published_at", postgresql_include=["id"]),
        Index("ix_stories_ingested_at", "ingested_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(128))
    external_id: Mapped[str] = mapped_column(String(256))
    headline: Mapped[str] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    tickers: Mapped[list[str] | None] = mapped_column(Json)
    lang: Mapped[str | None] = mapped_column(String(32))
    extra: Mapped[dict[str, Any] | None] = mapped_column(Json, doc="unknown fields, kept as sent")
    published_at: Mapped[datetime] = mapped_column(Timestamp)
    ingested_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    kafka_topic: Mapped[str] = mapped_column(String(255))
    kafka_partition: Mapped[int] = mapped_column(Integer)
    kafka_offset: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer, default=1)


class Classification(Base):
    """A model's labels for one version of a story; exactly one row per story is current."""

    __tablename__ = "classifications"
    __table_args__ = (
        # The current row per story is unique: re-scoring flips the old one off first.
        partial_index(
            "uq_classifications_current_story", "story_id", where="is_current", unique=True
        ),
        Index("ix_classifications_story_id", "story_id"),
        # Covers the dashboard's aggregates over current labels (0003).
        partial_index(
            "ix_classifications_current_labels",
            *("story_id", "topic", "sentiment", "sentiment_score"),
            where="is_current",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"))
    story_version: Mapped[int] = mapped_column(Integer)
    model_version: Mapped[str] = mapped_column(String(128))
    topic: Mapped[str] = mapped_column(String(64))
    topic_confidence: Mapped[float] = mapped_column(Float)
    sentiment: Mapped[str] = mapped_column(String(16))
    sentiment_confidence: Mapped[float] = mapped_column(Float)
    sentiment_score: Mapped[float] = mapped_column(Float, doc="p(positive) - p(negative)")
    probabilities: Mapped[dict[str, dict[str, float]]] = mapped_column(Json)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    classified_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class DeadLetter(Base):
    """A Kafka record that broke the message contract, kept byte for byte with the reason."""

    __tablename__ = "dead_letters"
    __table_args__ = (
        UniqueConstraint(
            "kafka_topic", "kafka_partition", "kafka_offset", name="uq_dead_letters_record"
        ),
        Index("ix_dead_letters_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kafka_topic: Mapped[str] = mapped_column(String(255))
    kafka_partition: Mapped[int] = mapped_column(Integer)
    kafka_offset: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[bytes | None] = mapped_column(LargeBinary)
    value: Mapped[bytes | None] = mapped_column(LargeBinary)
    error: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)


class Alert(Base):
    """A negative-sentiment spike on one scope (a topic, or the whole market)."""

    __tablename__ = "alerts"
    __table_args__ = (
        # Never two open alerts for one fingerprint.
        partial_index(
            "uq_alerts_open_fingerprint", "fingerprint", where="status = 'firing'", unique=True
        ),
        Index("ix_alerts_status_opened_at", "status", "opened_at"),
        Index("ix_alerts_scope_opened_at", "scope", "opened_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fingerprint: Mapped[str] = mapped_column(String(128))
    scope: Mapped[str] = mapped_column(String(64), doc="topic name, '*' (market), or a ticker")
    scope_kind: Mapped[str] = mapped_column(
        String(16), default="topic", server_default="topic", doc="topic | entity"
    )
    signal: Mapped[str] = mapped_column(
        String(16), default="share", server_default="share", doc="share | volume"
    )
    status: Mapped[str] = mapped_column(String(16), default="firing")
    window_start: Mapped[datetime] = mapped_column(Timestamp)
    window_end: Mapped[datetime] = mapped_column(Timestamp)
    baseline_start: Mapped[datetime] = mapped_column(Timestamp)
    baseline_end: Mapped[datetime] = mapped_column(Timestamp)
    window_count: Mapped[int] = mapped_column(Integer)
    window_negative: Mapped[int] = mapped_column(Integer)
    baseline_count: Mapped[int] = mapped_column(Integer)
    baseline_negative: Mapped[int] = mapped_column(Integer)
    observed_share: Mapped[float] = mapped_column(Float)
    baseline_share: Mapped[float] = mapped_column(Float)
    statistic: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    p_value: Mapped[float | None] = mapped_column(Float)
    story_ids: Mapped[list[int]] = mapped_column(Json, default=list)
    details: Mapped[dict[str, Any] | None] = mapped_column(Json)
    opened_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(Timestamp)
    acknowledged_at: Mapped[datetime | None] = mapped_column(Timestamp)
    acknowledged_by: Mapped[str | None] = mapped_column(String(128))


class AlertScopeState(Base):
    """The spike detector's memory of one scope: consecutive counts and cooldown (0002)."""

    __tablename__ = "alert_scope_states"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    above: Mapped[int] = mapped_column(Integer, default=0, doc="consecutive significant evals")
    below: Mapped[int] = mapped_column(Integer, default=0, doc="consecutive clear evals (firing)")
    cooldown_until: Mapped[datetime | None] = mapped_column(Timestamp)
    last_evaluated_at: Mapped[datetime | None] = mapped_column(Timestamp)
    last_statistic: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow, onupdate=utcnow)


class WebhookDelivery(Base):
    """The outbox: one event for one endpoint, retried until delivered or given up."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", name="uq_webhook_deliveries_webhook_id"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_alert_id", "alert_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(32), doc="alert.firing | alert.resolved")
    endpoint: Mapped[str] = mapped_column(Text)
    webhook_id: Mapped[str] = mapped_column(String(64), doc="Standard Webhooks message id")
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(Timestamp)


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery: when, the outcome, how long it took."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id", "delivery_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempted_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float] = mapped_column(Float)


class SentimentHourly(Base):
    """Current labels per hour of `published_at` and topic (0004): the Overview's long ranges.

    Derived from stories ⨝ current classifications by `monitor.store.rollup`; never written by
    ingestion.
    """

    __tablename__ = "sentiment_hourly"

    hour: Mapped[datetime] = mapped_column(Timestamp, primary_key=True)
    topic: Mapped[str] = mapped_column(String(64), primary_key=True)
    stories: Mapped[int] = mapped_column(Integer)
    negative: Mapped[int] = mapped_column(Integer)
    neutral: Mapped[int] = mapped_column(Integer)
    positive: Mapped[int] = mapped_column(Integer)
    score_sum: Mapped[float] = mapped_column(Float)


class RollupState(Base):
    """Where a rollup has got to: the newest `classified_at` it processed, when it last ran."""

    __tablename__ = "rollup_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    watermark: Mapped[datetime | None] = mapped_column(Timestamp)
    refreshed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    sweep_hour: Mapped[datetime | None] = mapped_column(
        Timestamp, doc="next hour the background re-check recomputes"
    )


class Silence(Base):
    """A person's mute on alert scopes (0006): while active, a matching scope opens no alert and
    sends no `alert.firing`. `matcher` is a scope name, or a glob pattern (`Energy*`) that must
    match the whole scope when `is_glob`."""

    __tablename__ = "silences"
    __table_args__ = (Index("ix_silences_ends_at", "ends_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    matcher: Mapped[str] = mapped_column(String(256))
    is_glob: Mapped[bool] = mapped_column(Boolean, default=False)
    starts_at: Mapped[datetime] = mapped_column(Timestamp)
    ends_at: Mapped[datetime] = mapped_column(Timestamp)
    created_by: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp, default=utcnow)
    expired_at: Mapped[datetime | None] = mapped_column(Timestamp, doc="ended early, by hand")
    expired_by: Mapped[str | None] = mapped_column(String(128))


class StoryEntity(Base):
    """A company a story names (0007), keyed by the dictionary's ticker, with the sentiment
    towards it. Written in the story's transaction; an update of the story replaces its rows."""

    __tablename__ = "story_entities"
    __table_args__ = (Index("ix_story_entities_entity", "entity", "story_id"),)

    story_id: Mapped[int] = mapped_column(
        ForeignKey("stories.id", ondelete="CASCADE"), primary_key=True
    )
    entity: Mapped[str] = mapped_column(String(64), primary_key=True, doc="ticker, or the name")
    mention: Mapped[str] = mapped_column(String(256), doc="the text as it appears in the story")
    span_start: Mapped[int | None] = mapped_column(Integer, doc="character span in model text")
    span_end: Mapped[int | None] = mapped_column(Integer)
    matched_by: Mapped[str] = mapped_column(String(16), doc="ticker | cashtag | name")
    sector: Mapped[str | None] = mapped_column(String(64))
    sentiment: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float, doc="p(positive) - p(negative) towards it")
    from_mention: Mapped[bool] = mapped_column(
        Boolean, doc="False: the story's sentiment stands in (no entity head, or no span)"
    )


class EntityHourly(Base):
    """Current entity sentiment per hour of `published_at` and entity (0007): the Company page,
    top movers and watchlist baselines. Derived by `monitor.store.rollup`; never written by
    ingestion."""

    __tablename__ = "entity_hourly"
    __table_args__ = (Index("ix_entity_hourly_hour", "hour"),)

    entity: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[datetime] = mapped_column(Timestamp, primary_key=True)
    sector: Mapped[str | None] = mapped_column(String(64))
    stories: Mapped[int] = mapped_column(Integer)
    negative: Mapped[int] = mapped_column(Integer)
    neutral: Mapped[int] = mapped_column(Integer)
    positive: Mapped[int] = mapped_column(Integer)
    score_sum: Mapped[float] = mapped_column(Float)
