"""Watchlist alerts: negative news piling up about one company (docs/alerts.md, "Watchlist
alerts").

Scope kind `entity`, one scope per watched entity (`MONITOR_ALERTS__WATCHLIST`: tickers, or `*`
for every entity with enough stories) and two signals, each with its own lifecycle state,
fingerprint and alert:

- `share`: the negative share of the stories about the entity, window vs baseline, with the
  topic detector's test (`stats.spike_test`); the prior is the baseline share over all entities;
- `volume`: the count of negative stories about the entity in the window against its own
  baseline rate (`stats.volume_test`, negative-binomial upper tail).

A story counts once per entity (story_entities' key) with the sentiment *towards the entity*.
Both signals go through the topic alerts' lifecycle (persistence, hysteresis, cooldown), silences,
severity and the signed webhook outbox, in the caller's transaction (`detector.detect`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from monitor.alerts import metrics, outbox, payloads, repository, silences
from monitor.alerts.entity_queries import (
    EntityCounts,
    baseline_share,
    driving_story_ids,
    entity_counts,
    stories_with_entity,
)
from monitor.alerts.lifecycle import Action, LifecycleParams, step
from monitor.alerts.queries import Windows
from monitor.alerts.repository import ENTITY, SHARE, VOLUME
from monitor.alerts.stats import Counts, TestResult, VolumeResult, spike_test, volume_test
from monitor.settings.alerts import AlertSettings, WebhookEndpoint
from monitor.store.models import Alert, AlertScopeState
from monitor.store.sql import as_utc

log = logging.getLogger(__name__)

SIGNALS = (SHARE, VOLUME)
SILENCE_PREFIX = f"{ENTITY}:"
NO_COUNTS = Counts(0, 0, 0, 0)


@dataclass(frozen=True)
class Evaluation:
    """Both tests of one entity; `signal` picks which one drives the lifecycle."""

    signal: str
    share: TestResult
    volume: VolumeResult

    @property
    def significant(self) -> bool:
        return self.share.significant if self.signal == SHARE else self.volume.significant

    @property
    def statistic(self) -> float:
        return self.share.statistic if self.signal == SHARE else self.volume.statistic

    @property
    def enough_data(self) -> bool:
        return self.share.enough_data if self.signal == SHARE else self.volume.enough_data

    @property
    def p_value(self) -> float:
        return self.share.p_value if self.signal == SHARE else self.volume.p_value


def windows_at(now: datetime, settings: AlertSettings) -> Windows:
    window_start = now - timedelta(seconds=settings.entity.window_s)
    return Windows(
        baseline_start=window_start - timedelta(seconds=settings.entity.baseline_s),
        window_start=window_start,
        window_end=now,
    )


def silence_names(entity: str) -> tuple[str, str]:
    """What a silence's matcher is compared with for an entity's alerts: the bare key (`AAPL`)
    and the kind-qualified one (`entity:AAPL`, so `entity:*` mutes every watchlist alert)."""
    return entity, f"{SILENCE_PREFIX}{entity}"


def silencing(active: list[silences.SilenceRow], entity: str) -> silences.SilenceRow | None:
    found = [s for s in (silences.silencing(active, n) for n in silence_names(entity)) if s]
    return max(found, key=lambda s: s.until) if found else None


# --- evaluation -----------------------------------------------------------------------------


def evaluate(
    session: Session,
    *,
    settings: AlertSettings,
    now: datetime,
    params: LifecycleParams,
    muted: list[silences.SilenceRow],
    endpoints: list[WebhookEndpoint],
    dashboard_url: str,
    wall: Callable[[], datetime],
    fired: list[int],
    resolved: list[int],
    held: list[str],
) -> int:
    """Evaluate both signals of every watched entity at `now`; returns how many scopes were
    evaluated and appends to the caller's report lists."""
    config = settings.entity
    windows = windows_at(now, settings)
    firing = repository.open_alerts(session=session, kind=ENTITY)
    rows = repository.load_states(session=session, kind=ENTITY)
    watched = settings.watched()
    if watched is not None:
        watched = watched | {alert.scope.upper() for alert in firing.values()}
    counts = entity_counts(session, windows=windows, entities=watched)
    prior = baseline_share(session, windows=windows, default=settings.prior_negative_share)
    scopes = {(a.scope, a.signal) for a in firing.values()}
    for entity, found in counts.items():
        if found.counts.window_count >= config.min_window_count:
            scopes.add((entity, SHARE))
        if found.counts.window_negative >= config.min_negative:
            scopes.add((entity, VOLUME))
    evaluated = 0
    keys = set()
    for entity, signal in sorted(scopes):
        key = repository.state_key(entity, kind=ENTITY, signal=signal)
        keys.add(key)
        row = rows.get(key)
        last = row.last_evaluated_at if row is not None else None
        if last is not None and as_utc(last) >= now:
            continue  # the data clock did not move: the same evidence must not count twice
        found = counts.get(entity, EntityCounts(NO_COUNTS, None))
        result = _test(signal, found.counts, prior, settings)
        state = repository.to_state(row, firing=key in firing)
        state, action = step(
            state,
            significant=result.significant,
            statistic=result.statistic,
            enough_data=result.enough_data,
            now=now,
            params=params,
        )
        evaluated += 1
        silence = silencing(muted, entity)
        if action is Action.FIRE and silence is not None:
            state = silences.held_back(repository.to_state(row, firing=False))
            log.info(
                "watchlist firing on %s (%s) held back by silence #%d", entity, signal, silence.id
            )
            held.append(f"{SILENCE_PREFIX}{entity}:{signal}")
        elif action is Action.FIRE:
            alert = _open(session, entity, found, result, windows, settings, now)
            _announce(session, payloads.FIRING, alert, endpoints, dashboard_url, wall())
            fired.append(alert.id)
        elif action is Action.RESOLVE:
            alert = firing[key]
            _resolve(alert, found.counts, result, now)
            _announce(session, payloads.RESOLVED, alert, endpoints, dashboard_url, wall(), silence)
            resolved.append(alert.id)
        repository.save_state(
            session=session, rows=rows, scope=key, state=state, now=now, statistic=result.statistic
        )
    _forget_stale(rows, keys)
    return evaluated


def _forget_stale(rows: dict[str, AlertScopeState], evaluated: set[str]) -> None:
    """A scope too thin to be evaluated cannot be significant: its run of significant
    evaluations ends (what evaluating it would have done), without writing every idle one."""
    for key, row in rows.items():
        if key not in evaluated and row.above:
            row.above = 0


def _test(signal: str, counts: Counts, prior: float, settings: AlertSettings) -> Evaluation:
    config = settings.entity
    share = spike_test(
        counts,
        prior_share=prior,
        prior_strength=settings.prior_strength,
        fire_z=config.fire_z,
        min_window_count=config.min_window_count,
        min_share_increase=config.min_share_increase,
    )
    volume = volume_test(
        window_negative=counts.window_negative,
        baseline_negative=counts.baseline_negative,
        window_s=config.window_s,
        baseline_s=config.baseline_s,
        prior_per_hour=config.prior_negative_per_hour,
        prior_hours=config.prior_hours,
        fire_z=config.volume_fire_z,
        min_negative=config.min_negative,
        min_rate_ratio=config.min_rate_ratio,
    )
    return Evaluation(signal, share, volume)


TESTS = {
    SHARE: "one-sided pooled two-proportion z of the negative share towards the entity, "
    "Beta-prior-smoothed baseline (prior: all entities' baseline share)",
    VOLUME: "negative-binomial (Gamma-Poisson) upper tail of the window's negative stories "
    "about the entity vs its baseline rate; statistic = the p-value as a one-sided z",
}


def _open(
    session: Session,
    entity: str,
    found: EntityCounts,
    result: Evaluation,
    windows: Windows,
    settings: AlertSettings,
    now: datetime,
) -> Alert:
    config = settings.entity
    counts = found.counts
    story_ids = driving_story_ids(session, entity=entity, windows=windows, limit=config.top_stories)
    alert = Alert(
        fingerprint=repository.fingerprint(entity, kind=ENTITY, signal=result.signal),
        scope=entity,
        scope_kind=ENTITY,
        signal=result.signal,
        status=repository.FIRING,
        window_start=windows.window_start,
        window_end=windows.window_end,
        baseline_start=windows.baseline_start,
        baseline_end=windows.window_start,
        window_count=counts.window_count,
        window_negative=counts.window_negative,
        baseline_count=counts.baseline_count,
        baseline_negative=counts.baseline_negative,
        observed_share=result.share.observed_share,
        baseline_share=result.share.baseline_share,
        statistic=result.statistic,
        threshold=config.fire_z if result.signal == SHARE else config.volume_fire_z,
        p_value=result.p_value,
        story_ids=story_ids,
        details={
            "entity": entity,
            "sector": found.sector,
            "signal": result.signal,
            "test": TESTS[result.signal],
            "volume": _volume_figures(result.volume),
            "settings": config.model_dump(),
            "prior_strength": settings.prior_strength,
            "persistence_evaluations": settings.persistence_evaluations,
            "resolve_z": settings.resolve_z,
            "resolve_evaluations": settings.resolve_evaluations,
            "clock": settings.clock,
        },
        opened_at=now,
    )
    session.add(alert)
    session.flush()  # the id goes into the payload and the outbox rows
    metrics.alert_fired(f"{SILENCE_PREFIX}{entity}")
    log.warning(
        "watchlist alert %s fired on %s (%s): %d/%d negative, %.1f expected, z=%.2f",
        alert.id,
        entity,
        result.signal,
        counts.window_negative,
        counts.window_count,
        result.volume.expected,
        result.statistic,
    )
    return alert


def _volume_figures(volume: VolumeResult) -> dict[str, float | None]:
    return {
        "observed": volume.observed,
        "expected": round(volume.expected, 4),
        "rate_ratio": round(volume.rate_ratio, 4) if volume.expected > 0 else None,
    }


def _resolve(alert: Alert, counts: Counts, result: Evaluation, now: datetime) -> None:
    alert.status = repository.RESOLVED
    alert.resolved_at = now
    alert.details = {
        **(alert.details or {}),
        "resolution": {
            "counts": asdict(counts),
            "statistic": result.statistic,
            "p_value": result.p_value,
            "observed_share": result.share.observed_share,
            "baseline_share": result.share.baseline_share,
            "volume": _volume_figures(result.volume),
        },
    }
    metrics.alert_resolved(alert.scope)
    log.info(
        "watchlist alert %s on %s (%s) resolved (z=%.2f)",
        alert.id,
        alert.scope,
        alert.signal,
        result.statistic,
    )


def _announce(
    session: Session,
    event: str,
    alert: Alert,
    endpoints: list[WebhookEndpoint],
    dashboard_url: str,
    sent_at: datetime,
    silence: silences.SilenceRow | None = None,
) -> None:
    if not endpoints:
        return
    stories = stories_with_entity(session, alert.scope, list(alert.story_ids or []))
    payload = payloads.entity_payload(
        event,
        alert,
        stories=stories,
        dashboard_url=dashboard_url,
        timestamp=sent_at,
        silence=silence.payload() if silence else None,
    )
    outbox.enqueue(
        session, alert_id=alert.id, event=event, payload=payload, endpoints=endpoints, now=sent_at
    )
