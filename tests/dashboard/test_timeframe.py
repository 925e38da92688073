"""Time ranges and the display zone: URL query round trips, wall clock to UTC (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import timeframe

NOW = datetime(2025, 10, 1, 12, 0, tzinfo=UTC)


def test_a_preset_moves_with_the_clock_and_links_by_key() -> None:
    frame = timeframe.parse_query({"range": "7d"}, NOW)
    assert frame is not None and frame.moving
    assert (frame.start, frame.end) == (NOW - timedelta(days=7), NOW)
    assert frame.query() == {"range": "7d"}


def test_a_custom_range_is_absolute_utc_in_the_link() -> None:
    frame = timeframe.parse_query({"from": "2025-09-01T00:00Z", "to": "2025-09-08T06:30Z"})
    assert frame is not None and not frame.moving
    assert frame.start == datetime(2025, 9, 1, tzinfo=UTC)
    assert frame.query() == {"from": "2025-09-01T00:00Z", "to": "2025-09-08T06:30Z"}
    assert timeframe.parse_query(frame.query()) == frame
    # an offset in a hand-made link is honoured, not relabelled
    shifted = timeframe.parse_query({"from": "2025-09-01T02:00+02:00", "to": "2025-09-02T00:00Z"})
    assert shifted is not None and shifted.start == datetime(2025, 9, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"from": "2025-09-01T00:00Z"}, "needs both"),
        ({"from": "yesterday", "to": "2025-09-02T00:00Z"}, "is not a time"),
        ({"from": "2025-09-02T00:00Z", "to": "2025-09-01T00:00Z"}, "must be after"),
        ({"range": "2w"}, "unknown range"),
    ],
)
def test_a_bad_link_says_what_is_wrong(params: dict[str, str], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        timeframe.parse_query(params)


def test_no_range_in_the_link_is_none() -> None:
    assert timeframe.parse_query({"alert_id": "3"}) is None


def test_wall_clock_to_utc_across_dst() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert timeframe.to_utc(date(2025, 7, 1), time(14), paris) == datetime(
        2025, 7, 1, 12, tzinfo=UTC
    )
    assert timeframe.to_utc(date(2025, 1, 1), time(14), paris) == datetime(
        2025, 1, 1, 13, tzinfo=UTC
    )
    # 02:30 on 2025-10-26 happens twice in Paris: the first one (still UTC+2)
    assert timeframe.to_utc(date(2025, 10, 26), time(2, 30), paris) == datetime(
        2025, 10, 26, 0, 30, tzinfo=UTC
    )
    moment = datetime(2025, 7, 1, 12, tzinfo=UTC)
    assert timeframe.to_wall(moment, paris) == datetime(2025, 7, 1, 14)


def test_zone_names_and_24_hour_text() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    assert timeframe.zone_label(tokyo) == "Asia/Tokyo (UTC+09:00)"
    assert timeframe.zone_label(ZoneInfo("UTC")) == "UTC"
    assert (
        timeframe.wall_text(datetime(2025, 1, 1, 13, 5, tzinfo=UTC), tokyo)
        == "2025-01-01 22:05 JST"
    )
    custom = timeframe.absolute(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 2, tzinfo=UTC))
    assert custom.label(tokyo) == "2025-01-01 09:00 → 2025-01-02 09:00 (Asia/Tokyo (UTC+09:00))"
