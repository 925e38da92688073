"""The time widgets every page uses: the sidebar's display-zone picker and the range picker
(presets, or a custom absolute range from date and time pickers), both kept in the URL query so
a deep link opens the same view.

    zone = common.display_zone()                       # the zone chosen in the sidebar
    frame = timepick.range_picker("news", default="24h", allow_any=True)   # Timeframe | None
    frame.start, frame.end                             # aware UTC times for the queries

Custom ranges are entered as wall-clock times in the display zone and kept as absolute UTC
times: switching the zone shows the same period in the new zone's clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import available_timezones

import common
import streamlit as st
import timeframe
from streamlit.delta_generator import DeltaGenerator
from timeframe import CUSTOM, Timeframe

ANY_TIME = "Any time"
CUSTOM_STEP = timedelta(minutes=15)
COMMON_ZONES = (
    "UTC", "Europe/London", "Europe/Paris", "Europe/Zurich", "America/New_York",
    "America/Chicago", "Asia/Tokyo", "Asia/Hong_Kong", "Asia/Singapore", "Australia/Sydney",
)  # fmt: skip


def _zone_options(configured: str) -> list[str]:
    first = list(dict.fromkeys([configured, *COMMON_ZONES]))
    return first + sorted(available_timezones() - set(first))


def zone_picker() -> None:
    """The sidebar's 'Time zone' choice (default `MONITOR_DASHBOARD__TIMEZONE`, or `?tz=`)."""
    configured = common.settings().dashboard.timezone
    options = _zone_options(configured)
    if common.ZONE_KEY not in st.session_state:
        wanted = st.query_params.get("tz", configured)
        st.session_state[common.ZONE_KEY] = wanted if wanted in options else configured
    chosen = st.sidebar.selectbox(
        "Time zone",
        options,
        key=common.ZONE_KEY,
        help="Every chart axis, tooltip and table shows times in this zone (24-hour clock).",
    )
    if chosen != configured:
        st.query_params["tz"] = chosen
    elif "tz" in st.query_params:
        del st.query_params["tz"]
    st.sidebar.caption(f"Times in **{common.md(timeframe.zone_label(common.display_zone()))}**")


def range_picker(
    key: str,
    *,
    default: str = "24h",
    allow_any: bool = False,
    label: str = "Time range",
    presets: tuple[timeframe.Preset, ...] = timeframe.PRESETS,
    at: DeltaGenerator | None = None,
) -> Timeframe | None:
    """A preset or a custom range (None: 'Any time', when allowed); reads and writes the URL
    query (`range=`, or `from=`/`to=` in UTC). The choice goes in `at` (e.g. a column of the
    page's control row), a custom range's date and time pickers in a row below it."""
    options = [p.label for p in presets] + [CUSTOM] + ([ANY_TIME] if allow_any else [])
    choice_key = f"{key}_range"
    if choice_key not in st.session_state:
        _seed(key, presets, default, allow_any)
    choice = (at or st).selectbox(label, options, key=choice_key)
    if choice == ANY_TIME:
        _write_query({})
        return None
    if choice != CUSTOM:
        preset = next(p for p in presets if p.label == choice)
        frame = timeframe.from_preset(preset)
    else:
        frame = _custom(key)
    _write_query(frame.query())
    return frame


def _seed(key: str, presets: tuple[timeframe.Preset, ...], default: str, allow_any: bool) -> None:
    """The picker's first state: the URL's range when it names a valid one, else `default`."""
    params = {
        name: st.query_params[name] for name in ("range", "from", "to") if name in st.query_params
    }
    try:
        wanted = timeframe.parse_query(params)
    except ValueError as exc:
        st.warning(f"Ignoring the link's time range: {common.md(str(exc), 120)}", icon="🕒")
        wanted = None
    if wanted is not None and wanted.preset is not None and wanted.preset in presets:
        st.session_state[f"{key}_range"] = wanted.preset.label
        return
    if wanted is not None and wanted.preset is None:
        st.session_state[f"{key}_range"] = CUSTOM
        _set_custom(key, wanted)
        return
    chosen = timeframe.BY_KEY.get(default)
    if chosen is None and allow_any:
        st.session_state[f"{key}_range"] = ANY_TIME
        return
    preset = chosen or presets[2]
    st.session_state[f"{key}_range"] = preset.label
    _set_custom(key, timeframe.from_preset(preset, _now_floor()))


def _now_floor() -> datetime:
    now = datetime.now(UTC)
    return now.replace(minute=now.minute // 15 * 15, second=0, microsecond=0) + CUSTOM_STEP


def _set_custom(key: str, frame: Timeframe) -> None:
    """Put an absolute range into the custom inputs, as wall time of the display zone."""
    zone = common.display_zone()
    start, end = timeframe.to_wall(frame.start, zone), timeframe.to_wall(frame.end, zone)
    st.session_state[f"{key}_from_day"] = start.date()
    st.session_state[f"{key}_from_time"] = start.time()
    st.session_state[f"{key}_to_day"] = end.date()
    st.session_state[f"{key}_to_time"] = end.time()
    st.session_state[f"{key}_custom"] = (frame.start, frame.end, zone.key)


def _custom(key: str) -> Timeframe:
    """The date and time pickers of a custom range; kept absolute across a zone change."""
    zone = common.display_zone()
    kept = st.session_state.get(f"{key}_custom")
    if kept is None:
        _set_custom(key, timeframe.from_preset(timeframe.BY_KEY["24h"], _now_floor()))
    elif kept[2] != zone.key:  # the zone changed: the same period, in the new zone's clock
        _set_custom(key, Timeframe(kept[0], kept[1]))
    cols = st.columns(4)
    day_from = cols[0].date_input("From (date)", key=f"{key}_from_day", format="YYYY-MM-DD")
    time_from = cols[1].time_input("From (time)", key=f"{key}_from_time", step=CUSTOM_STEP)
    day_to = cols[2].date_input("To (date)", key=f"{key}_to_day", format="YYYY-MM-DD")
    time_to = cols[3].time_input("To (time)", key=f"{key}_to_time", step=CUSTOM_STEP)
    start = timeframe.to_utc(day_from, time_from or time(0), zone)
    end = timeframe.to_utc(day_to, time_to or time(0), zone)
    try:
        frame = timeframe.absolute(start, end)
    except ValueError as exc:
        st.warning(f"{exc}: showing the hour after the start instead.", icon="🕒")
        frame = timeframe.absolute(start, start + timedelta(hours=1))
    st.session_state[f"{key}_custom"] = (frame.start, frame.end, zone.key)
    st.caption(f"{frame.label(zone)}")
    return frame


def _write_query(wanted: dict[str, str]) -> None:
    """Make the URL's range part say `wanted` (other parameters, e.g. alert_id, stay)."""
    for name in ("range", "from", "to"):
        if name in st.query_params and name not in wanted:
            del st.query_params[name]
    for name, value in wanted.items():
        if st.query_params.get(name) != value:
            st.query_params[name] = value


def refresh_every(frame: Timeframe | None) -> float | bool | None:
    """How often a page over `frame` re-reads: every refresh period for a moving range of up to
    a week, every minute past that, never for a range that has ended."""
    if frame is None:
        return True
    if not frame.moving:
        return True if frame.end > datetime.now(UTC) else None
    return True if frame.span <= timedelta(days=7) else 60.0
