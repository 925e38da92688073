"""The message contract's time range (README "Message contract")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field, field_validator


class ContractSettings(BaseModel):
    """The message contract's time range: what `published_at` (or, without one, the record's
    Kafka timestamp) may be. Stories outside it are dead-lettered, so the rollup, the detector
    and the dashboard only ever see plausible times."""

    earliest_published_at: datetime = Field(
        datetime(1990, 1, 1, tzinfo=UTC), description="oldest published_at accepted (RFC 3339)"
    )
    max_future_s: float = Field(
        86_400.0, ge=0, le=366 * 86_400, description="how far past now published_at may be"
    )

    @field_validator("earliest_published_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("needs a UTC offset, e.g. 1990-01-01T00:00:00Z")
        return value.astimezone(UTC)

    def published_window(self, now: datetime) -> tuple[datetime, datetime]:
        """[earliest, latest] accepted at `now`."""
        return self.earliest_published_at, now + timedelta(seconds=self.max_future_s)
