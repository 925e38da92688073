"""Run Alembic migrations from code (the CLI, `monitor up`, tests)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from pydantic import SecretStr

from monitor.settings import REPO_ROOT


def alembic_config(url: str | SecretStr) -> Config:
    """`url` travels as given (a secret stays one) to `migrations/env.py`'s `make_engine`."""
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    config.attributes["url"] = url
    return config


def upgrade(url: str | SecretStr, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | SecretStr, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
