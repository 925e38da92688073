"""`monitor db ...`: schema migrations."""

from __future__ import annotations

import click


@click.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def upgrade_command(revision: str) -> None:
    """Migrate the database in MONITOR_DATABASE__URL up to REVISION."""
    from monitor.settings import load_settings
    from monitor.store import migrate
    from monitor.store.db import check_connection, make_engine

    url = load_settings().database.url
    engine = make_engine(url)
    check_connection(engine)
    engine.dispose()
    migrate.upgrade(url, revision)
    click.echo(f"database at {revision}")


@db_group.command("downgrade")
@click.option("--revision", default="base", show_default=True)
@click.confirmation_option(prompt="This drops tables. Continue?")
def downgrade_command(revision: str) -> None:
    """Migrate the database down to REVISION (default: drop everything)."""
    from monitor.settings import load_settings
    from monitor.store import migrate

    migrate.downgrade(load_settings().database.url, revision)
    click.echo(f"database at {revision}")
