"""`MONITOR_DATABASE__*`: where the data lives. The URL may carry a password, so it is a secret."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field, SecretStr, field_validator


def mask_password(url: str) -> str:
    """`url` with its password (in the authority or a `password=` query parameter) as ***."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, tail = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if at and ":" in userinfo:
        authority = f"{userinfo.split(':', 1)[0]}:***@{host}"
    tail = re.sub(r"(?i)(password=)[^&]*", r"\1***", tail)
    return f"{scheme}://{authority}{slash}{tail}"


class DatabaseUrl(SecretStr):
    """A SQLAlchemy URL that prints (str, repr, logs, errors) with its password masked.

    `get_secret_value()` reveals it; only `monitor.store.db.make_engine` and the hand-over to
    child processes need to.
    """

    def _display(self) -> str:
        return mask_password(self.get_secret_value())

    def __reduce__(self) -> tuple[type[DatabaseUrl], tuple[str]]:
        # Picklable, so caches keyed by the URL (the dashboard's engine) can hash it.
        return (DatabaseUrl, (self.get_secret_value(),))


class DatabaseSettings(BaseModel):
    url: DatabaseUrl = Field(
        DatabaseUrl("sqlite:///var/monitor.db"),
        description="SQLAlchemy URL; e.g. postgresql+psycopg://user@host:5432/db",
    )
    echo: bool = Field(False, description="log every SQL statement")

    @field_validator("url", mode="before")
    @classmethod
    def _known_backend(cls, url: object) -> object:
        value = url.get_secret_value() if isinstance(url, SecretStr) else url
        if not isinstance(value, str):
            return url  # pydantic reports the wrong type
        if not value.startswith(("postgresql", "sqlite")):
            raise ValueError("must be a postgresql:// or sqlite:// SQLAlchemy URL")
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would look for psycopg2.
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value
