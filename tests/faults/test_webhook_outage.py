"""The webhook receiver is down for 2 minutes while an alert fires and resolves, under the real
`monitor schedule` daemon: once it is back, both events arrive, signed, once each, firing before
resolved; and no secret (the webhook secret, the database password) is in any log line, even at
DEBUG."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.settings.alerts import decode_secret
from monitor.store.models import Alert
from tests.alerts.conftest import SECRET, T0, TOPICS, Receiver, Stories
from tests.ingest.conftest import free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DOWN_S = 120.0
DB_PASSWORD = "Db-Pa55word-not-for-logs"


def alert_status(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(Alert.status).order_by(Alert.id)))


def test_receiver_down_two_minutes_while_an_alert_fires_and_resolves(
    pg_url: str, clean_db: sessionmaker[Session], tmp_path: Path
) -> None:
    stories = Stories(clean_db)
    stories.calm_market(T0)
    stories.stream(
        "earnings", T0 - timedelta(minutes=59), T0, per_hour=30, negative_share=2 / 3, tag="burst"
    )
    receiver = Receiver(port=free_port())  # not listening yet: connections are refused
    # trust auth on the test server ignores the password; what matters is where it shows up
    url = pg_url.replace("postgres@", f"postgres:{DB_PASSWORD}@")
    env = {
        "MONITOR_DATABASE__URL": url,
        "MONITOR_LOG_LEVEL": "DEBUG",
        "MONITOR_METRICS__SCHEDULE_PORT": "0",
        "MONITOR_ALERTS__CLOCK": "data",
        "MONITOR_ALERTS__INTERVAL_S": "1",
        "MONITOR_ALERTS__DISPATCH_INTERVAL_S": "1",
        "MONITOR_ALERTS__WINDOW_S": "3600",
        "MONITOR_ALERTS__BASELINE_S": str(6 * 3600),
        "MONITOR_ALERTS__MIN_WINDOW_COUNT": "10",
        "MONITOR_ALERTS__FIRE_Z": "3",
        "MONITOR_ALERTS__RESOLVE_Z": "1",
        "MONITOR_ALERTS__PERSISTENCE_EVALUATIONS": "1",
        "MONITOR_ALERTS__RESOLVE_EVALUATIONS": "1",
        "MONITOR_ALERTS__RETRY_BASE_S": "1",
        "MONITOR_ALERTS__RETRY_MAX_DELAY_S": "5",
        "MONITOR_ALERTS__WEBHOOKS": json.dumps([{"url": receiver.url, "secret": SECRET}]),
    }
    log_path = tmp_path / "schedule.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "schedule"],
            env={**{k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    logs = lambda: log_path.read_text(errors="replace")[-4000:]  # noqa: E731
    started = time.monotonic()
    try:
        wait_until(
            lambda: alert_status(clean_db) == ["firing"], timeout_s=60, what="the alert", logs=logs
        )
        # An hour of calm on every topic later: the data clock moves on and the alert resolves.
        for topic in TOPICS:
            stories.stream(topic, T0, T0 + timedelta(minutes=65), per_hour=50, negative_share=0.1)
        wait_until(
            lambda: alert_status(clean_db) == ["resolved"],
            timeout_s=60,
            what="the alert to resolve",
            logs=logs,
        )
        time.sleep(max(0.0, DOWN_S - (time.monotonic() - started)))
        assert process.poll() is None, logs()
        assert receiver.requests == []

        receiver.start()
        back_at = time.monotonic()
        wait_until(lambda: len(receiver.accepted) >= 2, timeout_s=60, what="both events", logs=logs)
        delivered_s = time.monotonic() - back_at
        time.sleep(5)  # nothing more may come: each event exactly once
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        receiver.stop()

    accepted = receiver.accepted
    assert receiver.bad_signatures == 0
    assert [r.type for r in accepted] == ["alert.firing", "alert.resolved"]
    assert len({r.webhook_id for r in receiver.requests}) == 2
    assert len(receiver.requests) == 2
    text = log_path.read_text(errors="replace")
    secret_b64 = SECRET.removeprefix("whsec_")
    for secret in (SECRET, secret_b64, DB_PASSWORD, decode_secret(SECRET).hex()):
        assert secret not in text, "a secret is in the log"
    assert "delivery" in text.lower() or "webhook" in text.lower()
    print(
        f"\nwebhook receiver down {DOWN_S:g} s while an alert fired and resolved: both events "
        f"delivered {delivered_s:.1f} s after it returned, once each, in order"
    )
