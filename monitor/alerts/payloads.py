"""The JSON body of `alert.firing` / `alert.resolved` events (documented in docs/alerts.md).

Built once, when the alert changes, and stored in the outbox row: every retry sends the same
snapshot, even if the alert is acknowledged or the stories are corrected meanwhile.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from monitor.alerts import severity
from monitor.alerts.repository import ENTITY
from monitor.store.models import Alert
from monitor.store.sql import as_utc

FIRING = "alert.firing"
RESOLVED = "alert.resolved"


def _time(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


def alert_link(dashboard_url: str, alert_id: int) -> str:
    return f"{dashboard_url.rstrip('/')}/alerts?alert_id={alert_id}"


def event_payload(
    event: str,
    alert: Alert,
    *,
    stories: list[dict[str, Any]],
    dashboard_url: str,
    timestamp: datetime,
    silence: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`{type, timestamp, data}`: the alert's numbers, its severity, whether a silence mutes its
    scope (`silence`: the silence's `payload()`), its top stories and a dashboard link; a
    watchlist alert's adds its entity's fields (`_entity_fields`)."""
    payload: dict[str, Any] = {
        "type": event,
        "timestamp": _time(timestamp),
        "data": {
            "alert_id": alert.id,
            "fingerprint": alert.fingerprint,
            "scope": alert.scope,
            "status": alert.status,
            "severity": severity.of(alert),
            "silenced": silence is not None,
            "silence": silence,
            "opened_at": _time(alert.opened_at),
            "resolved_at": _time(alert.resolved_at),
            "window": {
                "start": _time(alert.window_start),
                "end": _time(alert.window_end),
                "count": alert.window_count,
                "negative": alert.window_negative,
                "negative_share": round(alert.observed_share, 4),
            },
            "baseline": {
                "start": _time(alert.baseline_start),
                "end": _time(alert.baseline_end),
                "count": alert.baseline_count,
                "negative": alert.baseline_negative,
                "negative_share": round(alert.baseline_share, 4),
            },
            "statistic": round(alert.statistic, 4),
            "threshold": alert.threshold,
            "p_value": alert.p_value,
            "top_stories": stories,
            "url": alert_link(dashboard_url, alert.id),
        },
    }
    if alert.scope_kind == ENTITY:
        payload["data"].update(_entity_fields(alert))
    return payload


def _entity_fields(alert: Alert) -> dict[str, Any]:
    """What a watchlist alert's event adds to the topic payload's fields (`scope` is the entity
    key; the counts are stories about it and those negative towards it): `scope_kind`, `signal`
    (the one that drove it), `signals` (all significant when it opened), `entity` {key, name,
    sector}, `volume` {observed, expected, rate_ratio} and, on each top story, `entity` {key,
    mention, sentiment, confidence, score, from_mention}: the sentiment towards the entity, which
    can differ from the story's (docs/alerts.md, "Watchlist alerts")."""
    details = alert.details or {}
    return {
        "scope_kind": alert.scope_kind,
        "signal": alert.signal,
        "signals": details.get("signals", [alert.signal]),
        "entity": {
            "key": alert.scope,
            "name": details.get("name"),
            "sector": details.get("sector"),
        },
        "volume": details.get("volume"),
    }


def encode(payload: dict[str, Any]) -> bytes:
    """The exact bytes that are signed and sent."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
