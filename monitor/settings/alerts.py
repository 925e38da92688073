"""`MONITOR_ALERTS__*`: the spike detector, the hourly rollup and webhook delivery.

Defaults come from `bench/bench_detector.py` (see docs/alerts.md): at 60 stories/hour per topic
they keep false alarms under one per topic per week while catching a 15% → 40% step in about
three quarters of an hour, which is close to the information-theoretic limit at that traffic.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationInfo, field_validator

SECRET_PREFIX = "whsec_"


def decode_secret(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: the base64 after `whsec_`."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


class WebhookEndpoint(BaseModel):
    """One receiver: events are POSTed to `url`, signed with `secret` (Standard Webhooks)."""

    url: str
    secret: SecretStr

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return url

    @field_validator("secret")
    @classmethod
    def _standard_webhooks_secret(cls, secret: SecretStr) -> SecretStr:
        value = secret.get_secret_value()
        if not value.startswith(SECRET_PREFIX):
            raise ValueError("must be a Standard Webhooks secret: whsec_<base64>")
        try:
            key = decode_secret(value)
        except (binascii.Error, ValueError):
            raise ValueError("the part after whsec_ is not valid base64") from None
        if not 24 <= len(key) <= 64:
            raise ValueError("the decoded secret must be 24 to 64 bytes (Standard Webhooks)")
        return secret


class AlertSettings(BaseModel):
    # --- detector -------------------------------------------------------------------------
    interval_s: float = Field(30.0, gt=0, description="how often the spike detector runs")
    window_s: float = Field(
        3600.0, gt=0, description="recent window whose negative share is tested (seconds)"
    )
    baseline_s: float = Field(
        86_400.0, gt=0, description="trailing baseline before the window (seconds)"
    )
    min_window_count: int = Field(
        20, ge=1, description="stories the window needs before a scope can fire"
    )
    fire_z: float = Field(
        3.5, gt=0, description="one-sided z of window vs baseline negative share that fires"
    )
    resolve_z: float = Field(
        1.5, description="z below which a firing alert counts towards resolving (hysteresis)"
    )
    min_share_increase: float = Field(
        0.05,
        ge=0,
        le=1,
        description="absolute rise of the negative share also required to fire (big scopes)",
    )
    persistence_evaluations: int = Field(
        2, ge=1, description="consecutive significant evaluations before firing"
    )
    resolve_evaluations: int = Field(
        4, ge=1, description="consecutive evaluations below resolve_z before resolving"
    )
    cooldown_s: float = Field(
        1800.0, ge=0, description="after a resolve, the same scope may not fire again for this"
    )
    prior_strength: float = Field(
        30.0, ge=0, description="pseudo-stories of prior mixed into a sparse baseline"
    )
    prior_negative_share: float = Field(
        0.2, gt=0, lt=1, description="prior negative share when even the market has no baseline"
    )
    top_stories: int = Field(10, ge=1, le=200, description="story ids kept with each alert")
    clock: Literal["wall", "data"] = Field(
        "wall",
        description="'now' for the detector: wall clock, or newest published_at (replays)",
    )
    # --- rollup ---------------------------------------------------------------------------
    rollup_interval_s: float = Field(
        30.0,
        gt=0,
        description="how often the hourly sentiment rollup the dashboard's long ranges read is "
        "refreshed (touched hours only)",
    )
    # --- webhooks -------------------------------------------------------------------------
    webhooks: list[WebhookEndpoint] = Field(
        default_factory=list, description='JSON list of {"url": ..., "secret": "whsec_..."}'
    )
    dispatch_interval_s: float = Field(
        2.0, gt=0, description="how often the webhook dispatcher looks for due deliveries"
    )
    dispatch_batch_size: int = Field(50, ge=1, description="deliveries claimed per pass")
    webhook_timeout_s: float = Field(5.0, gt=0, description="HTTP timeout of one attempt")
    retry_base_s: float = Field(2.0, gt=0, description="first retry delay cap (full jitter)")
    retry_max_delay_s: float = Field(600.0, gt=0, description="cap of one retry delay")
    retry_max_age_s: float = Field(
        86_400.0, gt=0, description="a delivery older than this is given up (status failed)"
    )

    @field_validator("resolve_z")
    @classmethod
    def _below_fire_z(cls, resolve_z: float, info: ValidationInfo) -> float:
        fire_z = info.data.get("fire_z")
        if fire_z is not None and resolve_z >= fire_z:
            raise ValueError(f"must be below fire_z ({fire_z}) for hysteresis")
        return resolve_z
