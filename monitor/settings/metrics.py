"""`MONITOR_METRICS__*`: Prometheus `/metrics` + `/healthz` of the daemons."""

from __future__ import annotations

from pydantic import BaseModel, Field


class MetricsSettings(BaseModel):
    """Each daemon gets its own port so both fit one host."""

    enabled: bool = Field(True, description="serve /metrics and /healthz")
    host: str = Field("127.0.0.1", description="0.0.0.0 in containers")
    port: int = Field(9108, ge=0, le=65_535, description="`monitor consume`; 0 = any free port")
    schedule_port: int = Field(
        9109, ge=0, le=65_535, description="`monitor schedule`; 0 = any free port"
    )
