"""All configuration: one pydantic-settings class with nested groups.

Every value comes from `MONITOR_<GROUP>__<NAME>` environment variables or a `.env` file, e.g.
`MONITOR_DATABASE__URL`, `MONITOR_KAFKA__BOOTSTRAP_SERVERS`, `MONITOR_MODEL__DEVICE`.
Nothing here is instantiated at import time: `load_settings()` is called once by the CLI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from monitor.alerts.settings import AlertSettings
from monitor.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_CHECKPOINT = REPO_ROOT / "models" / "lstm-tfns.pt"


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


class DashboardSettings(BaseModel):
    url: str = Field("http://127.0.0.1:8501", description="public URL, used in alert links")
    host: str = "127.0.0.1"
    port: int = Field(8501, ge=0, le=65_535)
    refresh_s: float = Field(5.0, gt=0, description="live refresh period")


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
