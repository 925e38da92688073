"""The step the topic detector and the watchlist share once a scope is tested: advance its
lifecycle, then hold a firing back under a silence, or open / resolve the alert and announce it
into the outbox, and save the scope's state, all in the caller's transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from sqlalchemy.orm import Session

from monitor.alerts import outbox, payloads, repository, silences
from monitor.alerts.lifecycle import Action, LifecycleParams, step
from monitor.alerts.queries import Windows
from monitor.alerts.stats import Counts, TestResult
from monitor.settings.alerts import WebhookEndpoint
from monitor.store.models import Alert, AlertScopeState
from monitor.store.sql import as_utc

log = logging.getLogger(__name__)

StoryLoader = Callable[[Session, Alert], list[dict[str, Any]]]


@dataclass
class DetectionReport:
    """What one evaluation did (logged; handy in tests)."""

    now: datetime | None
    evaluated: int = 0
    fired: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    held: list[str] = field(default_factory=list)  # scopes whose firing a silence held back


@dataclass(frozen=True)
class Run:
    """What one evaluation shares across its scopes; `wall` stamps the outbox rows."""

    session: Session
    now: datetime
    params: LifecycleParams
    muted: list[silences.SilenceRow]
    endpoints: list[WebhookEndpoint]
    dashboard_url: str
    wall: Callable[[], datetime]
    report: DetectionReport


class Figures(NamedTuple):
    """What an alert keeps of the test that fired it."""

    statistic: float
    threshold: float
    p_value: float


class Tested(Protocol):
    """What the lifecycle needs of a scope's test (`stats.TestResult`, `watchlist.Evaluation`)."""

    @property
    def significant(self) -> bool: ...
    @property
    def statistic(self) -> float: ...
    @property
    def enough_data(self) -> bool: ...


def seen_at(row: AlertScopeState | None, now: datetime) -> bool:
    """Whether the scope was evaluated at `now` or later: the data clock did not move, and the
    same evidence must not count twice."""
    last = row.last_evaluated_at if row is not None else None
    return last is not None and as_utc(last) >= now


@dataclass(frozen=True)
class Scope:
    """One scope of an evaluation: its state key, how reports name it, its open alert."""

    key: str
    name: str
    alert: Alert | None
    silence: silences.SilenceRow | None


def advance(
    run: Run,
    scope: Scope,
    result: Tested,
    *,
    rows: dict[str, AlertScopeState],
    open_alert: Callable[[], Alert],
    resolve: Callable[[Alert], None],
    stories: StoryLoader,
) -> None:
    """Step the scope's lifecycle on `result`, act on the step and save the new state."""
    row = rows.get(scope.key)
    state = repository.to_state(row, firing=scope.alert is not None)
    state, action = step(
        state,
        significant=result.significant,
        statistic=result.statistic,
        enough_data=result.enough_data,
        now=run.now,
        params=run.params,
    )
    run.report.evaluated += 1
    if action is Action.FIRE and scope.silence is not None:
        state = silences.held_back(repository.to_state(row, firing=False))
        log.info("firing on %s held back by silence #%d", scope.name, scope.silence.id)
        run.report.held.append(scope.name)
    elif action is Action.FIRE:
        alert = open_alert()
        announce(run, payloads.FIRING, alert, stories)
        run.report.fired.append(alert.id)
    elif action is Action.RESOLVE:
        assert scope.alert is not None, "only a firing scope resolves"
        resolve(scope.alert)
        announce(run, payloads.RESOLVED, scope.alert, stories, scope.silence)
        run.report.resolved.append(scope.alert.id)
    repository.save_state(
        session=run.session,
        rows=rows,
        scope=scope.key,
        state=state,
        now=run.now,
        statistic=result.statistic,
    )


def open_alert(
    session: Session,
    windows: Windows,
    counts: Counts,
    share: TestResult,
    figures: Figures,
    *,
    now: datetime,
    **fields: Any,
) -> Alert:
    """A firing alert on the window's `counts` and `share` test, with the `figures` of the test
    that fired and the caller's own `fields`; flushed, so it has its id for the payload and the
    outbox rows."""
    alert = Alert(
        status=repository.FIRING,
        **asdict(windows),  # baseline_start, window_start, window_end
        baseline_end=windows.window_start,
        **asdict(counts),  # window_count, window_negative, baseline_count, baseline_negative
        observed_share=share.observed_share,
        baseline_share=share.baseline_share,
        **figures._asdict(),  # statistic, threshold, p_value
        opened_at=now,
        **fields,
    )
    session.add(alert)
    session.flush()
    return alert


def announce(
    run: Run,
    event: str,
    alert: Alert,
    stories: StoryLoader,
    silence: silences.SilenceRow | None = None,
) -> None:
    """The event's payload, one outbox row per endpoint, stamped with the wall clock."""
    sent_at = run.wall()
    if not run.endpoints:
        return
    payload = payloads.event_payload(
        event,
        alert,
        stories=stories(run.session, alert),
        dashboard_url=run.dashboard_url,
        timestamp=sent_at,
        silence=silence.payload() if silence else None,
    )
    outbox.enqueue(
        run.session,
        alert_id=alert.id,
        event=event,
        payload=payload,
        endpoints=run.endpoints,
        now=sent_at,
    )
