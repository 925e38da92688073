"""Run Alembic migrations from code (the CLI, `monitor up`, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from pydantic import SecretStr

MIGRATIONS = Path(__file__).resolve().with_name("migrations")  # package data: ships in the wheel


def alembic_config(url: str | SecretStr) -> Config:
    """`url` travels as given (a secret stays one) to `migrations/env.py`'s `make_engine`."""
    config = Config()  # alembic.ini at the repository root is for the `alembic` CLI only
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url
    return config


def upgrade(url: str | SecretStr, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | SecretStr, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
