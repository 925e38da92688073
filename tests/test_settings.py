"""Settings: MONITOR_* variables (nested by `__`), .env files, errors naming the variable."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from monitor.settings import describe_settings, load_settings
from tests.conftest import ConfigErrorOf

CONTRACT = (
    "MONITOR_DATABASE__URL",
    "MONITOR_KAFKA__BOOTSTRAP_SERVERS",
    "MONITOR_KAFKA__TOPIC",
    "MONITOR_KAFKA__GROUP_ID",
    "MONITOR_MODEL__CHECKPOINT",
    "MONITOR_MODEL__DEVICE",
    "MONITOR_MODEL__BATCH_SIZE",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No MONITOR_* from the caller's shell and no .env from the checkout leak into a test."""
    for name in list(os.environ):
        if name.startswith("MONITOR_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MONITOR_KAFKA__BOOTSTRAP_SERVERS", "nope"),
        ("MONITOR_KAFKA__BOOTSTRAP_SERVERS", "kafka:9092,broken"),
        ("MONITOR_MODEL__BATCH_SIZE", "0"),
        ("MONITOR_MODEL__BATCH_SIZE", "many"),
        ("MONITOR_MODEL__DEVICE", "tpu"),
        ("MONITOR_DATABASE__URL", "mysql://x"),
        ("MONITOR_METRICS__PORT", "70000"),
        ("MONITOR_ALERTS__WEBHOOKS", '[{"url": "ftp://x", "secret": "whsec_x"}]'),
        ("MONITOR_ALERTS__WEBHOOKS", "not json"),
        ("MONITOR_ALERTS__WEBHOOKS", '[{"url": '),
        ("MONITOR_DASHBOARD__TIMEZONE", "Mars/Olympus"),
        ("MONITOR_DASHBOARD__TIMEZONE", "../../etc/passwd"),
        ("MONITOR_DASHBOARD__MIN_BUCKET_STORIES", "0"),
    ],
)
def test_bad_value_names_its_variable(
    config_error: ConfigErrorOf, variable: str, value: str
) -> None:
    error = config_error(variable, value)
    # A list item's field is named down to the item: MONITOR_ALERTS__WEBHOOKS__0__URL.
    assert error.setting.startswith(variable)
    assert variable in str(error)


def test_defaults_match_the_contract() -> None:
    settings = load_settings()
    assert settings.kafka.topic == "news"
    assert settings.kafka.group_id == "monitor"
    assert settings.database.url.get_secret_value().startswith("sqlite")
    assert settings.metrics.enabled
    assert (settings.metrics.port, settings.metrics.schedule_port) == (9108, 9109)


def test_nested_variables_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_KAFKA__BOOTSTRAP_SERVERS", "a:9092, b:9093")
    monkeypatch.setenv("MONITOR_KAFKA__TOPIC", "wire")
    monkeypatch.setenv("MONITOR_MODEL__BATCH_SIZE", "32")
    monkeypatch.setenv("MONITOR_MODEL__DEVICE", "cpu")
    monkeypatch.setenv("MONITOR_METRICS__PORT", "0")
    monkeypatch.setenv("MONITOR_LOG_JSON", "true")
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    monkeypatch.setenv(
        "MONITOR_ALERTS__WEBHOOKS",
        json.dumps([{"url": "https://hooks.example/x", "secret": secret}]),
    )
    settings = load_settings()
    assert settings.kafka.bootstrap_servers == "a:9092, b:9093"
    assert settings.kafka.topic == "wire"
    assert settings.kafka.group_id == "monitor"  # untouched siblings keep their defaults
    assert settings.model.batch_size == 32
    assert settings.model.device == "cpu"
    assert settings.metrics.port == 0
    assert settings.log_json is True
    [hook] = settings.alerts.webhooks
    assert hook.url == "https://hooks.example/x"
    assert hook.secret.get_secret_value() == secret
    assert secret not in repr(settings)  # secrets never reach logs


def test_plain_postgresql_url_uses_psycopg3(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_DATABASE__URL", "postgresql://u:p@db:5432/monitor")
    url = load_settings().database.url.get_secret_value()
    assert url == "postgresql+psycopg://u:p@db:5432/monitor"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://ana:s3cr%40t@db:5432/m", "postgresql+psycopg://ana:***@db:5432/m"),
        (
            "postgresql+psycopg://db/m?password=s3cr%40t&x=1",
            "postgresql+psycopg://db/m?password=***&x=1",
        ),
        ("postgresql+psycopg://ana@db/m", "postgresql+psycopg://ana@db/m"),
        ("sqlite:///var/s3cr%40t.db", "sqlite:///var/s3cr%40t.db"),  # a path, not a secret
    ],
)
def test_database_url_is_a_secret_printed_masked(
    monkeypatch: pytest.MonkeyPatch, url: str, shown: str
) -> None:
    monkeypatch.setenv("MONITOR_DATABASE__URL", url)
    settings = load_settings()
    assert str(settings.database.url) == shown
    assert f"DatabaseUrl({shown!r})" in repr(settings)
    if "sqlite" not in url:
        assert "s3cr" not in repr(settings) and "s3cr" not in f"{settings.database.url}"
    assert settings.database.url.get_secret_value().endswith(url.split("://", 1)[1])


def test_dotenv_file_is_read_and_environment_wins(
    monkeypatch: pytest.MonkeyPatch, clean_env: Path
) -> None:
    (clean_env / ".env").write_text("MONITOR_KAFKA__TOPIC=from-file\nMONITOR_KAFKA__GROUP_ID=g1\n")
    monkeypatch.setenv("MONITOR_KAFKA__GROUP_ID", "from-env")
    settings = load_settings()
    assert settings.kafka.topic == "from-file"
    assert settings.kafka.group_id == "from-env"


def test_describe_settings_lists_every_contract_name() -> None:
    rows = {name: (default, description) for name, default, description in describe_settings()}
    for name in CONTRACT:
        assert name in rows, name
    assert rows["MONITOR_KAFKA__TOPIC"][0] == repr("news")
    assert rows["MONITOR_KAFKA__GROUP_ID"][0] == repr("monitor")
    for name in ("MONITOR_METRICS__ENABLED", "MONITOR_METRICS__HOST", "MONITOR_METRICS__PORT"):
        assert name in rows
    assert all(name.startswith("MONITOR_") and name == name.upper() for name in rows)
