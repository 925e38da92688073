"""The one pydantic-settings class: a field per group, read from `MONITOR_*` and `.env`.

Every value comes from `MONITOR_<GROUP>__<NAME>` environment variables or a `.env` file, e.g.
`MONITOR_DATABASE__URL`, `MONITOR_KAFKA__BOOTSTRAP_SERVERS`, `MONITOR_MODEL__DEVICE`.
Nothing here is instantiated at import time: `load_settings()` is called once by the CLI.
"""

from __future__ import annotations

import json
import os

from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from monitor.errors import ConfigError
from monitor.settings.alerts import AlertSettings
from monitor.settings.contract import ContractSettings
from monitor.settings.dashboard import DashboardSettings
from monitor.settings.database import DatabaseSettings
from monitor.settings.entities import EntitySettings
from monitor.settings.kafka import KafkaSettings
from monitor.settings.local import LocalSettings
from monitor.settings.metrics import MetricsSettings
from monitor.settings.model import ModelSettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MONITOR_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    database: DatabaseSettings = DatabaseSettings()
    kafka: KafkaSettings = KafkaSettings()
    contract: ContractSettings = ContractSettings()
    model: ModelSettings = ModelSettings()
    entities: EntitySettings = EntitySettings()
    alerts: AlertSettings = AlertSettings()
    dashboard: DashboardSettings = DashboardSettings()
    local: LocalSettings = LocalSettings()
    metrics: MetricsSettings = MetricsSettings()
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING, ...")
    log_json: bool = Field(False, description="one JSON object per log line")


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; a bad value raises ConfigError naming its variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = "MONITOR_" + "__".join(str(part) for part in error["loc"]).upper()
        raise ConfigError(name, error["msg"]) from None
    except SettingsError as exc:
        # pydantic-settings names only the group: 'error parsing value for field "alerts" ...'
        raise ConfigError(
            _unparsable_variable(str(exc)), f"not valid JSON ({exc.__cause__})"
        ) from None


def _unparsable_variable(message: str) -> str:
    """The environment variable behind a pydantic-settings parse error, which names the group
    only ('error parsing value for field "alerts" ...'): the one whose value is not JSON."""
    group = next((g for g in Settings.model_fields if f'"{g}"' in message), "")
    prefix = f"MONITOR_{group.upper()}__"
    for name, value in os.environ.items():
        if name.upper().startswith(prefix) and value.lstrip()[:1] in "[{":
            try:
                json.loads(value)
            except ValueError:
                return name.upper()
    complex_names = [n for n, _, _ in describe_settings() if n.startswith(prefix)]
    return " or ".join(n for n in complex_names if n.upper() in map(str.upper, os.environ)) or (
        prefix + "*"
    )


def describe_settings() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every setting, for --help and docs.

    A secret's default is shown as it prints (a database URL with its password masked)."""
    rows: list[tuple[str, str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{name.upper()}__")
                continue
            default = field.get_default(call_default_factory=True)
            shown = repr(str(default)) if isinstance(default, SecretStr) else repr(default)
            rows.append((f"{prefix}{name.upper()}", shown, field.description or ""))

    walk(Settings, "MONITOR_")
    return rows
