"""Engines and the session factory, built once by the caller from settings.

The one place a database URL is revealed: settings hold it as a secret (`DatabaseUrl`, printed
with its password masked) and `make_engine` takes it as it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import ConfigError

URL_SETTING = "MONITOR_DATABASE__URL"
UPGRADE_HINT = "run `monitor db upgrade`"
READER_STATEMENT_TIMEOUT_MS = 15_000


def reveal(url: str | SecretStr) -> str:
    """The URL itself, password included: for an engine or a child process, never for print."""
    return url.get_secret_value() if isinstance(url, SecretStr) else url


def make_engine(url: str | SecretStr, *, echo: bool = False) -> Engine:
    """Create the engine; SQLite gets a WAL journal, foreign keys and a created parent folder."""
    parsed = _parse(reveal(url))
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, echo=echo, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError) as exc:  # a malformed port is a bare ValueError
        raise ConfigError(URL_SETTING, f"not a database URL ({exc})") from None


def make_reader_engine(url: str | SecretStr) -> Engine:
    """An engine for dashboards: on PostgreSQL, planner settings for its key-lookup joins.

    Every join the dashboard makes goes from a time-bounded set of stories to each one's current
    classification by `story_id`, which the covering indexes of migration 0003 answer from the
    index alone. PostgreSQL's default costs (random_page_cost 4, for spinning disks) make it
    hash-join against all classifications instead, 2.5-5x slower at 1M stories
    (bench/bench_dashboard.py): so this engine's connections, and no one else's, price random
    reads as cached/SSD ones and leave hash and merge joins as a last resort. A statement
    timeout keeps a pathological filter from hanging a page.
    """
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _tune_reader_connection)
    return engine


def _tune_reader_connection(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SET random_page_cost = 1.1")
    cursor.execute("SET enable_hashjoin = off")
    cursor.execute("SET enable_mergejoin = off")
    cursor.execute(f"SET statement_timeout = {READER_STATEMENT_TIMEOUT_MS}")
    cursor.close()
    dbapi_connection.commit()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def check_connection(engine: Engine) -> None:
    """Fail fast at start-up, naming the setting, when the database can't be reached."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None)
        reason = str(orig) if orig is not None else str(exc)
        raise ConfigError(
            URL_SETTING, f"cannot connect to {engine.url.render_as_string()}: {reason.strip()}"
        ) from None


def open_migrated(url: str | SecretStr, *, echo: bool = False) -> Engine:
    """The engine of a daemon that needs the schema (consume, schedule, dashboard): refuses,
    naming the setting, when the database is unreachable or not migrated, and creates nothing
    on the way (no empty SQLite file, no folder)."""
    parsed = _parse(reveal(url))
    database = parsed.database
    sqlite_file = parsed.get_backend_name() == "sqlite" and database not in (None, ":memory:")
    if sqlite_file and not Path(str(database)).is_file():
        raise ConfigError(URL_SETTING, f"{database} does not exist yet: {UPGRADE_HINT}")
    engine = make_engine(url, echo=echo)
    try:
        check_connection(engine)
        if not inspect(engine).has_table("stories"):
            raise ConfigError(URL_SETTING, f"the database has no schema yet: {UPGRADE_HINT}")
    except BaseException:
        engine.dispose()
        raise
    return engine


@contextmanager
def command_session(url: str | SecretStr, *, transaction: bool = False) -> Iterator[Session]:
    """A one-shot command's session on `open_migrated(url)`, with `transaction` one transaction
    committed at the end; the engine is disposed at the end either way."""
    engine = open_migrated(url)
    try:
        if transaction:
            with make_sessionmaker(engine).begin() as session:
                yield session
        else:
            with Session(engine) as session:
                yield session
    finally:
        engine.dispose()


def is_outage(exc: BaseException) -> bool:
    """The database is unreachable or lost the connection (retry later), as opposed to
    refusing what a statement holds (isolate what it refuses)."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(
        exc,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.TimeoutError
        | sa_exc.DisconnectionError,
    )
