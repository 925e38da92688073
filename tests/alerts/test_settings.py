"""Alert settings: defaults, and nonsense rejected with the variable's name."""

from __future__ import annotations

import json

import pytest

from monitor.errors import ConfigError
from monitor.settings import load_settings
from monitor.settings.alerts import AlertSettings

GOOD = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_defaults_are_consistent() -> None:
    settings = AlertSettings()
    assert settings.interval_s == 30
    assert settings.resolve_z < settings.fire_z
    assert settings.webhooks == []


def test_webhooks_come_from_the_contract_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    hooks = [{"url": "https://hooks.example/a", "secret": GOOD}]
    monkeypatch.setenv("MONITOR_ALERTS__WEBHOOKS", json.dumps(hooks))
    monkeypatch.setenv("MONITOR_ALERTS__INTERVAL_S", "5")
    settings = load_settings()
    assert settings.alerts.interval_s == 5
    assert settings.alerts.webhooks[0].secret.get_secret_value() == GOOD
    assert GOOD not in repr(settings.alerts)  # SecretStr keeps it out of logs


@pytest.mark.parametrize(
    "secret", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not base64!", "whsec_c2hvcnQ="]
)
def test_bad_webhook_secrets_are_rejected(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    monkeypatch.setenv(
        "MONITOR_ALERTS__WEBHOOKS", json.dumps([{"url": "https://h.example", "secret": secret}])
    )
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert error.value.setting.startswith("MONITOR_ALERTS__WEBHOOKS")


def test_resolve_threshold_must_be_below_fire(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_ALERTS__FIRE_Z", "3")
    monkeypatch.setenv("MONITOR_ALERTS__RESOLVE_Z", "3.5")
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert error.value.setting == "MONITOR_ALERTS__RESOLVE_Z"
