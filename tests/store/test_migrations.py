"""`alembic upgrade head` from empty and `downgrade base` work on PostgreSQL and SQLite, and the
migrations create exactly what the ORM models describe."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from monitor.store import migrate
from monitor.store.models import Base

pytestmark = pytest.mark.integration


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_url(request: pytest.FixtureRequest, make_pg_database, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return make_pg_database()
    return f"sqlite:///{tmp_path / 'monitor.db'}"


def test_upgrade_matches_models_and_downgrade_empties(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    engine = sa.create_engine(empty_url)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
        assert set(Base.metadata.tables) <= set(sa.inspect(connection).get_table_names())

    migrate.downgrade(empty_url)
    with engine.connect() as connection:
        assert sa.inspect(connection).get_table_names() == ["alembic_version"]

    migrate.upgrade(empty_url)  # and back up again, cleanly
    engine.dispose()
