"""Time ranges and the display time zone, without Streamlit: presets ("last 24 hours", moving
with the clock) and absolute ranges, how they read from and write to the URL query, and how a
wall-clock time in the display zone becomes UTC.

Every time the database holds is UTC. The dashboard shows all of them in ONE display zone
(`MONITOR_DASHBOARD__TIMEZONE`, or the viewer's sidebar choice); `common.py` holds the widgets.
A deep link names its range in UTC (`?from=2025-10-01T00:00Z&to=2025-10-08T00:00Z`, or
`?range=7d`), so it shows the same period to every viewer whatever their zone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

QUERY_FORMAT = "%Y-%m-%dT%H:%MZ"


@dataclass(frozen=True)
class Preset:
    key: str  # in the URL: ?range=24h
    label: str
    span: timedelta


PRESETS: tuple[Preset, ...] = (
    Preset("1h", "Last hour", timedelta(hours=1)),
    Preset("6h", "Last 6 hours", timedelta(hours=6)),
    Preset("24h", "Last 24 hours", timedelta(days=1)),
    Preset("3d", "Last 3 days", timedelta(days=3)),
    Preset("7d", "Last 7 days", timedelta(days=7)),
    Preset("30d", "Last 30 days", timedelta(days=30)),
    Preset("90d", "Last 90 days", timedelta(days=90)),
    Preset("1y", "Last 365 days", timedelta(days=365)),
)
BY_KEY = {p.key: p for p in PRESETS}
CUSTOM = "Custom range…"


@dataclass(frozen=True)
class Timeframe:
    """[start, end) in UTC; `preset` is set for a range that moves with the clock."""

    start: datetime
    end: datetime
    preset: Preset | None = None

    @property
    def span(self) -> timedelta:
        return self.end - self.start

    @property
    def moving(self) -> bool:
        return self.preset is not None

    def label(self, zone: ZoneInfo) -> str:
        if self.preset is not None:
            return self.preset.label.lower()
        fmt = "%Y-%m-%d %H:%M"
        start, end = self.start.astimezone(zone), self.end.astimezone(zone)
        return f"{start:{fmt}} → {end:{fmt}} ({zone_label(zone, self.start)})"

    def query(self) -> dict[str, str]:
        """The URL query that reproduces this range."""
        if self.preset is not None:
            return {"range": self.preset.key}
        return {"from": self.start.strftime(QUERY_FORMAT), "to": self.end.strftime(QUERY_FORMAT)}


def from_preset(preset: Preset, now: datetime | None = None) -> Timeframe:
    end = now or datetime.now(UTC)
    return Timeframe(end - preset.span, end, preset)


def absolute(start: datetime, end: datetime) -> Timeframe:
    """A fixed range; ValueError unless it is a real interval."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        raise ValueError("the end of the range must be after its start")
    return Timeframe(start, end)


def parse_query(params: Mapping[str, str], now: datetime | None = None) -> Timeframe | None:
    """The range a URL names (`range=KEY`, or `from`/`to` in UTC); None when it names none.
    ValueError with a readable reason when it names one badly."""
    if "from" in params or "to" in params:
        try:
            start = _parse_utc(params["from"])
            end = _parse_utc(params["to"])
        except KeyError as missing:
            raise ValueError(f"a custom range needs both from= and to= (no {missing})") from None
        return absolute(start, end)
    key = params.get("range")
    if key is None:
        return None
    if key not in BY_KEY:
        raise ValueError(f"unknown range {key[:20]!r}; one of {', '.join(BY_KEY)}")
    return from_preset(BY_KEY[key], now)


def _parse_utc(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text[:40]!r} is not a time like 2025-10-01T00:00Z") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_utc(day: date, clock: time, zone: ZoneInfo) -> datetime:
    """A wall-clock date and time in `zone` as UTC. A time that occurs twice (the hour a DST
    change repeats) is its first occurrence; one that never occurs (the hour skipped) reads
    with the offset before the change, i.e. as the same distance past the jump (PEP 495)."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)


def to_wall(moment: datetime, zone: ZoneInfo) -> datetime:
    """A UTC time as the naive wall-clock time of `zone`."""
    return moment.astimezone(zone).replace(tzinfo=None)


def zone_label(zone: ZoneInfo, at: datetime | None = None) -> str:
    """'Europe/Paris (UTC+01:00)': the zone named, and its offset now (or at `at`)."""
    offset = (at or datetime.now(UTC)).astimezone(zone).strftime("%z")
    name = str(zone.key)
    if name == "UTC":
        return name
    return f"{name} (UTC{offset[:3]}:{offset[3:]})"


def wall_text(moment: datetime, zone: ZoneInfo, *, seconds: bool = False) -> str:
    """A time in `zone`, 24-hour clock, with the zone's abbreviation: '2025-10-01 14:05 CEST'."""
    local = moment.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")
