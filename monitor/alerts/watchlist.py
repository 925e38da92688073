"""Watchlist alerts: negative news piling up about one company (docs/alerts.md, "Watchlist
alerts").

Scope kind `entity`, one scope per watched entity (`MONITOR_ALERTS__WATCHLIST`: tickers, or `*`
for every entity with enough stories), tested on two signals:

- `share`: the negative share of the stories about the entity, window vs baseline, with the
  topic detector's test (`stats.spike_test`); the prior is the baseline share over all entities;
- `volume`: the count of negative stories about the entity in the window against its own
  baseline rate (`stats.volume_test`, negative-binomial upper tail).

A story counts once per entity (story_entities' key) with the sentiment *towards the entity*.
An entity has one lifecycle (state key `entity:<key>`, fingerprint `negative-spike:entity:<key>`)
fed by both signals, so one burst of bad news is one alert, whichever signals it trips; the
alert's `signal` column names the one that drove it and its details keep both tests. It goes
through the topic alerts' lifecycle (persistence, hysteresis, cooldown), silences, severity and
the signed webhook outbox, in the caller's transaction (`detector.detect`).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from monitor.alerts import metrics, repository, silences
from monitor.alerts.entity_queries import (
    EntityCounts,
    baseline_share,
    driving_story_ids,
    entity_counts,
    pooled_share,
    stories_with_entity,
)
from monitor.alerts.queries import Windows
from monitor.alerts.repository import ENTITY, SHARE, VOLUME
from monitor.alerts.stats import Counts, TestResult, VolumeResult, spike_test, volume_test
from monitor.alerts.transition import Figures, Run, Scope, advance, open_alert, seen_at
from monitor.entities.dictionary import default_dictionary
from monitor.errors import MonitorError
from monitor.settings.alerts import AlertSettings
from monitor.store.models import Alert, AlertScopeState

log = logging.getLogger(__name__)

QUALIFIED = f"{ENTITY}:"  # how reports and metrics name an entity scope
NO_COUNTS = Counts(0, 0, 0, 0)


@dataclass(frozen=True)
class Evaluation:
    """Both tests of one entity, which share one lifecycle: significant when either signal is;
    its statistic (for hysteresis) is the larger of those with enough data; an alert names the
    `signal` that drove it, the one furthest past its threshold."""

    share: TestResult
    volume: VolumeResult
    share_threshold: float
    volume_threshold: float

    def _tests(self) -> list[tuple[str, TestResult | VolumeResult, float]]:
        return [
            (SHARE, self.share, self.share_threshold),
            (VOLUME, self.volume, self.volume_threshold),
        ]

    @property
    def significant(self) -> bool:
        return self.share.significant or self.volume.significant

    @property
    def enough_data(self) -> bool:
        return self.share.enough_data or self.volume.enough_data

    @property
    def statistic(self) -> float:
        usable = [test.statistic for _, test, _ in self._tests() if test.enough_data]
        return max(usable or [self.share.statistic, self.volume.statistic])

    @property
    def signal(self) -> str:
        tests = [t for t in self._tests() if t[1].significant] or self._tests()
        return max(tests, key=lambda t: t[1].statistic / t[2])[0]

    def signals(self) -> list[str]:
        """Every signal significant now."""
        return [name for name, test, _ in self._tests() if test.significant]

    def figures(self, signal: str) -> Figures:
        """(statistic, threshold, p-value) of one signal."""
        _, test, threshold = next(t for t in self._tests() if t[0] == signal)
        return Figures(test.statistic, threshold, test.p_value)


def windows_at(now: datetime, settings: AlertSettings) -> Windows:
    config = settings.entity
    return Windows.ending(now, window_s=config.window_s, baseline_s=config.baseline_s)


# --- evaluation -----------------------------------------------------------------------------


def evaluate(run: Run, settings: AlertSettings) -> None:
    """Evaluate every watched entity with enough stories (and every firing one) at `run.now`,
    into the run's report."""
    session, now, config = run.session, run.now, settings.entity
    windows = windows_at(now, settings)
    firing = repository.open_alerts(session=session, kind=ENTITY)
    rows = repository.load_states(session=session, kind=ENTITY)
    watched = settings.watched()
    if watched is not None:
        watched = watched | {alert.scope for alert in firing.values()}  # so they can resolve
    counts = entity_counts(session, windows=windows, entities=watched)
    if watched is None:  # every entity is in `counts`
        prior = pooled_share(counts, settings.prior_negative_share)
    else:
        prior = baseline_share(session, windows=windows, default=settings.prior_negative_share)
    scopes = {alert.scope for alert in firing.values()} | {
        entity
        for entity, found in counts.items()
        if found.counts.window_count >= config.min_window_count
        or found.counts.window_negative >= config.min_negative
    }  # below both minimums neither signal can be significant
    keys = set()
    for entity in sorted(scopes):
        key = repository.state_key(entity, kind=ENTITY)
        keys.add(key)
        if seen_at(rows.get(key), now):
            continue  # the data clock did not move: the same evidence must not count twice
        found = counts.get(entity, EntityCounts(NO_COUNTS, None))
        result = _test(found.counts, prior, settings)
        silence = silences.silencing(run.muted, entity, kind=ENTITY)
        advance(
            run,
            Scope(key, f"{QUALIFIED}{entity}", firing.get(key), silence),
            result,
            rows=rows,
            open_alert=partial(_open, session, entity, found, result, windows, settings, now),
            resolve=partial(_resolve, counts=found.counts, result=result, now=now),
            stories=_stories,
        )
    _forget_stale(rows, keys)


def _forget_stale(rows: dict[str, AlertScopeState], evaluated: set[str]) -> None:
    """A scope too thin to be evaluated cannot be significant: its run of significant
    evaluations ends (what evaluating it would have done), without writing every idle one."""
    for key, row in rows.items():
        if key not in evaluated and row.above:
            row.above = 0


def _test(counts: Counts, prior: float, settings: AlertSettings) -> Evaluation:
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
        dispersion=config.dispersion,
    )
    return Evaluation(share, volume, config.fire_z, config.volume_fire_z)


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
    signal = result.signal
    story_ids = driving_story_ids(session, entity=entity, windows=windows, limit=config.top_stories)
    alert = open_alert(
        session,
        windows,
        counts,
        result.share,
        result.figures(signal),
        now=now,
        fingerprint=repository.fingerprint(entity, kind=ENTITY),
        scope=entity,
        scope_kind=ENTITY,
        signal=signal,
        story_ids=story_ids,
        details={
            "entity": entity,
            **_identity(entity, found.sector),
            "signal": signal,
            "signals": result.signals(),
            "test": TESTS[signal],
            "tests": _tests(result),
            "volume": _volume_figures(result.volume),
            "settings": config.model_dump(),
            "prior_strength": settings.prior_strength,
            "persistence_evaluations": settings.persistence_evaluations,
            "resolve_z": settings.resolve_z,
            "resolve_evaluations": settings.resolve_evaluations,
            "clock": settings.clock,
        },
    )
    metrics.alert_fired(f"{QUALIFIED}{entity}")
    log.warning(
        "watchlist alert %s fired on %s (%s): %d/%d negative, %.1f expected, z=%.2f",
        alert.id,
        entity,
        signal,
        counts.window_negative,
        counts.window_count,
        result.volume.expected,
        alert.statistic,
    )
    return alert


def _identity(entity: str, sector: str | None) -> dict[str, str | None]:
    """The entity's name (and its sector, where its rows carry none) from the configured
    dictionary (MONITOR_ENTITIES__DICTIONARY); an unreadable dictionary costs only the name, never
    the alert (the consumer is the one that refuses to start on it)."""
    try:
        known = default_dictionary()
    except MonitorError as exc:
        log.warning("entity dictionary unavailable for the alert's name: %s", exc)
        return {"name": None, "sector": sector}
    return {"name": known.name(entity), "sector": sector or known.sector(entity)}


def _tests(result: Evaluation) -> dict[str, dict[str, float | bool]]:
    out: dict[str, dict[str, float | bool]] = {}
    for name in (SHARE, VOLUME):
        statistic, threshold, p_value = result.figures(name)
        out[name] = {
            "statistic": round(statistic, 4),
            "threshold": threshold,
            "p_value": p_value,
            "significant": name in result.signals(),
        }
    return out


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
            "tests": _tests(result),
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


def _stories(session: Session, alert: Alert) -> list[dict[str, Any]]:
    return stories_with_entity(session, alert.scope, list(alert.story_ids or []))
