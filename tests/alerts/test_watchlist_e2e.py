"""Watchlist alerts end to end: messages on the real broker naming companies by ticker field,
cashtag and name, the real `monitor consume` (the shipped model, the shipped S&P 500 dictionary)
writing entity rows to PostgreSQL, and the real `monitor schedule` daemon posting to a local,
signature-checking receiver. A burst of negative stories about Apple fires exactly one
watchlist alert and one signed `alert.firing`; when calm news moves the data clock past the
burst, it resolves (one signed `alert.resolved`)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.settings import SHIPPED_CHECKPOINT
from tests.alerts.conftest import SECRET, T0, Receiver
from tests.ingest.conftest import Pipeline, running_pipeline, wait_until

pytestmark = pytest.mark.integration

CALM = [
    ("Microsoft schedules annual shareholder meeting", ["MSFT"]),
    ("Exxon Mobil declares quarterly dividend", None),
    ("JPMorgan Chase names new head of asset management", None),
    ("$MSFT opens new data centre region in Sweden", None),
    ("Apple to hold product event in September", None),
]
# Negative about Apple, naming it by the tickers field, by cashtag and by name; one "X beats Y".
BURST = [
    ("Shares of the iPhone maker slump on profit warning", ["AAPL"]),
    ("$AAPL tumbles as iPhone sales collapse in China", None),
    ("Apple shares plunge after regulators open fraud probe", None),
    ("Apple cuts revenue forecast, stock sinks", None),
    ("Apple faces antitrust lawsuit, shares fall", None),
    ("Apple recalls devices over battery fires; stock drops", None),
    ("Apple misses earnings estimates, shares slide", None),
    ("Apple downgraded to sell by analysts citing weak demand", None),
    ("Microsoft beats Apple as iPhone shipments plunge", None),
]


def message(
    i: int, headline: str, tickers: list[str] | None, at: datetime
) -> tuple[bytes | None, bytes | None]:
    body: dict[str, Any] = {
        "id": f"w-{i}",
        "headline": headline,
        "source": "newswire",
        "published_at": at.isoformat(),
    }
    if tickers:
        body["tickers"] = tickers
    return body["id"].encode(), json.dumps(body).encode()


def spread(
    items: list[tuple[str, list[str] | None]],
    start: datetime,
    end: datetime,
    count: int,
    first: int,
) -> list[tuple[bytes | None, bytes | None]]:
    """`count` messages cycling through `items`, evenly in (start, end]."""
    step = (end - start) / count
    return [
        message(first + i, *items[i % len(items)], start + step * (i + 1)) for i in range(count)
    ]


def rows(db_url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            return [tuple(r) for r in connection.execute(sa.text(sql))]
    finally:
        engine.dispose()


@pytest.fixture
def shipped_pipeline(broker: str, make_pg_database, tmp_path: Path) -> Any:
    with running_pipeline(broker, make_pg_database, SHIPPED_CHECKPOINT, tmp_path) as setup:
        yield setup


def test_a_negative_burst_about_one_ticker_fires_one_signed_alert_then_resolves(
    shipped_pipeline: Pipeline, receiver: Receiver, tmp_path: Path
) -> None:
    pipe = shipped_pipeline
    calm = spread(CALM, T0 - timedelta(hours=6), T0 - timedelta(minutes=30), 40, first=0)
    burst = spread(BURST, T0 - timedelta(minutes=30), T0, 18, first=1000)
    pipe.produce(calm + burst)
    pipe.start_consumer()
    stored = len(calm) + len(burst)
    wait_until(
        lambda: pipe.scalar("SELECT count(*) FROM stories") == stored,
        timeout_s=240,
        what=f"{stored} stories",
        logs=pipe.logs,
    )
    # Entity rows: every burst story names Apple, found by the tickers field, cashtag and name.
    apple = rows(
        pipe.db_url,
        "SELECT s.external_id, e.matched_by, e.sector, e.sentiment FROM story_entities e "
        "JOIN stories s ON s.id = e.story_id WHERE e.entity = 'AAPL' AND s.external_id "
        "LIKE 'w-1%' AND length(s.external_id) = 6",
    )
    assert len(apple) == len(burst), apple
    assert {r[1] for r in apple} >= {"ticker", "cashtag", "name"}
    assert {r[2] for r in apple} == {"Information Technology"}
    assert sum(r[3] == "negative" for r in apple) >= 12  # the shipped model reads them so
    beats = rows(
        pipe.db_url,
        "SELECT e.entity FROM story_entities e JOIN stories s ON s.id = e.story_id "
        "WHERE s.headline LIKE 'Microsoft beats Apple%'",
    )
    assert {r[0] for r in beats} == {"AAPL", "MSFT"}

    log_path = tmp_path / "schedule.log"
    env = pipe.env(
        MONITOR_ALERTS__CLOCK="data",
        MONITOR_ALERTS__INTERVAL_S="1",
        MONITOR_ALERTS__DISPATCH_INTERVAL_S="1",
        MONITOR_ALERTS__MIN_WINDOW_COUNT="100000",  # topic scopes stay quiet: this is about AAPL
        MONITOR_ALERTS__RESOLVE_Z="1",
        # The data clock moves only when stories arrive: one evaluation per clock value.
        MONITOR_ALERTS__PERSISTENCE_EVALUATIONS="1",
        MONITOR_ALERTS__RESOLVE_EVALUATIONS="1",
        MONITOR_ALERTS__WATCHLIST="AAPL,MSFT",
        MONITOR_ALERTS__ENTITY__WINDOW_S="3600",
        MONITOR_ALERTS__ENTITY__BASELINE_S=str(6 * 3600),
        MONITOR_ALERTS__ENTITY__MIN_WINDOW_COUNT="8",
        MONITOR_ALERTS__WEBHOOKS=json.dumps([{"url": receiver.url, "secret": SECRET}]),
    )
    with log_path.open("wb") as log:
        schedule = subprocess.Popen(
            [sys.executable, "-m", "monitor", "schedule"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    pipe.processes.append(schedule)
    logs = lambda: pipe.logs() + log_path.read_text(errors="replace")[-4000:]  # noqa: E731

    def events() -> list[str]:
        return [r.type for r in receiver.accepted]

    wait_until(lambda: events() == ["alert.firing"], timeout_s=90, what="the firing", logs=logs)
    # The burst goes on a few minutes: new evaluations of a firing scope, still one alert.
    more = spread(BURST[1:4], T0, T0 + timedelta(minutes=3), 3, first=1100)
    pipe.produce(more)
    stored += len(more)
    wait_until(
        lambda: pipe.scalar("SELECT count(*) FROM stories") == stored,
        timeout_s=60,
        what="the burst's tail",
        logs=logs,
    )
    time.sleep(4)
    assert events() == ["alert.firing"]
    assert pipe.scalar("SELECT count(*) FROM alerts") == 1

    # An hour of calm news (not about Apple) later: the data clock moves past the burst.
    later = spread(CALM[:4], T0, T0 + timedelta(minutes=70), 20, first=2000)
    pipe.produce(later)
    wait_until(
        lambda: events() == ["alert.firing", "alert.resolved"],
        timeout_s=120,
        what="the resolve",
        logs=logs,
    )
    time.sleep(3)  # nothing more may come
    schedule.send_signal(signal.SIGTERM)
    assert schedule.wait(timeout=30) == 0, logs()

    assert receiver.bad_signatures == 0
    assert events() == ["alert.firing", "alert.resolved"]
    fired, resolved = (r.payload["data"] for r in receiver.accepted)
    assert fired["alert_id"] == resolved["alert_id"]
    assert (fired["scope"], fired["scope_kind"]) == ("AAPL", "entity")
    assert fired["entity"] == {
        "key": "AAPL",
        "name": "Apple Inc.",
        "sector": "Information Technology",
    }
    assert fired["fingerprint"] == "negative-spike:entity:AAPL"
    assert fired["window"]["negative"] >= 12 and fired["volume"]["observed"] >= 12
    headlines = {s["headline"] for s in fired["top_stories"]}
    assert headlines <= {h for h, _ in BURST} and len(headlines) >= 5
    assert all(s["entity"]["sentiment"] == "negative" for s in fired["top_stories"])
    assert resolved["status"] == "resolved"
    alerts = rows(pipe.db_url, "SELECT scope, scope_kind, signal, status FROM alerts")
    assert len(alerts) == 1 and alerts[0][:2] == ("AAPL", "entity") and alerts[0][3] == "resolved"
