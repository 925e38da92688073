"""Alerts as the dashboard shows them, and its one write: acknowledging an alert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from monitor.errors import MonitorError
from monitor.store.models import Alert, utcnow
from monitor.store.sql import MARKET, as_utc


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
    scope_kind: str = "topic"  # 'topic' (a topic, or the market) or 'entity' (a ticker)
    signal: str = "share"  # 'share' (negative share) or 'volume' (negative volume)

    @property
    def label(self) -> str:
        """How people name the alert's scope: the topic, or 'Market' for the market scope."""
        return "Market" if self.scope == MARKET else self.scope

    @classmethod
    def from_orm(cls, alert: Alert) -> AlertRow:
        def aware(value: datetime | None) -> datetime | None:
            return as_utc(value) if value is not None else None

        return cls(
            id=alert.id,
            scope=alert.scope,
            status=alert.status,
            window_start=as_utc(alert.window_start),
            window_end=as_utc(alert.window_end),
            baseline_start=as_utc(alert.baseline_start),
            baseline_end=as_utc(alert.baseline_end),
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
            opened_at=as_utc(alert.opened_at),
            resolved_at=aware(alert.resolved_at),
            acknowledged_at=aware(alert.acknowledged_at),
            acknowledged_by=alert.acknowledged_by,
            scope_kind=alert.scope_kind or "topic",
            signal=alert.signal or "share",
        )


def firing_alerts(session: Session) -> list[AlertRow]:
    """Alerts firing now, newest first."""
    return list_alerts(session, status="firing", limit=100)


def list_alerts(
    session: Session,
    *,
    status: str | None = None,
    scope: str | None = None,
    scope_kind: str | None = None,
    opened_from: datetime | None = None,
    opened_to: datetime | None = None,
    limit: int = 200,
) -> list[AlertRow]:
    """Alerts newest first, optionally of one status ('firing' / 'resolved'), scope and kind of
    scope ('topic' / 'entity'), opened in [opened_from, opened_to)."""
    stmt = select(Alert).order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(Alert.status == status)
    if scope:
        stmt = stmt.where(Alert.scope == scope)
    if scope_kind:
        stmt = stmt.where(Alert.scope_kind == scope_kind)
    if opened_from is not None:
        stmt = stmt.where(Alert.opened_at >= opened_from)
    if opened_to is not None:
        stmt = stmt.where(Alert.opened_at < opened_to)
    return [AlertRow.from_orm(alert) for alert in session.scalars(stmt)]


def get_alert(session: Session, *, alert_id: int) -> AlertRow | None:
    alert = session.get(Alert, alert_id, populate_existing=True)
    return AlertRow.from_orm(alert) if alert is not None else None


class AlertNotFound(MonitorError):
    """acknowledge_alert() was given an id that no alert has."""


class AlreadyAcknowledged(MonitorError):
    """Someone acknowledged the alert first; their acknowledgement stands (`alert` shows it)."""

    def __init__(self, alert: AlertRow) -> None:
        self.alert = alert
        super().__init__(
            f"alert #{alert.id} was already acknowledged by {alert.acknowledged_by} "
            f"at {alert.acknowledged_at:%Y-%m-%d %H:%M:%S} UTC"
        )


def acknowledge_alert(
    session: Session, *, alert_id: int, who: str, at: datetime | None = None
) -> AlertRow:
    """Record who took the alert on and when: the first acknowledgement wins.

    On call, acknowledging says "I own this one". A later acknowledgement that overwrote it
    would silently take the incident off the person working it, and the team would no longer
    know who that is; so a second one changes nothing and raises `AlreadyAcknowledged`, naming
    who has it, for the caller to show. One conditional UPDATE decides, so two people clicking
    at once cannot both win: on PostgreSQL the second waits for the first's row lock, then
    finds the alert taken. The caller owns the transaction.
    """
    who = who.strip()
    if not who:
        raise ValueError("who must name the person acknowledging")
    result = session.execute(
        update(Alert)
        .where(Alert.id == alert_id, Alert.acknowledged_at.is_(None))
        .values(acknowledged_at=at or utcnow(), acknowledged_by=who[:128])
    )
    alert = get_alert(session, alert_id=alert_id)
    if alert is None:
        raise AlertNotFound(f"no alert with id {alert_id}")
    if not cast(CursorResult[Any], result).rowcount:
        raise AlreadyAcknowledged(alert)
    return alert
