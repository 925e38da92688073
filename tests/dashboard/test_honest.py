"""Honest series: bucket sizing, display-zone buckets, gaps, Wilson intervals, EWMA (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import honest
import numpy as np
import pandas as pd
import pytest

UTC_ZONE = ZoneInfo("UTC")


def index(rows: list[tuple[str, str, int, int]]) -> pd.DataFrame:
    """(UTC bucket start, topic, stories, negative) rows as a sentiment index."""
    frame = pd.DataFrame(rows, columns=["bucket", "topic", "stories", "negative"])
    frame["bucket"] = pd.to_datetime(frame["bucket"], utc=True)
    frame["score_sum"] = -frame["negative"].astype(float)
    return frame


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        (timedelta(hours=1), 60),
        (timedelta(hours=6), 300),
        (timedelta(hours=24), 900),
        (timedelta(days=3), 3600),  # past a day: hourly, the rollup's grain
        (timedelta(days=365), 3600),
    ],
)
def test_query_bucket_follows_the_span(span: timedelta, expected: int) -> None:
    assert honest.query_bucket_s(span) == expected


def test_display_bucket_caps_points_then_coarsens_for_volume() -> None:
    day = timedelta(days=1)
    busy = honest.display_bucket_s(day, 100_000, base_s=900, min_stories=5)
    assert busy == 900  # 96 buckets of ~1,000 stories: fine as asked
    thin = honest.display_bucket_s(day, 200, base_s=900, min_stories=5)
    assert thin == 3600  # ~8 a bucket at 1 h (≥ 4 × 5 wanted, but 2 h would leave 12 points)
    year = honest.display_bucket_s(timedelta(days=365), 10**6, base_s=3600, min_stories=5)
    assert year == 7 * 86_400  # 365 daily buckets are too many to read
    assert honest.width_label(7 * 86_400) == "1 week"
    assert honest.width_label(1800) == "30 min"


def test_day_buckets_start_at_the_zones_midnight_across_dst() -> None:
    # Europe/Paris leaves summer time on 2025-10-26: that day has 25 hours.
    zone = ZoneInfo("Europe/Paris")
    frame = index(
        [
            ("2025-10-25T21:30Z", "Oil", 4, 1),  # 23:30 on the 25th in Paris (UTC+2)
            ("2025-10-25T22:30Z", "Oil", 6, 3),  # 00:30 on the 26th (UTC+2)
            ("2025-10-26T22:30Z", "Oil", 10, 5),  # 23:30 on the 26th (UTC+1)
            ("2025-10-26T23:30Z", "Oil", 1, 1),  # 00:30 on the 27th (UTC+1)
        ]
    )
    days = honest.to_display(frame, width_s=86_400, zone=zone)
    assert days["bucket"].dt.strftime("%Y-%m-%d %H:%M").tolist() == [
        "2025-10-25 00:00",
        "2025-10-26 00:00",
        "2025-10-27 00:00",
    ]
    assert days["stories"].tolist() == [4, 16, 1]  # counts summed, none lost to the long day


def test_hour_buckets_show_the_zones_wall_clock() -> None:
    frame = index([("2025-01-10T03:00Z", "Oil", 7, 2)])
    tokyo = honest.to_display(frame, width_s=3600, zone=ZoneInfo("Asia/Tokyo"))
    assert tokyo["bucket"].iloc[0] == pd.Timestamp("2025-01-10 12:00")


def test_wilson_interval_matches_known_values() -> None:
    low, high = honest.wilson(pd.Series([0, 5, 1]), pd.Series([10, 10, 0]))
    assert low.iloc[0] == pytest.approx(0.0, abs=1e-12)
    assert high.iloc[0] == pytest.approx(0.2775, abs=1e-4)  # 0 of 10 is not "0 %"
    assert low.iloc[1] == pytest.approx(0.2366, abs=1e-4)
    assert high.iloc[1] == pytest.approx(0.7634, abs=1e-4)
    assert np.isnan(low.iloc[2]) and np.isnan(high.iloc[2])  # no stories, no interval


def test_thin_and_empty_buckets_are_missing_not_zero() -> None:
    start = pd.Timestamp("2025-01-10T00:00Z")
    frame = index(
        [
            ("2025-01-10T00:00Z", "Oil", 20, 4),
            ("2025-01-10T01:00Z", "Oil", 2, 2),  # 2 of 2 negative: not "100 %"
            ("2025-01-10T03:00Z", "Oil", 30, 3),  # 02:00 has nothing at all
        ]
    )
    series = honest.series(
        frame,
        start=start,
        end=start + pd.Timedelta(hours=4),
        base_s=3600,
        zone=UTC_ZONE,
        min_stories=5,
        width_s=3600,
    )
    shares = series.frame["negative_share"].tolist()
    assert shares[0] == pytest.approx(0.2) and shares[3] == pytest.approx(0.1)
    assert np.isnan(shares[1]) and np.isnan(shares[2])
    assert series.frame["stories"].tolist() == [20, 2, 0, 30]  # the empty hour is a bucket
    assert series.frame["thin"].tolist() == [False, True, True, False]
    assert not np.isnan(series.frame["share_low"].iloc[1])  # the thin one keeps its interval
    runs = honest.segments(series.frame, "negative_share")["negative_share_run"].tolist()
    assert runs[0] != runs[3]  # the line breaks across the gap


def test_ewma_weighs_busy_buckets_and_goes_missing_when_thin() -> None:
    buckets = pd.date_range("2025-01-10T00:00Z", periods=4, freq="h")
    frame = pd.DataFrame(
        {
            "bucket": buckets,
            "topic": "Oil",
            "stories": [100, 1, 0, 0],
            "negative": [10, 1, 0, 0],
            "score_sum": 0.0,
        }
    )
    smooth = honest.smoothed(frame, halflife=1.0, min_stories=5)
    # half-life 1 bucket: the previous bucket weighs 0.5, so a single story cannot pull it to 1
    assert smooth["smooth_share"].iloc[1] == pytest.approx((0.5 * 10 + 1) / (0.5 * 100 + 1))
    # weight halves per bucket: 100 stories → 50 → 25 → 12.5; still above 5 at the end
    assert not np.isnan(smooth["smooth_share"].iloc[3])
    tiny = frame.assign(stories=[6, 0, 0, 0], negative=[1, 0, 0, 0])
    faded = honest.smoothed(tiny, halflife=1.0, min_stories=5)["smooth_share"]
    assert not np.isnan(faded.iloc[0]) and np.isnan(faded.iloc[1])  # 3 effective stories


def test_series_covers_the_whole_range_in_the_display_zone() -> None:
    end = pd.Timestamp(datetime(2025, 3, 10, 12, 0, tzinfo=UTC))
    start = end - pd.Timedelta(hours=6)
    frame = index([("2025-03-10T08:00Z", "Market", 50, 10)])
    series = honest.series(
        frame, start=start, end=end, base_s=300, zone=ZoneInfo("America/New_York"), min_stories=5
    )
    assert series.frame["bucket"].iloc[0] <= pd.Timestamp("2025-03-10 02:00")  # 06:00Z in NY
    assert series.frame["bucket_end"].iloc[-1] >= pd.Timestamp("2025-03-10 08:00")
    assert int(series.frame["stories"].sum()) == 50
