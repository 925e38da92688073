"""Alert rows and the detector's per-scope state: loading, saving, acknowledging.

Every function takes the session keyword-only; the caller owns the transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts.lifecycle import ScopeState
from monitor.alerts.queries import as_utc
from monitor.errors import MonitorError
from monitor.store.models import Alert, AlertScopeState

FIRING = "firing"
RESOLVED = "resolved"


class AlertNotFound(MonitorError):
    """acknowledge() was given an id that no alert has."""


def fingerprint(scope: str) -> str:
    """One identity per scope: at most one open alert for it (a partial unique index)."""
    return f"negative-spike:{scope}"


def open_alerts(*, session: Session) -> dict[str, Alert]:
    """Firing alerts by scope."""
    rows = session.scalars(select(Alert).where(Alert.status == FIRING))
    return {alert.scope: alert for alert in rows}


def load_states(*, session: Session) -> dict[str, AlertScopeState]:
    """Stored scope states, locked on PostgreSQL so two detectors cannot interleave."""
    query = select(AlertScopeState).with_for_update()
    return {row.scope: row for row in session.scalars(query)}


def to_state(row: AlertScopeState | None, *, firing: bool) -> ScopeState:
    """The pure state of a scope; `firing` comes from the alerts table, the source of truth."""
    if row is None:
        return ScopeState(firing=firing)
    cooldown = as_utc(row.cooldown_until) if row.cooldown_until is not None else None
    return ScopeState(firing=firing, above=row.above, below=row.below, cooldown_until=cooldown)


def save_state(
    *,
    session: Session,
    rows: dict[str, AlertScopeState],
    scope: str,
    state: ScopeState,
    now: datetime,
    statistic: float,
) -> None:
    row = rows.get(scope)
    if row is None:
        row = rows[scope] = AlertScopeState(scope=scope)
        session.add(row)
    row.above, row.below = state.above, state.below
    row.cooldown_until = state.cooldown_until
    row.last_evaluated_at = now
    row.last_statistic = statistic
    row.updated_at = datetime.now(UTC)


def acknowledge(*, session: Session, alert_id: int, who: str, now: datetime | None = None) -> Alert:
    """Record who acknowledged an alert and when (the first acknowledgement is kept)."""
    alert = session.get(Alert, alert_id, with_for_update=True)
    if alert is None:
        raise AlertNotFound(f"no alert with id {alert_id}")
    if alert.acknowledged_at is None:
        alert.acknowledged_at = now or datetime.now(UTC)
        alert.acknowledged_by = who
    return alert
