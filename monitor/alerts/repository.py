"""The detector's alert rows and per-scope state: loading and saving.

Every function takes the session keyword-only; the caller owns the transaction. Acknowledging
an alert, a person's action, is `monitor.store.queries.acknowledge_alert`.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts.lifecycle import ScopeState
from monitor.store.models import Alert, AlertScopeState
from monitor.store.sql import as_utc

FIRING = "firing"
RESOLVED = "resolved"


TOPIC = "topic"
ENTITY = "entity"
SHARE = "share"
VOLUME = "volume"
ENTITY_KEY_PREFIX = f"{ENTITY}:"  # topic names never contain ':' (monitor.nlp.labels)
MAX_KEY = 64  # alert_scope_states.scope


def fingerprint(scope: str, *, kind: str = TOPIC) -> str:
    """One identity per scope: at most one open alert for it (a partial unique index). Topic
    fingerprints are `negative-spike:<topic>` as they always were; an entity's are
    `negative-spike:entity:<key>` (topic names never contain ':'), so a topic and an entity of
    the same name never share one."""
    if kind == TOPIC:
        return f"negative-spike:{scope}"
    return f"negative-spike:{kind}:{scope}"


def state_key(scope: str, *, kind: str = TOPIC) -> str:
    """The alert_scope_states key: the topic itself, or `entity:<key>` (an entity key too long
    for the column is shortened with a hash of it, still unique)."""
    if kind == TOPIC:
        return scope
    key = f"{kind}:{scope}"
    if len(key) <= MAX_KEY:
        return key
    digest = hashlib.sha1(scope.encode()).hexdigest()[:16]
    return f"{key[: MAX_KEY - 17]}#{digest}"


def open_alerts(*, session: Session, kind: str = TOPIC) -> dict[str, Alert]:
    """Firing alerts of one scope kind, by state key."""
    rows = session.scalars(select(Alert).where(Alert.status == FIRING, Alert.scope_kind == kind))
    return {state_key(a.scope, kind=kind): a for a in rows}


def load_states(*, session: Session, kind: str = TOPIC) -> dict[str, AlertScopeState]:
    """Stored states of one scope kind, locked on PostgreSQL so two detectors cannot
    interleave."""
    entity = AlertScopeState.scope.startswith(ENTITY_KEY_PREFIX, autoescape=True)
    query = select(AlertScopeState).where(entity if kind == ENTITY else ~entity)
    return {row.scope: row for row in session.scalars(query.with_for_update())}


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
