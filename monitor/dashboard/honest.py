"""Honest time series, without Streamlit or Altair: buckets sized to the range and the volume,
shown in the display time zone, thin buckets drawn as missing (with their Wilson interval), lines
broken across gaps, and an optional smoothed index (EWMA).

The input is a sentiment index (`monitor.store.queries`: bucket (UTC), topic, stories, negative,
score_sum per query bucket); every step re-aggregates counts, never averages shares, so a
coarser bucket is exact. `series()` is the one call a page makes; the rest are its steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

# Widths a chart may use; each divides the next larger ones that are under a day, so wall-clock
# buckets of an hour or more start on the display zone's hours and days.
LADDER_S = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 7 * 86_400)
QUERY_MAX_S = 3600  # the database is asked for at most hourly buckets (the rollup's grain)
MAX_POINTS = 150  # more buckets than this are unreadable
MIN_POINTS = 12  # coarsening for volume stops before a chart has fewer than this
Z_95 = 1.959964
COUNTS = ["stories", "negative", "score_sum"]


def query_bucket_s(span: timedelta) -> int:
    """The bucket to ask the database for: the finest that keeps the rows few; hourly past a
    day, so those ranges read the hourly rollup (`queries.overview_index`)."""
    if span > timedelta(days=1):
        return QUERY_MAX_S
    return next(w for w in LADDER_S if w >= QUERY_MAX_S or span.total_seconds() / w <= MAX_POINTS)


def display_bucket_s(span: timedelta, stories: int, *, base_s: int, min_stories: int) -> int:
    """The width to draw: no more than MAX_POINTS buckets, then coarser while a bucket would
    hold fewer than 4 × `min_stories` stories on average (and the chart keeps MIN_POINTS)."""
    seconds = span.total_seconds()
    candidates = [w for w in LADDER_S if w >= base_s]
    width = next((w for w in candidates if seconds / w <= MAX_POINTS), candidates[-1])
    for coarser in (w for w in candidates if w > width):
        if stories / max(1.0, seconds / width) >= 4 * min_stories or seconds / coarser < MIN_POINTS:
            break
        width = coarser
    return width


def width_label(width_s: int) -> str:
    for size, unit in ((7 * 86_400, "week"), (86_400, "day"), (3600, "hour"), (60, "min")):
        if width_s % size == 0:
            count = width_s // size
            return f"{count} {unit}" + ("s" if count > 1 and unit != "min" else "")
    return f"{width_s} s"


def to_display(index: pd.DataFrame, *, width_s: int, zone: ZoneInfo) -> pd.DataFrame:
    """Re-aggregate an index (UTC buckets) into `width_s` buckets of wall-clock time in `zone`:
    column `bucket` becomes a naive wall time, days start at the zone's midnight, weeks on
    Mondays. Exact: counts are summed."""
    wall = index["bucket"].dt.tz_convert(zone).dt.tz_localize(None)
    frame = index.assign(bucket=floor_wall(wall, width_s))
    return frame.groupby(["bucket", "topic"], as_index=False)[COUNTS].sum()


def floor_wall(wall: pd.Series, width_s: int) -> pd.Series:
    if width_s % 86_400:
        return wall.dt.floor(f"{width_s}s")
    days = wall.dt.normalize()
    if width_s == 7 * 86_400:
        return days - pd.to_timedelta(days.dt.weekday, unit="D")
    return days


def grid(start: pd.Timestamp, end: pd.Timestamp, width_s: int) -> pd.DatetimeIndex:
    """Every bucket start from the one holding `start` to the one holding `end` (wall time)."""
    first = floor_wall(pd.Series([start]), width_s).iloc[0]
    last = floor_wall(pd.Series([end]), width_s).iloc[0]
    step = pd.Timedelta(days=7) if width_s == 7 * 86_400 else pd.Timedelta(seconds=width_s)
    return pd.date_range(first, last, freq=step)


def complete(frame: pd.DataFrame, buckets: pd.DatetimeIndex, topics: list[str]) -> pd.DataFrame:
    """Every (bucket, topic) of the grid, with zero counts where nothing was published: an empty
    bucket is a gap in a line, not a line drawn straight past it."""
    full = pd.MultiIndex.from_product([buckets, topics], names=["bucket", "topic"])
    summed = frame.groupby(["bucket", "topic"])[COUNTS].sum()
    return summed.reindex(full, fill_value=0).reset_index()


def wilson(negative: pd.Series, stories: pd.Series, z: float = Z_95) -> tuple[pd.Series, pd.Series]:
    """Wilson score interval of negative/stories (NaN where there are no stories)."""
    n = stories.astype("float64").where(stories > 0)
    p = negative / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (centre - half).clip(lower=0), (centre + half).clip(upper=1)


def with_shares(frame: pd.DataFrame, *, min_stories: int) -> pd.DataFrame:
    """Negative share and mean score where a bucket holds at least `min_stories` (NaN where it
    holds fewer: drawn as missing), the 95 % Wilson interval wherever it holds any."""
    enough = frame["stories"] >= min_stories
    low, high = wilson(frame["negative"], frame["stories"])
    return frame.assign(
        negative_share=(frame["negative"] / frame["stories"]).where(enough),
        mean_score=(frame["score_sum"] / frame["stories"]).where(enough),
        share_low=low,
        share_high=high,
        thin=~enough,
    )


def smoothed(frame: pd.DataFrame, *, halflife: float, min_stories: int) -> pd.DataFrame:
    """An exponentially weighted negative share per topic, over the complete grid: EWMA of
    negatives over EWMA of stories (so a busy bucket weighs more than a thin one). Missing where
    the weighted story count is under `min_stories`."""
    parts = []
    for _, rows in frame.sort_values("bucket").groupby("topic", sort=False):
        weighted = rows[["negative", "stories", "score_sum"]].ewm(halflife=halflife).sum()
        enough = weighted["stories"] >= min_stories
        parts.append(
            rows.assign(
                smooth_share=(weighted["negative"] / weighted["stories"]).where(enough),
                smooth_score=(weighted["score_sum"] / weighted["stories"]).where(enough),
            )
        )
    if not parts:
        return frame.assign(smooth_share=np.nan, smooth_score=np.nan)
    return pd.concat(parts, ignore_index=True)


def segments(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """`frame` with `<column>_run`: an id shared by a run of consecutive buckets of one topic
    that have a value in `column`. A line drawn per run (only over rows with a value) breaks at
    every gap instead of joining points hours apart."""
    ordered = frame.sort_values(["topic", "bucket"])
    breaks = ordered[column].isna().groupby(ordered["topic"]).cumsum()
    return ordered.assign(
        **{f"{column}_run": ordered["topic"].astype(str) + "#" + breaks.astype(str)}
    )


@dataclass(frozen=True)
class Series:
    """What a chart draws: complete buckets in wall time, with shares, intervals and smoothing."""

    frame: pd.DataFrame  # bucket (naive wall time), bucket_end, topic, counts, shares, interval
    width_s: int
    zone: ZoneInfo

    @property
    def width(self) -> str:
        return width_label(self.width_s)


def series(
    index: pd.DataFrame,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    base_s: int,
    zone: ZoneInfo,
    min_stories: int,
    topics: list[str] | None = None,
    width_s: int | None = None,
    halflife: float = 3.0,
) -> Series:
    """The index re-bucketed for display: sized to the range and volume (unless `width_s`),
    every bucket of the range present, thin ones without a share, EWMA alongside."""
    span = (end - start).to_pytimedelta()
    if width_s is None:
        width_s = display_bucket_s(
            span, int(index["stories"].sum()), base_s=base_s, min_stories=min_stories
        )
    names = topics if topics is not None else sorted(index["topic"].unique().tolist())
    wall_start = start.tz_convert(zone).tz_localize(None)
    wall_end = (end - pd.Timedelta(microseconds=1)).tz_convert(zone).tz_localize(None)
    frame = complete(
        to_display(index, width_s=width_s, zone=zone),
        grid(wall_start, wall_end, width_s),
        names,
    )
    frame = smoothed(
        with_shares(frame, min_stories=min_stories), halflife=halflife, min_stories=min_stories
    )
    step = pd.Timedelta(days=7) if width_s == 7 * 86_400 else pd.Timedelta(seconds=width_s)
    frame["bucket_end"] = frame["bucket"] + step
    return Series(frame.sort_values(["bucket", "topic"], ignore_index=True), width_s, zone)
