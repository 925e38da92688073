"""The webhook dispatcher job: claim due outbox rows, POST them signed, record every attempt.

Order of one pass (no transaction is held open across HTTP):
1. claim: in a short transaction, lock due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so a
   second dispatcher skips them) and push their `next_attempt_at` forward by a lease, so a crash
   mid-send only delays the retry;
2. send each claimed row in id order, outside any transaction;
3. record: one transaction per attempt writes the `webhook_attempts` row and the outcome:
   2xx → delivered; 410 → the endpoint is disabled (its pending rows too); anything else →
   retry after exponential backoff with full jitter, or `failed` once older than the max age.
A row is due only when no earlier row of the same alert and endpoint is still pending, so
`alert.resolved` never overtakes its `alert.firing`. The webhook-id is fixed per row, so every
retry carries the same id (receivers deduplicate on it); timestamp and signature are fresh.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import Select, and_, exists, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from monitor.alerts import metrics, outbox, payloads
from monitor.alerts.backoff import full_jitter_delay
from monitor.alerts.signing import signed_headers
from monitor.settings.alerts import AlertSettings
from monitor.store.models import WebhookAttempt, WebhookDelivery
from monitor.store.sql import as_utc

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Claimed:
    id: int
    webhook_id: str
    endpoint: str
    body: bytes
    attempts: int
    created_at: datetime


@dataclass
class DispatchReport:
    claimed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)


def due_query(now: datetime, limit: int) -> Select[WebhookDelivery]:
    """Due pending rows whose predecessors (same alert and endpoint) are all settled."""
    earlier = aliased(WebhookDelivery)
    blocked = exists().where(
        and_(
            earlier.alert_id == WebhookDelivery.alert_id,
            earlier.endpoint == WebhookDelivery.endpoint,
            earlier.id < WebhookDelivery.id,
            earlier.status == outbox.PENDING,
        )
    )
    return (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.status == outbox.PENDING,
            WebhookDelivery.next_attempt_at <= now,
            ~blocked,
        )
        .order_by(WebhookDelivery.id)
        .limit(limit)
    )


def claim(*, session: Session, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
    """Lock and lease due rows; PostgreSQL skips rows another dispatcher holds."""
    query = due_query(now, limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
    claimed = []
    for row in session.scalars(query):
        row.next_attempt_at = now + lease
        claimed.append(
            Claimed(
                id=row.id,
                webhook_id=row.webhook_id,
                endpoint=row.endpoint,
                body=payloads.encode(row.payload),
                attempts=row.attempts,
                created_at=as_utc(row.created_at),
            )
        )
    return claimed


def dispatch(
    *,
    sessions: sessionmaker[Session],
    settings: AlertSettings,
    client: httpx.Client,
    clock: Clock = wall_clock,
) -> DispatchReport:
    """One pass: claim due deliveries, send them in order, record each attempt."""
    secrets = {e.url: e.secret.get_secret_value() for e in settings.webhooks}
    lease = timedelta(seconds=settings.webhook_timeout_s * 2 + 5)
    with sessions.begin() as session:
        batch = claim(session=session, now=clock(), limit=settings.dispatch_batch_size, lease=lease)
    report = DispatchReport(claimed=len(batch))
    gone: set[str] = set()
    for item in batch:
        if item.endpoint in gone:
            continue
        secret = secrets.get(item.endpoint)
        if secret is None:
            outcome = _record(
                sessions,
                item,
                settings,
                clock(),
                status_code=None,
                error="endpoint no longer configured",
                duration_ms=0.0,
                give_up=True,
            )
        else:
            outcome = _attempt(sessions, client, item, secret, settings, clock)
        if outcome == outbox.DISABLED:
            gone.add(item.endpoint)
        report.outcomes[outcome] = report.outcomes.get(outcome, 0) + 1
    return report


def _attempt(
    sessions: sessionmaker[Session],
    client: httpx.Client,
    item: Claimed,
    secret: str,
    settings: AlertSettings,
    clock: Clock,
) -> str:
    headers = signed_headers(secret, item.webhook_id, int(time.time()), item.body)
    started = time.perf_counter()
    status_code: int | None = None
    error: str | None = None
    try:
        response = client.post(
            item.endpoint, content=item.body, headers=headers, timeout=settings.webhook_timeout_s
        )
        status_code = response.status_code
        if not response.is_success:
            error = f"HTTP {status_code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    duration_ms = (time.perf_counter() - started) * 1000.0
    return _record(sessions, item, settings, clock(), status_code, error, duration_ms)


def _record(
    sessions: sessionmaker[Session],
    item: Claimed,
    settings: AlertSettings,
    now: datetime,
    status_code: int | None,
    error: str | None,
    duration_ms: float,
    give_up: bool = False,
) -> str:
    """Write the attempt and the delivery's new status in one transaction; returns the outcome."""
    with sessions.begin() as session:
        session.add(
            WebhookAttempt(
                delivery_id=item.id,
                attempted_at=now,
                status_code=status_code,
                error=error,
                duration_ms=duration_ms,
            )
        )
        row = session.get(WebhookDelivery, item.id, with_for_update=True)
        assert row is not None  # deliveries are never deleted while an alert exists
        row.attempts = item.attempts + 1
        row.last_status_code = status_code
        row.last_error = error
        if error is None:
            row.status, row.delivered_at = outbox.DELIVERED, now
            outcome = outbox.DELIVERED
        elif status_code == 410:
            _disable(session, item.endpoint)
            outcome = outbox.DISABLED
        else:
            age = (now - item.created_at).total_seconds()
            delay = full_jitter_delay(
                row.attempts, base_s=settings.retry_base_s, max_delay_s=settings.retry_max_delay_s
            )
            if give_up or age + delay > settings.retry_max_age_s:
                row.status = outbox.FAILED
                outcome = outbox.FAILED
            else:
                row.next_attempt_at = now + timedelta(seconds=delay)
                outcome = "retry"
    metrics.webhook_attempt(outcome)
    log_level = logging.INFO if outcome == outbox.DELIVERED else logging.WARNING
    log.log(log_level, "webhook %s → %s: %s", item.webhook_id, item.endpoint, error or outcome)
    return outcome


def _disable(session: Session, endpoint: str) -> None:
    """410 Gone: the receiver asked us to stop; its pending rows are disabled too."""
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint == endpoint, WebhookDelivery.status == outbox.PENDING)
        .values(status=outbox.DISABLED)
    )
    log.error("endpoint %s answered 410 Gone: disabled, no more events are sent to it", endpoint)
