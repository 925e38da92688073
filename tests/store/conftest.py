"""`db`: an empty migrated database of each kind, PostgreSQL and SQLite, for store tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from monitor.store import migrate
from monitor.store.db import make_engine, make_sessionmaker
from monitor.store.models import Base


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'monitor.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(params=["postgresql", "sqlite"])
def db(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[sessionmaker[Session]]:
    """An empty migrated database of each kind (every table emptied before the test)."""
    if request.param == "postgresql":
        yield request.getfixturevalue("clean_db")
        return
    engine = make_engine(sqlite_url)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())
    yield sessions
    engine.dispose()
