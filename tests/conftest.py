"""Shared fixtures: a real PostgreSQL database, a real Kafka-protocol broker, a tiny checkpoint.

Services are started once per test session and stopped by PID at the end. PostgreSQL runs on
this machine (127.0.0.1:5432, trust auth); each session gets a fresh database of its own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from monitor.broker import EmbeddedBroker
from monitor.errors import ConfigError
from monitor.nlp.checkpoint import Checkpoint, save_checkpoint, weights_digest
from monitor.nlp.model import LSTMConfig, NewsLSTM
from monitor.settings import load_settings
from monitor.store import migrate
from monitor.store.db import make_engine, make_sessionmaker
from monitor.store.models import Base

PG_ADMIN_URL = os.environ.get(
    "MONITOR_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _create_database(name: str) -> str:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_database(name: str) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def make_pg_database() -> Iterator:
    """Factory: a fresh, empty PostgreSQL database URL; all are dropped at the end."""
    created: list[str] = []

    def make() -> str:
        name = f"monitor_test_{uuid.uuid4().hex[:12]}"
        created.append(name)
        return _create_database(name)

    yield make
    for name in created:
        _drop_database(name)


@pytest.fixture(scope="session")
def pg_url(make_pg_database) -> str:
    """One migrated PostgreSQL database shared by the session's tests."""
    url = make_pg_database()
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_db(pg_engine: Engine) -> sessionmaker[Session]:
    """The shared database, emptied before the test; returns a sessionmaker on it."""
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with pg_engine.begin() as connection:
        connection.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return make_sessionmaker(pg_engine)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Kafka-protocol broker (noida-db) for the session; yields bootstrap servers."""
    embedded = EmbeddedBroker(tmp_path_factory.mktemp("noida"))
    yield embedded.start()
    embedded.stop()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small, untrained checkpoint made by our own code: fast, and the real format."""
    import torch

    torch.manual_seed(0)
    model = NewsLSTM(LSTMConfig(embed_dim=32, hidden_dim=32))
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    save_checkpoint(Checkpoint(model=model, version=f"tiny-{weights_digest(model)}"), path)
    return path


ConfigErrorOf = Callable[[str, str], ConfigError]


@pytest.fixture
def config_error(monkeypatch: pytest.MonkeyPatch) -> ConfigErrorOf:
    """The ConfigError that loading the settings raises with one variable set to a value."""

    def load(variable: str, value: str) -> ConfigError:
        monkeypatch.setenv(variable, value)
        with pytest.raises(ConfigError) as caught:
            load_settings()
        return caught.value

    return load
