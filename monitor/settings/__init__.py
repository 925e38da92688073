"""All configuration: one pydantic-settings class (`root.Settings`) with a nested group per
concern, each group in a module of its own.

Settings are the ground floor: these modules import nothing of the monitor but `errors`, so
every other package may import them. A new group is one module here (a `BaseModel` with
described `Field`s) and one line in `root.Settings`; its variables are then
`MONITOR_<GROUP>__<NAME>`, listed by `monitor --help` through `describe_settings`.
"""

from monitor.settings.alerts import AlertSettings, WebhookEndpoint
from monitor.settings.contract import ContractSettings
from monitor.settings.dashboard import DashboardSettings
from monitor.settings.database import DatabaseSettings, DatabaseUrl
from monitor.settings.entities import EntitySettings
from monitor.settings.kafka import KafkaSettings
from monitor.settings.local import LocalSettings
from monitor.settings.metrics import MetricsSettings
from monitor.settings.model import ModelSettings
from monitor.settings.paths import (
    PACKAGE_DIR,
    REPO_ROOT,
    SHIPPED_CHECKPOINT,
    SHIPPED_ENTITY_DICTIONARY,
)
from monitor.settings.root import Settings, describe_settings, load_settings

__all__ = [
    "PACKAGE_DIR",
    "REPO_ROOT",
    "SHIPPED_CHECKPOINT",
    "SHIPPED_ENTITY_DICTIONARY",
    "AlertSettings",
    "ContractSettings",
    "DashboardSettings",
    "DatabaseSettings",
    "DatabaseUrl",
    "EntitySettings",
    "KafkaSettings",
    "LocalSettings",
    "MetricsSettings",
    "ModelSettings",
    "Settings",
    "WebhookEndpoint",
    "describe_settings",
    "load_settings",
]
