"""Altair charts for the pages: built from the query functions' DataFrames, no I/O here."""

from __future__ import annotations

from datetime import datetime, timedelta

import altair as alt
import pandas as pd

from monitor.store.queries import AlertRow

NEGATIVE = "#d62728"
VOLUME = "#9ecae1"
BASELINE = "#7f7f7f"
HEIGHT = 260


def _with_end(frame: pd.DataFrame, bucket_s: int) -> pd.DataFrame:
    frame = frame.copy()
    frame["bucket_end"] = frame["bucket"] + timedelta(seconds=bucket_s)
    return frame


def market_chart(market: pd.DataFrame, bucket_s: int) -> alt.LayerChart:
    """Volume bars behind the market's negative share and mean score: the day at a glance."""
    data = _with_end(market, bucket_s)
    base = alt.Chart(data).encode(x=alt.X("bucket:T", title=None))
    tooltip = [
        alt.Tooltip("bucket:T", title="from", format="%d %b %H:%M"),
        alt.Tooltip("stories:Q", title="stories"),
        alt.Tooltip("negative_share:Q", title="negative share", format=".1%"),
        alt.Tooltip("mean_score:Q", title="mean score", format="+.2f"),
    ]
    bars = (
        alt.Chart(data)
        .mark_bar(color=VOLUME, opacity=0.55)
        .encode(
            x="bucket:T",
            x2="bucket_end:T",
            y=alt.Y("stories:Q", title="stories per bucket", axis=alt.Axis(titleColor="#4a90c2")),
            tooltip=tooltip,
        )
    )
    share = base.mark_line(color=NEGATIVE, strokeWidth=2.5, point=True).encode(
        y=alt.Y(
            "negative_share:Q",
            title="negative share",
            axis=alt.Axis(format="%", titleColor=NEGATIVE),
            scale=alt.Scale(domain=[0, 1]),
        ),
        tooltip=tooltip,
    )
    return (
        alt.layer(bars, share)
        .resolve_scale(y="independent")
        .properties(height=HEIGHT)
        .interactive(bind_y=False)
    )


def topic_heatmap(index: pd.DataFrame, bucket_s: int) -> alt.Chart:
    """Negative share per topic and bucket; busiest topics on top, pale cells are thin."""
    data = _with_end(index, bucket_s)
    order = data.groupby("topic")["stories"].sum().sort_values(ascending=False).index.tolist()
    return (
        alt.Chart(data)
        .mark_rect(stroke="white", strokeWidth=0.5)
        .encode(
            x=alt.X("bucket:T", title=None),
            x2="bucket_end:T",
            y=alt.Y("topic:N", sort=order, title=None, axis=alt.Axis(labelLimit=220)),
            color=alt.Color(
                "negative_share:Q",
                title="negative share",
                scale=alt.Scale(scheme="redyellowgreen", domain=[0, 1], reverse=True),
                legend=alt.Legend(format="%", orient="top"),
            ),
            opacity=alt.Opacity("stories:Q", legend=None, scale=alt.Scale(range=[0.35, 1])),
            tooltip=[
                alt.Tooltip("topic:N"),
                alt.Tooltip("bucket:T", title="from", format="%d %b %H:%M"),
                alt.Tooltip("stories:Q"),
                alt.Tooltip("negative:Q"),
                alt.Tooltip("negative_share:Q", title="negative share", format=".1%"),
                alt.Tooltip("mean_score:Q", title="mean score", format="+.2f"),
            ],
        )
        .properties(height={"step": 24})
    )


def topic_lines(index: pd.DataFrame, measure: str) -> alt.Chart:
    """One line per chosen topic, of negative share or mean sentiment score."""
    title = "negative share" if measure == "negative_share" else "mean sentiment score"
    axis = alt.Axis(format="%") if measure == "negative_share" else alt.Axis(format="+.1f")
    domain = [0, 1] if measure == "negative_share" else [-1, 1]
    return (
        alt.Chart(index)
        .mark_line(point=alt.OverlayMarkDef(size=25), strokeWidth=2)
        .encode(
            x=alt.X("bucket:T", title=None),
            y=alt.Y(f"{measure}:Q", title=title, axis=axis, scale=alt.Scale(domain=domain)),
            color=alt.Color("topic:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=[
                "topic:N",
                alt.Tooltip("bucket:T", title="from", format="%d %b %H:%M"),
                "stories:Q",
                alt.Tooltip(f"{measure}:Q", title=title, format=".2f"),
            ],
        )
        .properties(height=HEIGHT)
        .interactive(bind_y=False)
    )


def alert_chart(
    index: pd.DataFrame, alert: AlertRow, start: datetime, end: datetime
) -> alt.LayerChart:
    """The scope's negative share around an alert: window shaded red, baseline level dashed."""
    span = alt.Scale(domain=[start.isoformat(), end.isoformat()])  # shared by the layers
    x = alt.X("bucket:T", title=None, scale=span)
    window = pd.DataFrame(
        [{"start": alert.window_start, "end": alert.window_end, "what": "alert window"}]
    )
    shade = (
        alt.Chart(window)
        .mark_rect(color=NEGATIVE, opacity=0.12)
        .encode(x=alt.X("start:T", scale=span), x2="end:T", tooltip=["what:N"])
    )
    level = pd.DataFrame([{"share": alert.baseline_share, "what": "baseline share"}])
    rule = (
        alt.Chart(level)
        .mark_rule(color=BASELINE, strokeDash=[6, 4], strokeWidth=2)
        .encode(y="share:Q", tooltip=["what:N", alt.Tooltip("share:Q", format=".1%")])
    )
    line = (
        alt.Chart(index)
        .mark_line(color=NEGATIVE, strokeWidth=2.5, point=True)
        .encode(
            x=x,
            y=alt.Y(
                "negative_share:Q",
                title="negative share",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
            ),
            tooltip=[
                alt.Tooltip("bucket:T", title="from", format="%d %b %H:%M"),
                "stories:Q",
                alt.Tooltip("negative_share:Q", title="negative share", format=".1%"),
            ],
        )
    )
    return alt.layer(shade, rule, line).properties(height=HEIGHT)


def throughput_chart(frame: pd.DataFrame) -> alt.Chart:
    """Stories ingested per minute."""
    return (
        alt.Chart(frame)
        .mark_area(
            interpolate="step-after",
            line={"color": "#1f77b4"},
            color=alt.Gradient(
                gradient="linear",
                stops=[
                    alt.GradientStop(color="white", offset=0),
                    alt.GradientStop(color="#1f77b4", offset=1),
                ],
                x1=1,
                x2=1,
                y1=1,
                y2=0,
            ),
        )
        .encode(
            x=alt.X("bucket:T", title=None),
            y=alt.Y("per_minute:Q", title="stories / min"),
            tooltip=[
                alt.Tooltip("bucket:T", title="minute", format="%d %b %H:%M"),
                alt.Tooltip("per_minute:Q", title="stories / min", format=".1f"),
            ],
        )
        .properties(height=220)
    )


def lag_chart(lag: dict[int, int]) -> alt.Chart:
    """Messages not yet committed, per partition."""
    frame = pd.DataFrame({"partition": list(lag), "lag": list(lag.values())})
    return (
        alt.Chart(frame)
        .mark_bar(color="#ff7f0e", cornerRadiusEnd=3)
        .encode(
            y=alt.Y("partition:O", title="partition"),
            x=alt.X("lag:Q", title="messages behind"),
            tooltip=["partition:O", "lag:Q"],
        )
        .properties(height=max(80, 28 * len(frame)))
    )
