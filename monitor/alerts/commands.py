"""The `monitor schedule` click command: wire settings, engine and HTTP client, then run."""

from __future__ import annotations

import json
import logging
from contextlib import ExitStack

import click


@click.command("schedule")
@click.option(
    "--once",
    is_flag=True,
    help="Run one detection, dispatch and rollup pass each, print a JSON summary, exit "
    "(cron/tests).",
)
def schedule_command(once: bool) -> None:
    """Spike detection every MONITOR_ALERTS__INTERVAL_S, signed webhook delivery, and the
    dashboard's hourly rollup every MONITOR_ALERTS__ROLLUP_INTERVAL_S."""
    from monitor.alerts.scheduler import (
        AlertJobs,
        build_scheduler,
        http_client,
        run_until_signalled,
    )
    from monitor.logs import configure_logging
    from monitor.metrics import Health, start_metrics_server
    from monitor.settings import load_settings
    from monitor.store.db import make_sessionmaker, open_migrated

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    with ExitStack() as stack:
        engine = open_migrated(settings.database.url, echo=settings.database.echo)
        stack.callback(engine.dispose)
        client = stack.enter_context(http_client(settings.alerts))
        jobs = AlertJobs(
            sessions=make_sessionmaker(engine),
            settings=settings.alerts,
            contract=settings.contract,
            dashboard_url=settings.dashboard.url,
            client=client,
        )
        if once:
            detected = jobs.detect_once()
            dispatched = jobs.dispatch_once()
            rolled = jobs.rollup_once()
            summary = {
                "now": detected.now.isoformat() if detected.now else None,
                "scopes_evaluated": detected.evaluated,
                "fired": detected.fired,
                "resolved": detected.resolved,
                "held_by_silence": detected.held,
                "deliveries_claimed": dispatched.claimed,
                "delivery_outcomes": dispatched.outcomes,
                "rollup_hours": len(rolled.hours),
            }
            click.echo(json.dumps(summary))
            return
        if settings.metrics.enabled:
            # Healthy while some pass succeeded within a few detector periods.
            jobs.health = Health("schedule", max_silence_s=4 * settings.alerts.interval_s + 60)
            server, port = start_metrics_server(
                settings.metrics.host,
                settings.metrics.schedule_port,
                jobs.health,
                setting="MONITOR_METRICS__SCHEDULE_PORT",
            )
            stack.callback(server.close)
            stack.callback(jobs.health.stopping)
            logging.getLogger(__name__).info("metrics on %s:%d", settings.metrics.host, port)
        run_until_signalled(build_scheduler(jobs))
