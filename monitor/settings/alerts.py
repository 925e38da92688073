"""`MONITOR_ALERTS__*`: the spike detector, the hourly rollup and webhook delivery.

Defaults come from `bench/bench_detector.py` (see docs/alerts.md): at 60 stories/hour per topic
they keep false alarms under one per topic per week while catching a 15% → 40% step in about
three quarters of an hour, which is close to the information-theoretic limit at that traffic.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationInfo, field_validator

SECRET_PREFIX = "whsec_"
ALL_ENTITIES = "*"
MAX_WATCHLIST_ENTRY = 64  # story_entities.entity
WATCHLIST_ENTRY = re.compile(r"[A-Z0-9][A-Z0-9.\-/&' ]*")


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


# The share test's parameters, which topic and entity alerts both have: one definition each,
# the defaults and bounds shared, the description saying what the setting means where it stands.


def _window(description: str) -> Any:
    return Field(3600.0, gt=0, description=description)


def _baseline() -> Any:
    return Field(86_400.0, gt=0, description="trailing baseline before the window (seconds)")


def _min_window_count(description: str) -> Any:
    return Field(20, ge=1, description=description)


def _fire_z(description: str) -> Any:
    return Field(3.5, gt=0, description=description)


def _min_share_increase(default: float, description: str) -> Any:
    return Field(default, ge=0, le=1, description=description)


def _top_stories() -> Any:
    return Field(10, ge=1, le=200, description="story ids kept with each alert")


class EntityAlertSettings(BaseModel):
    """`MONITOR_ALERTS__ENTITY__*`: the watchlist's two signals (docs/alerts.md, "Watchlist
    alerts"). Persistence, hysteresis (resolve_z) and cooldown are the topic detector's."""

    window_s: float = _window("recent window of an entity's stories (seconds)")
    baseline_s: float = _baseline()
    min_window_count: int = _min_window_count(
        "stories about the entity the window needs for the share signal"
    )
    fire_z: float = _fire_z("share signal: one-sided z of window vs baseline negative share")
    min_share_increase: float = _min_share_increase(
        0.10, "share signal: absolute rise of the negative share needed"
    )
    min_negative: int = Field(
        5, ge=1, description="volume signal: negative stories about the entity the window needs"
    )
    volume_fire_z: float = Field(
        3.5,
        gt=0,
        description="volume signal: the negative-binomial upper-tail p-value, as a one-sided z, "
        "that fires (3.5 = p 2.3e-4)",
    )
    min_rate_ratio: float = Field(
        3.0, ge=1, description="volume signal: window negatives must be this many times expected"
    )
    prior_negative_per_hour: float = Field(
        0.1, gt=0, description="volume signal: prior rate of negative stories about an entity"
    )
    prior_hours: float = Field(
        2.0, gt=0, description="volume signal: weight of that prior, in hours of baseline"
    )
    dispersion: float = Field(
        0.5,
        ge=0,
        le=5,
        description="volume signal: hour-to-hour variation (CV) of a name's rate allowed for; "
        "0 = Poisson",
    )
    top_stories: int = _top_stories()


class AlertSettings(BaseModel):
    # --- detector -------------------------------------------------------------------------
    interval_s: float = Field(30.0, gt=0, description="how often the spike detector runs")
    window_s: float = _window("recent window whose negative share is tested (seconds)")
    baseline_s: float = _baseline()
    min_window_count: int = _min_window_count("stories the window needs before a scope can fire")
    fire_z: float = _fire_z("one-sided z of window vs baseline negative share that fires")
    resolve_z: float = Field(
        1.5, description="z below which a firing alert counts towards resolving (hysteresis)"
    )
    min_share_increase: float = _min_share_increase(
        0.05, "absolute rise of the negative share also required to fire (big scopes)"
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
    top_stories: int = _top_stories()
    clock: Literal["wall", "data"] = Field(
        "wall",
        description="'now' for the detector: wall clock, or newest published_at (replays)",
    )
    # --- watchlist (entity alerts) ------------------------------------------------------
    watchlist: str = Field(
        "",
        description="entities (tickers) with watchlist alerts, comma-separated; * = every "
        "entity with enough stories; empty = off",
    )
    entity: EntityAlertSettings = EntityAlertSettings()
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

    @field_validator("entity")
    @classmethod
    def _entity_above_resolve_z(
        cls, entity: EntityAlertSettings, info: ValidationInfo
    ) -> EntityAlertSettings:
        resolve_z = info.data.get("resolve_z")
        low = min(entity.fire_z, entity.volume_fire_z)
        if resolve_z is not None and low <= resolve_z:
            raise ValueError(
                f"FIRE_Z and VOLUME_FIRE_Z ({low}) must be above MONITOR_ALERTS__RESOLVE_Z "
                f"({resolve_z}) for hysteresis"
            )
        return entity

    @field_validator("watchlist")
    @classmethod
    def _watchlist(cls, watchlist: str) -> str:
        entries = [e.strip().upper() for e in watchlist.split(",") if e.strip()]
        if ALL_ENTITIES in entries:
            if len(entries) > 1:
                raise ValueError("* (every entity) cannot be combined with tickers")
            return ALL_ENTITIES
        for entry in entries:
            if len(entry) > MAX_WATCHLIST_ENTRY or not WATCHLIST_ENTRY.fullmatch(entry):
                raise ValueError(f"{entry[:20]!r} is not a ticker (letters, digits, . - /)")
        return ",".join(dict.fromkeys(entries))

    def watched(self) -> frozenset[str] | None:
        """The watched entity keys (upper case); None for every entity (`*`); empty = off."""
        if self.watchlist == ALL_ENTITIES:
            return None
        return frozenset(e for e in self.watchlist.split(",") if e)

    @property
    def watchlist_enabled(self) -> bool:
        return bool(self.watchlist)
