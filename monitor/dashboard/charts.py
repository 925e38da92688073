"""Altair charts for the pages: built from DataFrames only (no I/O), honest about time and thin
data.

Time: Vega-Lite draws times in the browser's local zone unless told otherwise. Every chart here
takes wall-clock times of the display zone (`honest.Series` or `wall_times`), marks them UTC, and
uses `utc` scales and `utcFormat` labels, so the browser cannot shift them; axis labels use the
24-hour clock and the axis title names the zone. Tooltips show preformatted text, never a
browser-formatted date.

Thin data: a share is drawn only where a bucket holds enough stories (`honest.with_shares`);
the 95 % Wilson interval is a band around it; lines are drawn per run of buckets with a value
(`honest.segments`), so they break across gaps instead of joining points hours apart.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import altair as alt
import honest
import pandas as pd
import timeframe

NEGATIVE = "#d62728"
SMOOTH = "#7b1113"
VOLUME = "#9ecae1"
BASELINE = "#7f7f7f"
THIN = "#d9d9d9"
WINDOW = "#fdd49e"  # an alert's window, behind its share
HEIGHT = 260
# 24-hour labels; a tick at midnight shows the date instead.
LABEL_EXPR = (
    "utchours(datum.value) == 0 && utcminutes(datum.value) == 0"
    " ? utcFormat(datum.value, '%d %b') : utcFormat(datum.value, '%H:%M')"
)
SHARE_AXIS = alt.Axis(format="%", titleColor=NEGATIVE)


def time_x(field: str, zone: ZoneInfo, **scale: object) -> alt.X:
    """The x encoding of every time chart: UTC scale over display-zone wall times."""
    return alt.X(
        f"{field}:T",
        title=f"time ({timeframe.zone_label(zone)})",
        scale=alt.Scale(type="utc", **scale),
        axis=alt.Axis(labelExpr=LABEL_EXPR, labelOverlap=True, labelAngle=0, tickCount=8),
    )


def wall_times(times: pd.Series, zone: ZoneInfo) -> pd.Series:
    """UTC times as the display zone's wall clock, marked UTC so the browser keeps them."""
    return times.dt.tz_convert(zone).dt.tz_localize(None).dt.tz_localize("UTC")


def _chartable(frame: pd.DataFrame, width_s: int) -> pd.DataFrame:
    """Wall-time buckets marked UTC, the tooltip's 'when' text, and the run ids that break each
    measure's line at its gaps (`honest.segments`)."""
    fmt = "%Y-%m-%d %H:%M" if width_s < 86_400 else "%Y-%m-%d"
    end_fmt = "%H:%M" if width_s < 86_400 else "%Y-%m-%d"
    for column in ("negative_share", "smooth_share", "mean_score", "smooth_score"):
        frame = honest.segments(frame, column)
    return frame.assign(
        when=frame["bucket"].dt.strftime(fmt) + " – " + frame["bucket_end"].dt.strftime(end_fmt),
        bucket=frame["bucket"].dt.tz_localize("UTC"),
        bucket_end=frame["bucket_end"].dt.tz_localize("UTC"),
    )


def _tooltip(zone: ZoneInfo, *extra: alt.Tooltip) -> list[alt.Tooltip]:
    return [
        alt.Tooltip("when:N", title=f"time ({zone.key})"),
        alt.Tooltip("stories:Q", title="stories"),
        alt.Tooltip("negative:Q", title="negative"),
        alt.Tooltip("negative_share:Q", title="negative share", format=".1%"),
        alt.Tooltip("share_low:Q", title="95% interval from", format=".1%"),
        alt.Tooltip("share_high:Q", title="95% interval to", format=".1%"),
        *extra,
    ]


def _line(
    column: str, y: alt.Y, color: str, tooltip: list[alt.Tooltip], **mark: object
) -> alt.Chart:
    """`column` as a line per run of buckets that have a value (so it breaks at gaps), with
    a point on each bucket. Data comes from the enclosing chart, so it facets."""
    return (
        alt.Chart()
        .transform_filter(f"isValid(datum['{column}'])")
        .mark_line(color=color, point=alt.OverlayMarkDef(size=26, color=color), **mark)
        .encode(y=y, detail=f"{column}_run:N", tooltip=tooltip)
    )


def _share_layers(zone: ZoneInfo, *, smooth: bool, color: str = NEGATIVE) -> list[alt.Chart]:
    """Interval band, the share line broken at gaps, and the optional EWMA (dashed)."""
    share = alt.Scale(domain=[0, 1])
    band = (
        alt.Chart()
        .transform_filter("datum.stories > 0")
        .mark_area(color=color, opacity=0.13, interpolate="step-after")
        .encode(
            y=alt.Y("share_low:Q", scale=share, title="negative share", axis=SHARE_AXIS),
            y2="share_high:Q",
        )
    )
    layers = [
        band,
        _line(
            "negative_share",
            alt.Y("negative_share:Q", scale=share),
            color,
            _tooltip(zone),
            strokeWidth=2.2,
        ),
    ]
    if smooth:
        tip = [
            alt.Tooltip("when:N"),
            alt.Tooltip("smooth_share:Q", title="EWMA share", format=".1%"),
        ]
        layers.append(
            _line(
                "smooth_share",
                alt.Y("smooth_share:Q", scale=share),
                SMOOTH,
                tip,
                strokeDash=[5, 3],
                strokeWidth=1.6,
            )
        )
    return layers


def market_chart(series: honest.Series, *, smooth: bool = False) -> alt.LayerChart:
    """Volume bars behind the market's negative share: its interval band, the share where a
    bucket holds enough stories (gaps elsewhere), and the optional EWMA."""
    data = _chartable(series.frame, series.width_s)
    x = time_x("bucket", series.zone)
    bars = (
        alt.Chart()
        .mark_bar(color=VOLUME, opacity=0.55)
        .encode(
            x2="bucket_end:T",
            y=alt.Y(
                "stories:Q",
                title=f"stories per {series.width}",
                axis=alt.Axis(titleColor="#4a90c2", format="d", tickMinStep=1),
            ),
            y2=alt.datum(0),
            tooltip=_tooltip(series.zone),
        )
    )
    share = alt.layer(*_share_layers(series.zone, smooth=smooth))
    return (
        alt.layer(bars, share, data=data)
        .encode(x=x)
        .resolve_scale(y="independent")
        .properties(height=HEIGHT)
        .interactive(bind_y=False)
    )


def topic_heatmap(series: honest.Series) -> alt.LayerChart:
    """Negative share per topic and bucket, busiest topics on top; a cell with too few stories
    is grey ('too few'), not a colour that claims 0 % or 100 %."""
    data = _chartable(series.frame, series.width_s)
    order = data.groupby("topic")["stories"].sum().sort_values(ascending=False).index.tolist()
    x = time_x("bucket", series.zone)
    y = alt.Y("topic:N", sort=order, title=None, axis=alt.Axis(labelLimit=220))
    thin = (
        alt.Chart(data[data["thin"] & (data["stories"] > 0)])
        .mark_rect(color=THIN, stroke="white", strokeWidth=0.5)
        .encode(x=x, x2="bucket_end:T", y=y, tooltip=_tooltip(series.zone))
    )
    cells = (
        alt.Chart(data[~data["thin"]])
        .mark_rect(stroke="white", strokeWidth=0.5)
        .encode(
            x=x,
            x2="bucket_end:T",
            y=y,
            color=alt.Color(
                "negative_share:Q",
                title="negative share",
                scale=alt.Scale(scheme="redyellowgreen", domain=[0, 1], reverse=True),
                legend=alt.Legend(format="%", orient="top"),
            ),
            tooltip=_tooltip(series.zone),
        )
    )
    return alt.layer(thin, cells).properties(height={"step": 24})


def _score_line(title: str, when: alt.Tooltip, *, smooth: bool) -> alt.Chart:
    """The mean sentiment score (−1…+1, smoothed or not) as a `_line`, its axis titled `title`."""
    column = "smooth_score" if smooth else "mean_score"
    y = alt.Y(
        f"{column}:Q",
        title=title,
        axis=alt.Axis(format="+.1f"),
        scale=alt.Scale(domain=[-1, 1]),
    )
    tip = [
        when,
        alt.Tooltip("stories:Q"),
        alt.Tooltip(f"{column}:Q", title="mean score", format="+.2f"),
    ]
    return _line(column, y, "#1f77b4", tip, strokeWidth=2)


def topic_panels(series: honest.Series, measure: str, *, smooth: bool = False) -> alt.FacetChart:
    """One small panel per chosen topic (shared axes) instead of a tangle of lines: the share
    with its interval, or the mean score, each broken at gaps."""
    data = _chartable(series.frame, series.width_s)
    if measure == "negative_share":
        layers = _share_layers(series.zone, smooth=smooth)
    else:
        layers = [_score_line("mean sentiment score", alt.Tooltip("when:N"), smooth=smooth)]
    return (
        alt.layer(*layers, data=data)
        .encode(x=time_x("bucket", series.zone))
        .properties(height=130, width=330)
        .facet(facet=alt.Facet("topic:N", title=None), columns=2)
    )


def score_chart(series: honest.Series, *, smooth: bool = False) -> alt.Chart:
    """One series' mean sentiment score over time (−1…+1), broken at thin buckets, full width
    (the Company page's second chart, under `market_chart`'s share and volume)."""
    data = _chartable(series.frame, series.width_s)
    when = alt.Tooltip("when:N", title=f"time ({series.zone.key})")
    domain = [data["bucket"].min().isoformat(), data["bucket_end"].max().isoformat()]
    return (
        _score_line("mean score", when, smooth=smooth)
        .properties(data=data, height=180)
        .encode(x=time_x("bucket", series.zone, domain=domain))
    )


def alert_chart(
    series: honest.Series, *, window: tuple[datetime, datetime], baseline_share: float
) -> alt.LayerChart:
    """The scope's negative share around an alert: window shaded orange, baseline level dashed."""
    zone = series.zone
    data = _chartable(series.frame, series.width_s)
    domain = [data["bucket"].min().isoformat(), data["bucket_end"].max().isoformat()]
    shaded = pd.DataFrame({"start": [window[0]], "end": [window[1]], "what": ["alert window"]})
    for column in ("start", "end"):
        shaded[column] = wall_times(pd.to_datetime(shaded[column], utc=True), zone)
    shade = (
        alt.Chart(shaded)
        .mark_rect(color=WINDOW, opacity=0.35)
        .encode(x=time_x("start", zone, domain=domain), x2="end:T", tooltip=["what:N"])
    )
    level = pd.DataFrame([{"share": baseline_share, "what": "baseline share"}])
    rule = (
        alt.Chart(level)
        .mark_rule(color=BASELINE, strokeDash=[6, 4], strokeWidth=2)
        .encode(y="share:Q", tooltip=["what:N", alt.Tooltip("share:Q", format=".1%")])
    )
    share = alt.layer(*_share_layers(zone, smooth=False), data=data).encode(
        x=time_x("bucket", zone, domain=domain)
    )
    return alt.layer(shade, rule, share).properties(height=HEIGHT)


def throughput_chart(frame: pd.DataFrame, zone: ZoneInfo) -> alt.Chart:
    """Stories ingested per minute (`bucket` in UTC, shown in the display zone)."""
    data = frame.assign(
        when=frame["bucket"].dt.tz_convert(zone).dt.strftime("%Y-%m-%d %H:%M"),
        bucket=wall_times(frame["bucket"], zone),
    )
    return (
        alt.Chart(data)
        .mark_area(interpolate="step-after", line={"color": "#1f77b4"}, color="#c6dbef")
        .encode(
            x=time_x("bucket", zone),
            y=alt.Y("per_minute:Q", title="stories / min", axis=alt.Axis(tickMinStep=1)),
            tooltip=[
                alt.Tooltip("when:N", title=f"minute ({zone.key})"),
                alt.Tooltip("per_minute:Q", title="stories / min", format=".1f"),
            ],
        )
        .properties(height=220)
    )


def lag_chart(lag: dict[int, int]) -> alt.LayerChart:
    """Messages not yet committed, per partition: whole numbers on a scale that starts at 0 and
    reaches at least 1, so an all-caught-up group (lag 0) still has a readable axis; each bar
    is labelled with its count."""
    frame = pd.DataFrame({"partition": [f"partition {p}" for p in lag], "lag": list(lag.values())})
    top = max(1, int(frame["lag"].max()))
    base = alt.Chart(frame).encode(
        y=alt.Y("partition:N", title=None, sort=None, axis=alt.Axis(labelLimit=200)),
        x=alt.X(
            "lag:Q",
            title="messages behind",
            scale=alt.Scale(domain=[0, top], nice=True),
            axis=alt.Axis(format="~s", tickMinStep=1),
        ),
        tooltip=[alt.Tooltip("partition:N"), alt.Tooltip("lag:Q", title="messages behind")],
    )
    bars = base.mark_bar(color="#ff7f0e", cornerRadiusEnd=3)
    counts = base.mark_text(align="left", dx=4, color="#444").encode(
        text=alt.Text("lag:Q", format=",")
    )
    return alt.layer(bars, counts).properties(height={"step": 26})
