"""End to end: detector → outbox → dispatcher → a real HTTP receiver that checks signatures."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.dispatcher import claim, dispatch
from monitor.settings.alerts import AlertSettings, WebhookEndpoint
from monitor.store.models import Alert, WebhookAttempt, WebhookDelivery
from tests.alerts.conftest import OTHER_SECRET, T0, Receiver, Stories, alert_settings, detect_at

pytestmark = pytest.mark.integration


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as http:
        yield http


@pytest.fixture
def settings(receiver: Receiver) -> AlertSettings:
    """Test settings that send to `receiver`."""
    return alert_settings(webhooks=[receiver.endpoint()])


def spike_and_recover(
    sessions: sessionmaker[Session], make_story: Stories, settings: AlertSettings
) -> int:
    """A burst on 'earnings' that fires, then time moves on and it resolves; the alert id."""
    make_story.calm_market(T0)
    make_story.stream(
        "earnings", T0 - timedelta(minutes=59), T0, per_hour=30, negative_share=2 / 3, tag="burst"
    )
    fired = []
    for i in range(settings.persistence_evaluations + 3):
        fired += detect_at(sessions, settings, T0 + timedelta(seconds=30 * i)).fired
    assert len(fired) == 1
    resolved = []
    later = T0 + timedelta(hours=1, minutes=5)
    for i in range(settings.resolve_evaluations + 3):
        resolved += detect_at(sessions, settings, later + timedelta(seconds=30 * i)).resolved
    assert resolved == fired
    return fired[0]


def drain(
    sessions: sessionmaker[Session],
    settings: AlertSettings,
    client: httpx.Client,
    done: Callable[[], bool],
    timeout_s: float = 10.0,
) -> None:
    """Run dispatch passes until `done()`; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, "deliveries did not settle in time"
        dispatch(sessions=sessions, settings=settings, client=client)
        time.sleep(0.02)


def statuses(sessions: sessionmaker[Session]) -> list[tuple[str, str, str]]:
    with sessions() as session:
        rows = session.execute(
            select(
                WebhookDelivery.event, WebhookDelivery.endpoint, WebhookDelivery.status
            ).order_by(WebhookDelivery.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def settled(sessions: sessionmaker[Session]) -> Callable[[], bool]:
    return lambda: all(status != "pending" for _, _, status in statuses(sessions))


def test_one_firing_then_one_resolved_signed_and_complete(
    clean_db: sessionmaker[Session],
    make_story: Stories,
    receiver: Receiver,
    client: httpx.Client,
    settings: AlertSettings,
) -> None:
    alert_id = spike_and_recover(clean_db, make_story, settings)
    drain(clean_db, settings, client, settled(clean_db))

    assert receiver.bad_signatures == 0
    got = receiver.accepted
    assert [(r.type, r.alert_id) for r in got] == [
        ("alert.firing", alert_id),
        ("alert.resolved", alert_id),
    ]
    assert len({r.webhook_id for r in got}) == 2
    with clean_db() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        attempts = session.scalar(select(func.count()).select_from(WebhookAttempt))
    assert attempts == 2
    firing = got[0].payload
    data = firing["data"]
    assert data["scope"] == "earnings" and data["status"] == "firing"
    assert data["url"] == f"https://dash.example/alerts?alert_id={alert_id}"
    assert data["window"]["count"] == alert.window_count
    assert data["window"]["negative"] == alert.window_negative
    assert data["statistic"] == pytest.approx(alert.statistic, abs=1e-3)
    assert [s["id"] for s in data["top_stories"]] == alert.story_ids
    top = data["top_stories"][0]
    assert {"headline", "url", "published_at", "sentiment_confidence"} <= set(top)
    assert top["sentiment"] == "negative"
    assert got[1].payload["data"]["resolved_at"] is not None


def test_a_receiver_that_is_down_gets_everything_later_in_order_once(
    clean_db: sessionmaker[Session],
    make_story: Stories,
    receiver: Receiver,
    client: httpx.Client,
    settings: AlertSettings,
) -> None:
    receiver.mode = "unavailable"  # 503 while the spike opens and closes
    alert_id = spike_and_recover(clean_db, make_story, settings)
    for _ in range(5):
        dispatch(sessions=clean_db, settings=settings, client=client)
        time.sleep(0.1)
    receiver.stop()  # now connections are refused
    for _ in range(5):
        dispatch(sessions=clean_db, settings=settings, client=client)
        time.sleep(0.1)
    receiver.mode = "ok"
    receiver.start()
    drain(clean_db, settings, client, settled(clean_db))

    assert receiver.bad_signatures == 0
    seen = receiver.requests
    assert [r.status for r in seen[:2]] == [503, 503]  # it was retried while down
    assert {r.type for r in seen if r.status == 503} == {"alert.firing"}  # resolved waited
    accepted = receiver.accepted
    assert [r.type for r in accepted] == ["alert.firing", "alert.resolved"]
    assert {r.alert_id for r in accepted} == {alert_id}
    assert len({r.webhook_id for r in accepted}) == len(accepted) == 2  # none twice
    firing_id = accepted[0].webhook_id
    assert {r.webhook_id for r in seen if r.type == "alert.firing"} == {firing_id}  # id reused
    with clean_db() as session:
        codes = list(
            session.scalars(select(WebhookAttempt.status_code).order_by(WebhookAttempt.id))
        )
    assert None in codes and 503 in codes  # refused connections are recorded too
    assert codes.count(204) == 2 and len(codes) >= len(seen)
    assert [s for _, _, s in statuses(clean_db)] == ["delivered", "delivered"]


def test_410_disables_that_endpoint_only(
    clean_db: sessionmaker[Session],
    make_story: Stories,
    make_receiver: Callable[..., Receiver],
    client: httpx.Client,
) -> None:
    gone = make_receiver(mode="gone")
    alive = make_receiver(secret=OTHER_SECRET)
    settings = alert_settings(webhooks=[gone.endpoint(), alive.endpoint()])
    make_story.calm_market(T0)
    make_story.stream(
        "earnings", T0 - timedelta(minutes=59), T0, per_hour=30, negative_share=2 / 3, tag="burst"
    )
    one = alert_settings(
        webhooks=settings.webhooks, persistence_evaluations=1, resolve_evaluations=1
    )
    assert detect_at(clean_db, one, T0).fired
    drain(clean_db, settings, client, settled(clean_db))
    assert detect_at(clean_db, one, T0 + timedelta(hours=1, minutes=5)).resolved
    drain(clean_db, settings, client, settled(clean_db))

    assert len(gone.requests) == 1 and gone.requests[0].status == 410
    assert [r.type for r in alive.accepted] == ["alert.firing", "alert.resolved"]
    assert statuses(clean_db) == [
        ("alert.firing", gone.url, "disabled"),
        ("alert.firing", alive.url, "delivered"),
        ("alert.resolved", alive.url, "delivered"),  # nothing more was queued for `gone`
    ]


def test_gives_up_after_the_maximum_age(
    clean_db: sessionmaker[Session],
    make_story: Stories,
    receiver: Receiver,
    client: httpx.Client,
) -> None:
    receiver.mode = "unavailable"
    settings = alert_settings(webhooks=[receiver.endpoint()], retry_max_age_s=0.5)
    spike_and_recover(clean_db, make_story, settings)
    drain(clean_db, settings, client, settled(clean_db))
    assert [s for _, _, s in statuses(clean_db)] == ["failed", "failed"]
    assert len(receiver.requests) >= 2


def test_claims_skip_rows_another_dispatcher_holds(
    clean_db: sessionmaker[Session], make_story: Stories, receiver: Receiver
) -> None:
    settings = alert_settings(webhooks=[receiver.endpoint()], persistence_evaluations=1)
    make_story.calm_market(T0)
    make_story.stream(
        "earnings", T0 - timedelta(minutes=59), T0, per_hour=30, negative_share=2 / 3, tag="burst"
    )
    assert detect_at(clean_db, settings, T0).fired
    now = datetime.now(UTC) + timedelta(seconds=1)
    with clean_db.begin() as first, clean_db.begin() as second:
        assert len(claim(session=first, now=now, limit=10, lease=timedelta(seconds=30))) == 1
        assert claim(session=second, now=now, limit=10, lease=timedelta(seconds=30)) == []
    # After the first commits, its lease keeps the row from being claimed again too early.
    with clean_db.begin() as third:
        assert claim(session=third, now=now, limit=10, lease=timedelta(seconds=30)) == []


def test_endpoint_secret_is_required_format() -> None:
    with pytest.raises(ValueError):
        WebhookEndpoint(url="http://x.example", secret="plain")  # type: ignore[arg-type]
