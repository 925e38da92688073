"""`monitor schedule`: the detector, the dispatcher and the dashboard's hourly rollup as
APScheduler interval jobs.

All jobs run with max_instances=1 and coalesce=True: a slow pass is never overlapped by the next
one, and passes missed while busy collapse into one. Each job catches and logs its own errors,
so one bad pass (database restart, receiver bug) never stops the schedule.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.detector import DetectionReport, detect
from monitor.alerts.dispatcher import DispatchReport, dispatch
from monitor.metrics import Health
from monitor.settings import ContractSettings
from monitor.settings.alerts import AlertSettings
from monitor.store.rollup import RollupReport, refresh_entity_hourly, refresh_sentiment_hourly

log = logging.getLogger(__name__)


@dataclass
class AlertJobs:
    """The jobs bound to their settings, database and HTTP client."""

    sessions: sessionmaker[Session]
    settings: AlertSettings
    dashboard_url: str
    client: httpx.Client
    health: Health | None = None
    contract: ContractSettings = field(default_factory=ContractSettings)

    def detect_once(self) -> DetectionReport:
        with self.sessions.begin() as session:
            return detect(
                session=session,
                settings=self.settings,
                endpoints=self.settings.webhooks,
                dashboard_url=self.dashboard_url,
                published=self.contract.published_window(datetime.now(UTC)),
            )

    def dispatch_once(self) -> DispatchReport:
        return dispatch(sessions=self.sessions, settings=self.settings, client=self.client)

    def rollup_once(self) -> RollupReport:
        """Both hourly rollups (topic, then entity), each in its own transaction."""
        now = datetime.now(UTC)
        published = self.contract.published_window(now)
        with self.sessions.begin() as session:
            report = refresh_sentiment_hourly(session, now=now, published=published)
        with self.sessions.begin() as session:
            refresh_entity_hourly(session, now=now, published=published)
        return report

    def run_detector(self) -> None:
        _guarded("detector", self.detect_once, self.health)

    def run_dispatcher(self) -> None:
        _guarded("dispatcher", self.dispatch_once, self.health)

    def run_rollup(self) -> None:
        _guarded("rollup", self.rollup_once, self.health)


def _guarded(name: str, job: Callable[[], object], health: Health | None) -> None:
    """Run one pass; a failure is logged and reported to /healthz, and the schedule goes on."""
    try:
        job()
    except Exception as exc:
        log.exception("%s pass failed", name)
        if health is not None:
            health.error(f"{name}: {exc!r}"[:300])
    else:
        if health is not None:
            health.ok(**{f"last_{name}_at": datetime.now(UTC).isoformat()})


@contextmanager
def http_client(settings: AlertSettings) -> Iterator[httpx.Client]:
    """One pooled client for all deliveries; redirects are not followed (the URL is the
    contract)."""
    with httpx.Client(timeout=settings.webhook_timeout_s, follow_redirects=False) as client:
        yield client


def build_scheduler(jobs: AlertJobs) -> BackgroundScheduler:
    """A not-yet-started scheduler with all jobs, the first runs due immediately."""
    scheduler = BackgroundScheduler(timezone=UTC)
    start = datetime.now(UTC)
    every = {
        "detector": (jobs.run_detector, jobs.settings.interval_s),
        "dispatcher": (jobs.run_dispatcher, jobs.settings.dispatch_interval_s),
        "rollup": (jobs.run_rollup, jobs.settings.rollup_interval_s),
    }
    for job_id, (run, seconds) in every.items():
        scheduler.add_job(
            run,
            "interval",
            seconds=seconds,
            id=job_id,
            next_run_time=start,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    return scheduler


def run_until_signalled(scheduler: BackgroundScheduler) -> None:
    """Start, wait for SIGTERM/SIGINT (handlers only set a flag), then let running passes
    finish before returning."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping after the running passes", signum)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        scheduler.start()
        log.info("scheduler running: %s", ", ".join(job.id for job in scheduler.get_jobs()))
        while not stop.wait(1.0):
            pass
    finally:
        scheduler.shutdown(wait=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
