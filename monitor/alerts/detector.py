"""The spike detector job: aggregate, test, advance each scope's state, open/resolve alerts.

One call = one evaluation of every scope (each topic seen in the window or baseline, the market
'*', and any scope with an open alert; then, with a watchlist, each watched entity's two signals:
`monitor.alerts.watchlist`), inside the caller's transaction: alert changes, their outbox rows
and the scope states commit together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from monitor.alerts import metrics, queries, repository, silences, watchlist
from monitor.alerts.lifecycle import LifecycleParams
from monitor.alerts.stats import Counts, TestResult, spike_test
from monitor.alerts.transition import (
    DetectionReport,
    Figures,
    Run,
    Scope,
    advance,
    open_alert,
    seen_at,
)
from monitor.settings.alerts import AlertSettings, WebhookEndpoint
from monitor.store.models import Alert
from monitor.store.sql import MARKET, as_utc

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


def windows_at(now: datetime, settings: AlertSettings) -> queries.Windows:
    return queries.Windows.ending(now, window_s=settings.window_s, baseline_s=settings.baseline_s)


def lifecycle_params(settings: AlertSettings) -> LifecycleParams:
    return LifecycleParams(
        persistence=settings.persistence_evaluations,
        resolve_after=settings.resolve_evaluations,
        resolve_z=settings.resolve_z,
        cooldown=timedelta(seconds=settings.cooldown_s),
    )


def evaluation_time(
    session: Session,
    settings: AlertSettings,
    clock: Clock,
    published: tuple[datetime, datetime] | None = None,
) -> datetime | None:
    """'now': the wall clock, or with clock='data' the newest published_at (for replays) inside
    the message contract's range, so one story dated 9999 cannot move the clock there."""
    if settings.clock == "data":
        return queries.newest_published_at(session, within=published)
    return as_utc(clock())


def detect(
    *,
    session: Session,
    settings: AlertSettings,
    endpoints: list[WebhookEndpoint],
    dashboard_url: str,
    clock: Clock = wall_clock,
    wall: Clock = wall_clock,
    published: tuple[datetime, datetime] | None = None,
) -> DetectionReport:
    """Evaluate every scope once at `clock()`; outbox timestamps use `wall()`; `published` is
    the contract's range of publication times (rows outside it are not evidence)."""
    now = evaluation_time(session, settings, clock, published)
    report = DetectionReport(now=now)
    if now is None:
        return report
    windows = windows_at(now, settings)
    counts = queries.scope_counts(session, windows=windows)
    firing = repository.open_alerts(session=session)
    rows = repository.load_states(session=session)
    params = lifecycle_params(settings)
    run = Run(
        session,
        now,
        params,
        silences.active_silences(session, at=wall()),
        endpoints,
        dashboard_url,
        wall,
        report,
    )
    market = counts[MARKET]
    market_share = (
        market.baseline_negative / market.baseline_count
        if market.baseline_count
        else settings.prior_negative_share
    )
    for scope in sorted(set(counts) | set(firing) | set(rows)):
        if seen_at(rows.get(scope), now):
            continue  # the data clock did not move: the same evidence must not count twice
        scope_counts = counts.get(scope, Counts(0, 0, 0, 0))
        result = spike_test(
            scope_counts,
            prior_share=settings.prior_negative_share if scope == MARKET else market_share,
            prior_strength=settings.prior_strength,
            fire_z=settings.fire_z,
            min_window_count=settings.min_window_count,
            min_share_increase=settings.min_share_increase,
        )
        advance(
            run,
            Scope(scope, scope, firing.get(scope), silences.silencing(run.muted, scope)),
            result,
            rows=rows,
            open_alert=partial(_open, session, scope, scope_counts, result, windows, settings, now),
            resolve=partial(_resolve, counts=scope_counts, result=result, now=now),
            stories=_stories,
        )
    if settings.watchlist_enabled:
        watchlist.evaluate(run, settings)
    return report


def _open(
    session: Session,
    scope: str,
    counts: Counts,
    result: TestResult,
    windows: queries.Windows,
    settings: AlertSettings,
    now: datetime,
) -> Alert:
    story_ids = queries.spike_story_ids(
        session, scope=scope, windows=windows, limit=settings.top_stories
    )
    alert = open_alert(
        session,
        windows,
        counts,
        result,
        Figures(result.statistic, settings.fire_z, result.p_value),
        now=now,
        fingerprint=repository.fingerprint(scope),
        scope=scope,
        story_ids=story_ids,
        details={
            "test": "one-sided pooled two-proportion z, Beta-prior-smoothed baseline",
            "prior_strength": settings.prior_strength,
            "min_window_count": settings.min_window_count,
            "min_share_increase": settings.min_share_increase,
            "persistence_evaluations": settings.persistence_evaluations,
            "resolve_z": settings.resolve_z,
            "resolve_evaluations": settings.resolve_evaluations,
            "clock": settings.clock,
        },
    )
    metrics.alert_fired(scope)
    log.warning(
        "alert %s fired on %s: %d/%d negative (%.1f%%) vs baseline %.1f%%, z=%.2f",
        alert.id,
        scope,
        counts.window_negative,
        counts.window_count,
        100 * result.observed_share,
        100 * result.baseline_share,
        result.statistic,
    )
    return alert


def _resolve(alert: Alert, counts: Counts, result: TestResult, now: datetime) -> None:
    """Close the alert; the numbers that justified opening it stay, the closing ones go in
    details."""
    alert.status = repository.RESOLVED
    alert.resolved_at = now
    alert.details = {
        **(alert.details or {}),
        "resolution": {"counts": asdict(counts), **asdict(result)},
    }
    metrics.alert_resolved(alert.scope)
    log.info("alert %s on %s resolved (z=%.2f)", alert.id, alert.scope, result.statistic)


def _stories(session: Session, alert: Alert) -> list[dict[str, Any]]:
    return queries.stories_for_payload(session, list(alert.story_ids or []))
