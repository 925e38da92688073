"""The detector's alert rows and per-scope state: loading and saving.

Every function takes the session keyword-only; the caller owns the transaction. Acknowledging
an alert, a person's action, is `monitor.store.queries.acknowledge_alert`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts.lifecycle import ScopeState
from monitor.store.models import Alert, AlertScopeState
from monitor.store.sql import as_utc

FIRING = "firing"
RESOLVED = "resolved"


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
