"""Settings of the alerting side (`MONITOR_ALERTS__*`)."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class WebhookEndpoint(BaseModel):
    """One receiver: events are POSTed to `url`, signed with `secret` (Standard Webhooks)."""

    url: str
    secret: SecretStr


class AlertSettings(BaseModel):
    interval_s: float = Field(30.0, gt=0, description="how often the spike detector runs")
    webhooks: list[WebhookEndpoint] = Field(
        default_factory=list, description='JSON list of {"url": ..., "secret": "whsec_..."}'
    )
