"""The real APScheduler jobs and the `monitor schedule` command."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.scheduler import AlertJobs, build_scheduler, http_client
from monitor.cli import cli
from tests.alerts.conftest import SECRET, T0, Receiver, Stories, alert_settings

pytestmark = pytest.mark.integration


def test_spike_to_webhook_within_interval_plus_5s(
    clean_db: sessionmaker[Session], make_story: Stories, receiver: Receiver
) -> None:
    settings = alert_settings(
        interval_s=1.0,
        dispatch_interval_s=0.25,
        persistence_evaluations=1,
        webhooks=[receiver.endpoint()],
    )
    now = datetime.now(UTC)
    make_story.calm_market(now)
    with http_client(settings) as client:
        jobs = AlertJobs(
            sessions=clean_db, settings=settings, dashboard_url="http://d", client=client
        )
        scheduler = build_scheduler(jobs)
        assert {job.id for job in scheduler.get_jobs()} == {"detector", "dispatcher", "rollup"}
        scheduler.start()
        try:
            time.sleep(1.5)  # a few calm passes: nothing fires
            assert receiver.requests == []
            started = time.monotonic()
            make_story.stream(
                "earnings",
                datetime.now(UTC) - timedelta(minutes=59),
                datetime.now(UTC),
                per_hour=30,
                negative_share=2 / 3,
            )
            deadline = started + settings.interval_s + 5
            while not receiver.accepted and time.monotonic() < deadline:
                time.sleep(0.05)
            elapsed = time.monotonic() - started
        finally:
            scheduler.shutdown(wait=True)
    assert receiver.accepted, "no webhook within interval + 5 s"
    assert receiver.accepted[0].type == "alert.firing"
    assert elapsed <= settings.interval_s + 5
    print(f"spike -> webhook: {elapsed:.2f} s")


def test_schedule_once_runs_one_detection_and_one_dispatch(
    pg_url: str, clean_db: sessionmaker[Session], make_story: Stories, receiver: Receiver
) -> None:
    make_story.calm_market(T0)
    make_story.stream(
        "earnings", T0 - timedelta(minutes=59), T0, per_hour=30, negative_share=2 / 3, tag="burst"
    )
    env = {
        "MONITOR_DATABASE__URL": pg_url,
        "MONITOR_ALERTS__CLOCK": "data",
        "MONITOR_ALERTS__PERSISTENCE_EVALUATIONS": "1",
        "MONITOR_ALERTS__WEBHOOKS": json.dumps([{"url": receiver.url, "secret": SECRET}]),
        "MONITOR_DASHBOARD__URL": "https://dash.example",
    }
    result = CliRunner().invoke(cli, ["schedule", "--once"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["now"] == T0.isoformat()
    assert len(summary["fired"]) == 1
    assert summary["delivery_outcomes"] == {"delivered": 1}
    assert summary["rollup_hours"] >= 2  # the calm market's hours and the burst's
    assert [r.type for r in receiver.accepted] == ["alert.firing"]
    assert receiver.accepted[0].payload["data"]["url"].startswith("https://dash.example/alerts")
    assert alert_settings().interval_s == 30  # the contract default is untouched


def test_schedule_process_is_healthy_and_stops_cleanly_on_sigterm(pg_url: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "MONITOR_DATABASE__URL": pg_url,
        "MONITOR_ALERTS__INTERVAL_S": "0.5",
        "MONITOR_METRICS__SCHEDULE_PORT": str(port),
    }
    code = "import sys; sys.argv = ['monitor', 'schedule']; from monitor.cli import main; main()"
    process = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        health = None
        while time.monotonic() < deadline and health is None:
            try:
                reply = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                if reply.status_code == 200 and "last_detector_at" in reply.json():
                    health = reply.json()
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert health is not None, "no healthy /healthz from monitor schedule"
        assert health["status"] == "ok"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
