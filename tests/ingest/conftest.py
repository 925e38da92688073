"""Fixtures for driving the real `monitor consume` process against the real broker and DB."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.broker import EmbeddedBroker
from monitor.ingest import kafka
from monitor.settings import KafkaSettings
from monitor.store import migrate


@dataclass
class Pipeline:
    """One isolated ingestion setup: its own topic, group and database."""

    bootstrap: str
    topic: str
    group: str
    db_url: str
    checkpoint: Path
    log_dir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def kafka(self) -> KafkaSettings:
        return KafkaSettings(
            bootstrap_servers=self.bootstrap, topic=self.topic, group_id=self.group
        )

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        env.update(
            MONITOR_DATABASE__URL=self.db_url,
            MONITOR_KAFKA__BOOTSTRAP_SERVERS=self.bootstrap,
            MONITOR_KAFKA__TOPIC=self.topic,
            MONITOR_KAFKA__GROUP_ID=self.group,
            MONITOR_MODEL__CHECKPOINT=str(self.checkpoint),
            MONITOR_MODEL__DEVICE="cpu",
            # Never a fixed port: several test runs (and a running stack) share this machine.
            MONITOR_METRICS__PORT="0",
            MONITOR_METRICS__SCHEDULE_PORT="0",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def start_consumer(self, **extra: str) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"consume-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "consume"],
            env=self.env(**extra),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(process)
        return process

    def produce(self, values: list[tuple[bytes | None, bytes | None]]) -> None:
        producer = kafka.make_producer(self.kafka)
        for key, value in values:
            producer.send(self.topic, key=key, value=value)
        producer.flush()
        producer.close()

    def scalar(self, sql: str) -> int:
        engine = sa.create_engine(self.db_url)
        try:
            with engine.connect() as connection:
                return int(connection.execute(sa.text(sql)).scalar() or 0)
        finally:
            engine.dispose()

    def execute(self, sql: str) -> None:
        engine = sa.create_engine(self.db_url)
        try:
            with engine.begin() as connection:
                connection.execute(sa.text(sql))
        finally:
            engine.dispose()

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.log_dir.glob("*.log"))
        )


def new_pipeline(bootstrap: str, make_pg_database, checkpoint: Path, log_dir: Path) -> Pipeline:
    """A fresh migrated database, and a topic and group of its own on `bootstrap`."""
    url = make_pg_database()
    migrate.upgrade(url)
    setup = Pipeline(
        bootstrap=bootstrap,
        topic=f"news-{uuid.uuid4().hex[:8]}",
        group=f"monitor-{uuid.uuid4().hex[:8]}",
        db_url=url,
        checkpoint=checkpoint,
        log_dir=log_dir,
    )
    kafka.ensure_topic(setup.kafka)
    return setup


@contextmanager
def running_pipeline(
    broker: str, make_pg_database: Any, checkpoint: Path, tmp_path: Path
) -> Iterator[Pipeline]:
    """`new_pipeline`; at the end, any of its processes still running is killed."""
    setup = new_pipeline(broker, make_pg_database, checkpoint, tmp_path)
    yield setup
    for process in setup.processes:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()


@pytest.fixture
def pipeline(
    broker: str, make_pg_database, tiny_checkpoint: Path, tmp_path: Path
) -> Iterator[Pipeline]:
    with running_pipeline(broker, make_pg_database, tiny_checkpoint, tmp_path) as setup:
        yield setup


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    """A broker of the test's own on a fixed port, so it can be stopped and started again."""
    embedded = EmbeddedBroker(tmp_path / "noida", port=free_port())
    embedded.start()
    yield embedded
    embedded.stop()


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout_s: float,
    what: str,
    logs: Callable[[], str] = lambda: "",
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}\n{logs()}")


def story(i: int, **fields: object) -> tuple[bytes, bytes]:
    body = {
        "id": f"story-{i}",
        "headline": f"Company {i} shares fall after profit warning",
        "source": "newswire",
        **fields,
    }
    return body["id"].encode(), json.dumps(body).encode()  # type: ignore[union-attr]


def free_port() -> int:
    """A TCP port free right now on 127.0.0.1, for a child's metrics or dashboard server."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
