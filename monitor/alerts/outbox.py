"""Writing events to the outbox, in the caller's transaction (the one that changes the alert).

The alert change and its deliveries commit or roll back together, so no event is lost and none
is announced for a change that did not happen. The dispatcher sends them later.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.settings.alerts import WebhookEndpoint
from monitor.store.models import WebhookDelivery

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
DISABLED = "disabled"


def disabled_endpoints(session: Session) -> set[str]:
    """Endpoints that answered 410 Gone: we stop sending to them (derived from the outbox)."""
    query = select(WebhookDelivery.endpoint).where(WebhookDelivery.status == DISABLED).distinct()
    return set(session.scalars(query))


def enqueue(
    session: Session,
    *,
    alert_id: int,
    event: str,
    payload: dict[str, Any],
    endpoints: Sequence[WebhookEndpoint],
    now: datetime,
) -> list[WebhookDelivery]:
    """One pending delivery per enabled endpoint, each with its own stable webhook-id."""
    gone = disabled_endpoints(session) if endpoints else set()
    rows = [
        WebhookDelivery(
            alert_id=alert_id,
            event=event,
            endpoint=endpoint.url,
            webhook_id=f"msg_{uuid.uuid4().hex}",
            payload=payload,
            status=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for endpoint in endpoints
        if endpoint.url not in gone
    ]
    session.add_all(rows)
    return rows
