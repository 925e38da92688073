"""Engine and session factory, built once by the caller from settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import ConfigError

URL_SETTING = "MONITOR_DATABASE__URL"
UPGRADE_HINT = "run `monitor db upgrade`"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create the engine; SQLite gets a WAL journal, foreign keys and a created parent folder."""
    parsed = _parse(url)
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


def open_migrated(url: str, *, echo: bool = False) -> Engine:
    """The engine of a daemon that needs the schema (consume, schedule, dashboard): refuses,
    naming the setting, when the database is unreachable or not migrated, and creates nothing
    on the way (no empty SQLite file, no folder)."""
    parsed = _parse(url)
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
