"""Start-up checks of `monitor consume` (and of `schedule` and `dashboard` where they share them),
run as the real process: a bad setting stops it with one line naming the setting, exit status 2,
no traceback — and nothing half-written, because every check runs before anything is created
(no rows, no tables, no topic, no empty SQLite file)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from kafka import KafkaAdminClient

from tests.ingest.conftest import Pipeline, free_port

pytestmark = pytest.mark.integration

URL = "MONITOR_DATABASE__URL"
BOOTSTRAP = "MONITOR_KAFKA__BOOTSTRAP_SERVERS"
CHECKPOINT = "MONITOR_MODEL__CHECKPOINT"


def run_monitor(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,  # torch import + a 2 s broker check, on a slow shared machine
    )


def base_env(checkpoint: Path, **extra: str) -> dict[str, str]:
    """Valid settings except where `extra` says otherwise; the broker is never reached."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(
        MONITOR_DATABASE__URL="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        MONITOR_KAFKA__BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}",
        MONITOR_KAFKA__CONNECT_TIMEOUT_S="2",
        MONITOR_MODEL__CHECKPOINT=str(checkpoint),
        MONITOR_MODEL__DEVICE="cpu",
        MONITOR_METRICS__PORT="0",
        MONITOR_METRICS__SCHEDULE_PORT="0",
    )
    env.update(extra)
    return env


def assert_refused(result: subprocess.CompletedProcess[str], setting: str) -> None:
    """Exit status 2, one readable line naming the setting, no traceback."""
    detail = f"rc={result.returncode}\nstderr:\n{result.stderr}\nstdout:\n{result.stdout}"
    assert result.returncode == 2, detail
    assert f"bad setting {setting}:" in result.stderr, detail
    assert "Traceback" not in result.stderr, detail


def row_counts(db_url: str) -> dict[str, int]:
    """Rows per table of the public schema (alembic_version aside)."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as connection:
            tables = sa.inspect(connection).get_table_names()
            return {
                table: int(connection.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar())
                for table in tables
                if table != "alembic_version"
            }
    finally:
        engine.dispose()


def topics(bootstrap: str) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="test-topics")
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def test_unreachable_broker_names_the_setting_and_writes_nothing(pipeline: Pipeline) -> None:
    before = row_counts(pipeline.db_url)
    closed = f"127.0.0.1:{free_port()}"
    env = pipeline.env(
        MONITOR_KAFKA__BOOTSTRAP_SERVERS=closed,
        MONITOR_KAFKA__CONNECT_TIMEOUT_S="2",
    )
    result = run_monitor(["consume"], env)
    assert_refused(result, BOOTSTRAP)
    assert closed in result.stderr
    after = row_counts(pipeline.db_url)
    assert after == before
    assert set(after) >= {"stories", "classifications", "dead_letters"}
    assert sum(after.values()) == 0


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:{closed}/monitor",  # nothing listens there
        "postgresql+psycopg://:::",  # not parseable: the port is not a number
        "mysql://x",  # a database we do not support
    ],
)
def test_bad_database_url_names_the_setting(tiny_checkpoint: Path, url: str) -> None:
    result = run_monitor(
        ["consume"], base_env(tiny_checkpoint, **{URL: url.format(closed=free_port())})
    )
    assert_refused(result, URL)


def test_db_upgrade_against_unreachable_database_names_the_setting(tiny_checkpoint: Path) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/monitor"
    result = run_monitor(["db", "upgrade"], base_env(tiny_checkpoint, **{URL: url}))
    assert_refused(result, URL)
    assert "cannot connect" in result.stderr


def test_missing_checkpoint_names_the_setting_and_creates_no_topic(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    topic = f"news-never-{uuid.uuid4().hex[:8]}"
    missing = tmp_path / "no-such-model.pt"
    env = pipeline.env(
        MONITOR_KAFKA__TOPIC=topic,
        MONITOR_MODEL__CHECKPOINT=str(missing),
    )
    result = run_monitor(["consume"], env)
    assert_refused(result, CHECKPOINT)
    assert str(missing) in result.stderr
    # The broker was up and reachable, so only the order of the checks kept the topic away.
    assert pipeline.topic in topics(pipeline.bootstrap)
    assert topic not in topics(pipeline.bootstrap)
    assert sum(row_counts(pipeline.db_url).values()) == 0


def test_unmigrated_database_says_to_run_db_upgrade(pipeline: Pipeline, make_pg_database) -> None:
    empty_url = make_pg_database()
    topic = f"news-never-{uuid.uuid4().hex[:8]}"
    env = pipeline.env(MONITOR_DATABASE__URL=empty_url, MONITOR_KAFKA__TOPIC=topic)
    result = run_monitor(["consume"], env)
    assert_refused(result, URL)
    assert "monitor db upgrade" in result.stderr
    assert row_counts(empty_url) == {}, "start-up created tables in an unmigrated database"
    assert topic not in topics(pipeline.bootstrap)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("MONITOR_MODEL__BATCH_SIZE", "0"),
        ("MONITOR_MODEL__DEVICE", "tpu"),
        ("MONITOR_KAFKA__MAX_POLL_RECORDS", "many"),
        (BOOTSTRAP, "localhost"),  # no port
    ],
)
def test_bad_value_names_the_setting(tiny_checkpoint: Path, setting: str, value: str) -> None:
    result = run_monitor(["consume"], base_env(tiny_checkpoint, **{setting: value}))
    assert_refused(result, setting)


@pytest.mark.parametrize("command", [["schedule"], ["dashboard"]])
def test_schedule_and_dashboard_refuse_an_unmigrated_database(
    tiny_checkpoint: Path, make_pg_database, command: list[str]
) -> None:
    empty_url = make_pg_database()
    result = run_monitor(command, base_env(tiny_checkpoint, **{URL: empty_url}))
    assert_refused(result, URL)
    assert "monitor db upgrade" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert row_counts(empty_url) == {}


@pytest.mark.parametrize("command", [["consume"], ["schedule"], ["dashboard"]])
def test_a_missing_sqlite_file_is_refused_and_not_created(
    tiny_checkpoint: Path, tmp_path: Path, command: list[str]
) -> None:
    path = tmp_path / "var" / "monitor.db"
    result = run_monitor(command, base_env(tiny_checkpoint, **{URL: f"sqlite:///{path}"}))
    assert_refused(result, URL)
    assert "monitor db upgrade" in result.stderr
    assert not path.exists() and not path.parent.exists()


def test_consume_refuses_a_busy_metrics_port_before_creating_the_topic(
    pipeline: Pipeline,
) -> None:
    topic = f"news-never-{uuid.uuid4().hex[:8]}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = pipeline.env(MONITOR_KAFKA__TOPIC=topic, MONITOR_METRICS__PORT=str(port))
        result = run_monitor(["consume"], env)
    assert_refused(result, "MONITOR_METRICS__PORT")
    assert f"127.0.0.1:{port}" in result.stderr
    assert topic not in topics(pipeline.bootstrap)


def test_schedule_refuses_a_busy_metrics_port(pg_url: str, tiny_checkpoint: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = base_env(
            tiny_checkpoint, **{URL: pg_url, "MONITOR_METRICS__SCHEDULE_PORT": str(port)}
        )
        result = run_monitor(["schedule"], env)
    assert_refused(result, "MONITOR_METRICS__SCHEDULE_PORT")
