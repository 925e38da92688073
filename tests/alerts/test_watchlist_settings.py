"""The watchlist's settings and its volume test: parsing, refusals naming the variable, and the
negative-binomial tail's behaviour on thin and busy names."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from monitor.alerts.repository import ENTITY, fingerprint, state_key
from monitor.alerts.stats import volume_test
from monitor.errors import ConfigError
from monitor.settings import load_settings
from monitor.settings.alerts import AlertSettings
from tests.conftest import ConfigErrorOf


@pytest.mark.parametrize(
    ("value", "stored", "watched"),
    [
        ("", "", frozenset()),
        (" aapl, MSFT ,,aapl", "AAPL,MSFT", frozenset({"AAPL", "MSFT"})),
        ("BRK.B,BF-B", "BRK.B,BF-B", frozenset({"BRK.B", "BF-B"})),
        ("*", "*", None),
    ],
)
def test_watchlist_parsing(
    monkeypatch: pytest.MonkeyPatch, value: str, stored: str, watched: frozenset[str] | None
) -> None:
    monkeypatch.setenv("MONITOR_ALERTS__WATCHLIST", value)
    settings = load_settings().alerts
    assert settings.watchlist == stored
    assert settings.watched() == watched
    assert settings.watchlist_enabled is bool(stored)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MONITOR_ALERTS__WATCHLIST", "*,AAPL"),
        ("MONITOR_ALERTS__WATCHLIST", "AAPL,$$$"),
        ("MONITOR_ALERTS__WATCHLIST", "A" * 65),
        ("MONITOR_ALERTS__ENTITY__WINDOW_S", "soon"),
        ("MONITOR_ALERTS__ENTITY__MIN_NEGATIVE", "0"),
        ("MONITOR_ALERTS__ENTITY__MIN_RATE_RATIO", "0.5"),
        ("MONITOR_ALERTS__ENTITY__PRIOR_NEGATIVE_PER_HOUR", "-1"),
    ],
)
def test_bad_values_name_the_variable(config_error: ConfigErrorOf, name: str, value: str) -> None:
    assert config_error(name, value).setting == name


def test_entity_thresholds_must_stay_above_resolve_z(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_ALERTS__ENTITY__VOLUME_FIRE_Z", "1.0")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert error.value.setting == "MONITOR_ALERTS__ENTITY"
    assert "MONITOR_ALERTS__RESOLVE_Z" in str(error.value)


def test_schedule_refuses_a_bad_watchlist_in_one_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "monitor", "schedule"],
        env={"MONITOR_ALERTS__WATCHLIST": "AAPL;MSFT", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "bad setting MONITOR_ALERTS__WATCHLIST:" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_keys_and_fingerprints_keep_topics_and_entities_apart() -> None:
    assert fingerprint("Energy | Oil") == "negative-spike:Energy | Oil"  # unchanged
    assert fingerprint("AAPL", kind=ENTITY) == "negative-spike:entity:AAPL"
    assert state_key("AAPL") == "AAPL"
    assert state_key("AAPL", kind=ENTITY) == "entity:AAPL"
    long_a, long_b = "N" * 64, "N" * 63 + "M"
    assert len(state_key(long_a, kind=ENTITY)) == 64
    assert state_key(long_a, kind=ENTITY) != state_key(long_b, kind=ENTITY)


VOLUME = AlertSettings().entity


def volume(window_negative: int, baseline_negative: int, **overrides: float) -> bool:
    values: dict[str, Any] = {
        "window_s": 3600.0,
        "baseline_s": 86_400.0,
        "prior_per_hour": VOLUME.prior_negative_per_hour,
        "prior_hours": VOLUME.prior_hours,
        "fire_z": VOLUME.volume_fire_z,
        "min_negative": VOLUME.min_negative,
        "min_rate_ratio": VOLUME.min_rate_ratio,
        "dispersion": VOLUME.dispersion,
        **overrides,
    }
    return volume_test(
        window_negative=window_negative, baseline_negative=baseline_negative, **values
    ).significant


def test_volume_test_on_quiet_and_busy_names() -> None:
    assert not volume(0, 0)
    assert not volume(4, 0)  # below min_negative, however surprising
    assert volume(5, 0)  # a quiet name: five negative stories in an hour is the event
    assert not volume(2, 48)  # a name with 2 negative stories an hour: business as usual
    assert not volume(5, 48)  # 2.5x: below min_rate_ratio
    assert volume(12, 48)
    assert not volume(12, 48, min_rate_ratio=12.0)  # 11.4x expected


# An hour's window against a day's baseline, with a strong (24 h) prior, for exact tail figures.
NB_CASE: dict[str, Any] = {
    "window_s": 3600,
    "baseline_s": 86_400,
    "prior_per_hour": 0.1,
    "prior_hours": 24,
    "fire_z": 3.5,
    "min_negative": 5,
    "min_rate_ratio": 3,
}


def test_volume_statistic_is_the_p_value_as_a_z() -> None:
    result = volume_test(window_negative=8, baseline_negative=24, **NB_CASE)
    from scipy.stats import nbinom, norm

    # Gamma(24 + 2.4, 48 h) on the hourly rate -> NB(26.4, 48/49) for one hour.
    assert result.expected == pytest.approx(26.4 / 48)
    assert result.p_value == pytest.approx(nbinom.sf(7, 26.4, 48 / 49))
    assert result.statistic == pytest.approx(norm.isf(result.p_value))
    assert result.rate_ratio == pytest.approx(8 / result.expected)
    # Dispersion widens the tail (same mean): NB with 1/r = 1/26.4 + 0.5².
    wider = volume_test(window_negative=8, baseline_negative=24, **NB_CASE, dispersion=0.5)
    size = 1 / (1 / 26.4 + 0.25)
    assert wider.expected == result.expected
    assert wider.p_value == pytest.approx(nbinom.sf(7, size, size / (size + result.expected)))
    assert wider.p_value > result.p_value
    empty = volume_test(window_negative=0, baseline_negative=0, **NB_CASE)
    assert empty.p_value == 1.0 and empty.statistic == -40.0 and not empty.enough_data


def test_silence_names_of_topics_and_entities() -> None:
    from datetime import UTC, datetime, timedelta

    from monitor.alerts.silences import SilenceRow, scope_names

    now = datetime.now(UTC)

    def row(matcher: str, glob: bool) -> SilenceRow:
        return SilenceRow(
            1, matcher, glob, now, now + timedelta(hours=1), "a", "b", now, None, None
        )

    assert scope_names("Energy | Oil") == ("Energy | Oil",)
    assert scope_names("AAPL", "entity") == ("AAPL", "entity:AAPL")
    assert row("entity:AAPL", False).matches("AAPL", "entity")
    assert not row("entity:AAPL", False).matches("AAPL")  # a topic called AAPL: not muted
    assert row("entity:*", True).matches("MSFT", "entity")
    assert not row("entity:*", True).matches("Earnings")
    assert row("*", True).matches("MSFT", "entity") and row("*", True).matches("Earnings")
    assert row("AAPL", False).covers("AAPL", now, now, "entity")
