"""All configuration: one pydantic-settings class with nested groups.

Every value comes from `MONITOR_<GROUP>__<NAME>` environment variables or a `.env` file, e.g.
`MONITOR_DATABASE__URL`, `MONITOR_KAFKA__BOOTSTRAP_SERVERS`, `MONITOR_MODEL__DEVICE`.
Nothing here is instantiated at import time: `load_settings()` is called once by the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from monitor.alerts.settings import AlertSettings
from monitor.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent  # a checkout's root: training data, benchmarks; never at run time
SHIPPED_CHECKPOINT = PACKAGE_DIR / "models" / "lstm-tfns.pt"  # package data: ships in the wheel


class DatabaseSettings(BaseModel):
    url: str = Field(
        "sqlite:///var/monitor.db",
        description="SQLAlchemy URL; e.g. postgresql+psycopg://user@host:5432/db",
    )
    echo: bool = Field(False, description="log every SQL statement")

    @field_validator("url")
    @classmethod
    def _known_backend(cls, url: str) -> str:
        if not url.startswith(("postgresql", "sqlite")):
            raise ValueError("must be a postgresql:// or sqlite:// SQLAlchemy URL")
        if url.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would look for psycopg2.
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url


class KafkaSettings(BaseModel):
    bootstrap_servers: str = Field("127.0.0.1:9092", description="host:port[,host:port...]")
    topic: str = Field("news", min_length=1)
    group_id: str = Field("monitor", min_length=1)
    partitions: int = Field(4, ge=1, description="partitions when the topic has to be created")
    max_poll_records: int = Field(512, ge=1, le=100_000)
    poll_timeout_ms: int = Field(200, ge=1)
    max_message_bytes: int = Field(1_000_000, ge=1024, description="larger values dead-letter")
    connect_timeout_s: float = Field(15.0, gt=0, description="start-up check of the broker")
    group_instance_id: str | None = Field(
        None,
        description="static group membership (KIP-345): a restarted consumer with the same id "
        "takes its partitions back at once, without a rebalance; unique per replica",
    )
    session_timeout_ms: int = Field(10_000, ge=1000, description="consumer group session timeout")
    max_poll_interval_ms: int = Field(
        300_000, ge=1000, description="most time one batch may take before the group rebalances"
    )

    @field_validator("bootstrap_servers")
    @classmethod
    def _host_port_list(cls, value: str) -> str:
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"{server!r} is not host:port")
        return value


class ModelSettings(BaseModel):
    checkpoint: Path = Field(SHIPPED_CHECKPOINT, description="classifier checkpoint (.pt)")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto = cuda if present")
    batch_size: int = Field(256, ge=1, le=65_536, description="texts per model forward")
    max_length: int = Field(64, ge=8, le=512, description="tokens per text (headline + body)")
    quantize: bool = Field(False, description="dynamic int8 quantization on CPU")
    mixed_precision: bool = Field(True, description="fp16 autocast when the model runs on a GPU")


class DashboardSettings(BaseModel):
    url: str = Field("http://127.0.0.1:8501", description="public URL, used in alert links")
    host: str = "127.0.0.1"
    port: int = Field(8501, ge=0, le=65_535)
    refresh_s: float = Field(5.0, gt=0, description="live refresh period")


class MetricsSettings(BaseModel):
    """Prometheus `/metrics` + `/healthz`; each daemon gets its own port so both fit one host."""

    enabled: bool = Field(True, description="serve /metrics and /healthz")
    host: str = Field("127.0.0.1", description="0.0.0.0 in containers")
    port: int = Field(9108, ge=0, le=65_535, description="`monitor consume`; 0 = any free port")
    schedule_port: int = Field(9109, ge=0, le=65_535, description="`monitor schedule`")


class LocalSettings(BaseModel):
    """`monitor up` only: where the all-in-one keeps its state, and how it replays the demo."""

    data_dir: Path = Field(Path("var"), description="embedded broker data, SQLite file, markers")
    replay_speed: float = Field(4.0, gt=0, description="demo's live tail, × real time")
    replay_live_minutes: float = Field(
        10.0, ge=0, description="minutes at the end of the demo feed replayed live"
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MONITOR_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    database: DatabaseSettings = DatabaseSettings()
    kafka: KafkaSettings = KafkaSettings()
    model: ModelSettings = ModelSettings()
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
    import json
    import os

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
    """(environment variable, default, description) for every setting, for --help and docs."""
    rows: list[tuple[str, str, str]] = []

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{name.upper()}__")
                continue
            default = field.get_default(call_default_factory=True)
            rows.append((f"{prefix}{name.upper()}", repr(default), field.description or ""))

    walk(Settings, "MONITOR_")
    return rows
