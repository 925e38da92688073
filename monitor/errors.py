"""The project's exceptions: one base, so callers can tell our failures from library ones."""


class MonitorError(Exception):
    """Base of every error this project raises on purpose."""


class ConfigError(MonitorError):
    """A setting is wrong or points at something unusable; the message names the setting."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}")


class InvalidMessage(MonitorError):
    """A Kafka record that breaks the message contract; `reason` is stored with the dead letter."""

    def __init__(self, reason: str, kind: str = "invalid") -> None:
        self.reason = reason
        self.kind = kind  # a small fixed set, for metrics: not_json, oversize, invalid_fields...
        super().__init__(reason)
