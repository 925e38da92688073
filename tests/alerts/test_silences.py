"""Silences: matching, lifetime, storage, and the detector holding a silenced scope's firing
back (real PostgreSQL, the real write path and detector)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts import silences
from monitor.alerts.lifecycle import ScopeState
from monitor.alerts.silences import SilenceError, SilenceRow
from monitor.store.models import Alert, WebhookDelivery
from tests.alerts.conftest import T0, Receiver, Stories, alert_settings, detect_at
from tests.alerts.test_detector_db import burst

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def row(matcher: str, *, glob: bool = False, hours: float = 1, expired: bool = False) -> SilenceRow:
    return SilenceRow(
        id=1,
        matcher=matcher,
        is_glob=glob,
        starts_at=NOW,
        ends_at=NOW + timedelta(hours=hours),
        created_by="alice",
        reason="OPEC meeting",
        created_at=NOW,
        expired_at=NOW + timedelta(minutes=10) if expired else None,
        expired_by="bob" if expired else None,
    )


def test_exact_and_glob_matchers() -> None:
    assert row("Energy | Oil").matches("Energy | Oil")
    assert not row("Energy | Oil").matches("Energy")
    assert row("*").matches("*") and not row("*").matches("Earnings")  # '*' is the market
    assert row("*", glob=True).matches("Earnings")  # as a glob, every scope
    assert row("Energy*", glob=True).matches("Energy | Oil")
    assert not row("energy*", glob=True).matches("Energy | Oil")  # case matters, as in scopes


def test_lifetime_and_expiry() -> None:
    silence = row("Earnings", hours=2)
    assert silence.state(NOW - timedelta(minutes=1)) == silences.PENDING
    assert silence.state(NOW + timedelta(hours=1)) == silences.ACTIVE
    assert silence.state(NOW + timedelta(hours=2)) == silences.EXPIRED
    cut = row("Earnings", hours=2, expired=True)
    assert cut.until == NOW + timedelta(minutes=10)
    assert cut.state(NOW + timedelta(minutes=11)) == silences.EXPIRED
    assert cut.covers("Earnings", NOW - timedelta(hours=1), NOW + timedelta(minutes=5))
    assert not cut.covers("Earnings", NOW + timedelta(minutes=11), NOW + timedelta(hours=1))


def test_durations() -> None:
    assert silences.parse_duration("90m") == timedelta(minutes=90)
    assert silences.parse_duration("1d12h") == timedelta(days=1, hours=12)
    for bad in ("", "2 weeks", "h", "-1h"):
        with pytest.raises(SilenceError, match="not a duration"):
            silences.parse_duration(bad)


def test_held_back_keeps_the_run_of_evidence() -> None:
    state = silences.held_back(ScopeState(above=1, below=2))
    assert state == ScopeState(firing=False, above=2, below=0)


@pytest.mark.integration
def test_add_list_expire(clean_db: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with clean_db.begin() as session:
        made = silences.add_silence(
            session,
            matcher=" Energy | Oil ",
            ends_at=now + timedelta(hours=2),
            created_by="alice",
            reason="  OPEC\nmeeting ",
            now=now,
        )
        later = silences.add_silence(
            session,
            matcher="Macro*",
            is_glob=True,
            starts_at=now + timedelta(hours=1),
            ends_at=now + timedelta(hours=3),
            created_by="bob",
            reason="CPI print",
            now=now,
        )
    assert (made.matcher, made.reason) == ("Energy | Oil", "OPEC meeting")  # stored tidy
    with clean_db() as session:
        assert [s.id for s in silences.active_silences(session, at=now)] == [made.id]
        listed = silences.list_silences(session, now=now)
        assert [s.id for s in listed] == [made.id, later.id]  # soonest to end first
        assert listed[1].state(now) == silences.PENDING
    with clean_db.begin() as session:
        ended = silences.expire_silence(session, silence_id=made.id, by="carol", now=now)
    assert ended.expired_by == "carol" and ended.state(now) == silences.EXPIRED
    with clean_db.begin() as session, pytest.raises(SilenceError, match="already ended"):
        silences.expire_silence(session, silence_id=made.id, by="carol")
    with clean_db() as session:
        assert silences.active_silences(session, at=now) == []
        assert [s.id for s in silences.list_silences(session, now=now)] == [later.id]
        everything = silences.list_silences(session, include_expired=True, now=now)
        assert {s.id for s in everything} == {made.id, later.id}
    with clean_db.begin() as session:
        with pytest.raises(SilenceError, match="in the future"):
            silences.add_silence(
                session,
                matcher="x",
                ends_at=now - timedelta(minutes=1),
                created_by="a",
                reason="b",
                now=now,
            )
        with pytest.raises(SilenceError, match="reason"):
            silences.add_silence(
                session,
                matcher="x",
                ends_at=now + timedelta(hours=1),
                created_by="a",
                reason="   ",
                now=now,
            )


def _silence(sessions: sessionmaker[Session], matcher: str, **kwargs: object) -> SilenceRow:
    now = datetime.now(UTC)
    with sessions.begin() as session:
        return silences.add_silence(
            session,
            matcher=matcher,
            ends_at=now + timedelta(hours=1),
            created_by="alice",
            reason="known event",
            now=now,
            **kwargs,  # type: ignore[arg-type]
        )


@pytest.mark.integration
def test_a_silenced_scope_neither_fires_nor_notifies_then_fires_when_it_ends(
    clean_db: sessionmaker[Session], make_story: Stories, receiver: Receiver
) -> None:
    settings = alert_settings(webhooks=[receiver.endpoint()])
    make_story.calm_market(T0)
    burst(make_story, T0)
    silence = _silence(clean_db, "earn*", is_glob=True)

    for step in range(4):  # would have fired on the 2nd evaluation
        report = detect_at(clean_db, settings, T0 + timedelta(seconds=30 * step))
        assert report.fired == []
    assert report.held == ["earnings"]
    with clean_db() as session:
        assert session.scalars(select(Alert)).all() == []
        assert session.scalars(select(WebhookDelivery)).all() == []

    with clean_db.begin() as session:
        silences.expire_silence(session, silence_id=silence.id, by="alice")
    report = detect_at(clean_db, settings, T0 + timedelta(seconds=150))
    assert len(report.fired) == 1  # at once: the held-back run of evidence counts
    with clean_db() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
    data = delivery.payload["data"]
    assert data["scope"] == "earnings" and data["silenced"] is False and data["silence"] is None
    assert data["severity"] in ("critical", "warning", "info")


@pytest.mark.integration
def test_an_open_alert_resolves_under_a_silence_and_says_so(
    clean_db: sessionmaker[Session], make_story: Stories, receiver: Receiver
) -> None:
    settings = alert_settings(webhooks=[receiver.endpoint()])
    make_story.calm_market(T0)
    burst(make_story, T0)
    detect_at(clean_db, settings, T0)
    [alert_id] = detect_at(clean_db, settings, T0 + timedelta(seconds=30)).fired
    silence = _silence(clean_db, "earnings")

    later = T0 + timedelta(hours=1, minutes=1)  # the burst has left the window
    detect_at(clean_db, settings, later)
    assert detect_at(clean_db, settings, later + timedelta(seconds=30)).resolved == [alert_id]
    with clean_db() as session:
        payloads = [
            d.payload for d in session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
        ]
    assert [p["type"] for p in payloads] == ["alert.firing", "alert.resolved"]
    resolved = payloads[1]["data"]
    assert resolved["silenced"] is True
    assert resolved["silence"]["id"] == silence.id
    assert resolved["silence"]["created_by"] == "alice"
    assert resolved["silence"]["reason"] == "known event"
