"""`MONITOR_DASHBOARD__*`: where the Streamlit dashboard listens, how often it refreshes, and
how it shows time and thin data."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; ValueError naming it when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name[:60]!r}: use an IANA name such as UTC, Europe/London "
            "or America/New_York"
        ) from None


class DashboardSettings(BaseModel):
    url: str = Field("http://127.0.0.1:8501", description="public URL, used in alert links")
    host: str = "127.0.0.1"
    port: int = Field(8501, ge=0, le=65_535)
    refresh_s: float = Field(5.0, gt=0, description="live refresh period")
    timezone: str = Field(
        "UTC",
        description="display time zone of every chart axis, tooltip and table (IANA name, e.g. "
        "Europe/London); each viewer can change it in the sidebar",
    )
    min_bucket_stories: int = Field(
        5,
        ge=1,
        description="a time bucket (or topic cell) with fewer stories shows no share: a gap, "
        "never a 0 % or 100 % drawn from a handful",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        zone(name)
        return name
