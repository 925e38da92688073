"""Overview: alerts firing now, the market's sentiment, and every topic's, over a time range."""

from __future__ import annotations

import html

import charts
import common
import companies
import honest
import pandas as pd
import streamlit as st
import timepick

from monitor.alerts import silences
from monitor.nlp.labels import TOPICS
from monitor.store import queries

st.title("📈 Market sentiment")

controls = st.columns([2, 2, 2, 3], vertical_alignment="bottom")
frame = timepick.range_picker("overview", default="24h", at=controls[0])
assert frame is not None  # no "Any time" here
measure_label = controls[1].radio(
    "Topic measure", ["Negative share", "Mean score"], horizontal=True, key="overview_measure"
)
smooth = controls[2].toggle(
    "Smoothed (EWMA)",
    key="overview_smooth",
    help="An exponentially weighted share (half-life 3 buckets): negatives over stories, so a "
    "busy bucket weighs more than a thin one. Missing where the weighted count is too small.",
)
measure = "negative_share" if measure_label == "Negative share" else "mean_score"

MARKET_KPIS = ("Stories", "Negative share", "Mean sentiment score", "Alerts firing")


def firing_banner(alerts: list[queries.AlertRow], held: list[silences.SilenceRow]) -> None:
    """Firing alerts first and loud: they are why someone opens the dashboard."""
    if not alerts:
        st.success("No alerts firing.", icon="✅")
        return
    for alert in alerts:
        who = alert.acknowledged_by
        ack = f" · acknowledged by {common.md(who)}" if who else ""
        silence = silences.silencing(held, alert.scope, alert.scope_kind)
        muted = f" · 🔕 silenced until {common.fmt_time(silence.ends_at)}" if silence else ""
        with st.container(border=True):
            left, right = st.columns([6, 1], vertical_alignment="center")
            left.markdown(
                f"🚨 **{common.md(alert.label)}** — negative share "
                f"**{alert.observed_share:.0%}** vs "
                f"baseline {alert.baseline_share:.0%} ({alert.window_negative}/"
                f"{alert.window_count} stories, z = {alert.statistic:.1f}) · firing since "
                f"{common.ago(alert.opened_at)}{ack}{muted}"
            )
            right.page_link(
                "views/alerts.py",
                label="Open",
                icon="🔎",
                query_params={"alert_id": str(alert.id)},
            )


def bucket_table(series: honest.Series) -> None:
    """The numbers behind the market chart, one row per bucket, in the display zone."""
    zone = series.zone.key
    rows = []
    for row in series.frame.itertuples():
        share = "—" if pd.isna(row.negative_share) else f"{row.negative_share:.1%}"
        interval = "—" if pd.isna(row.share_low) else f"{row.share_low:.0%}–{row.share_high:.0%}"
        rows.append(
            f"<tr><td>{row.bucket:%Y-%m-%d %H:%M}</td><td>{row.stories}</td>"
            f"<td>{row.negative}</td><td>{share}</td><td>{interval}</td></tr>"
        )
    common.html_table(
        [f"bucket start ({html.escape(zone)})", "stories", "negative", "share", "95% interval"],
        rows,
    )


@common.live
def alerts_now() -> None:
    with common.session() as db:
        firing = queries.firing_alerts(db)
        held = silences.active_silences(db)
    firing_banner(firing, held)


def top_movers() -> None:
    """Companies whose sentiment moved most in the range against their own week before it."""
    with common.session() as db:
        movers = queries.top_movers(db, now=frame.end, window=frame.span, limit=10)
    st.subheader("Top movers")
    st.caption(
        "Companies whose negative share or mean score (towards them) moved most in the range "
        "against the 7 days before it, with at least 5 stories in each; baseline in brackets"
    )
    if movers.empty:
        st.caption("No company has enough stories both in the range and in its baseline.")
    else:
        companies.movers_table(movers, frame.query())


@common.live(every=timepick.refresh_every(frame))
def render() -> None:
    zone = common.display_zone()
    index, base_s = common.sentiment_index(frame)
    if index.empty:
        st.info(
            f"No classified stories in the {common.md(frame.label(zone))}. Stories appear here "
            "as `monitor consume` classifies them (or `monitor import` backfills them).",
            icon="📭",
        )
        return
    with common.session() as db:
        firing = len(queries.firing_alerts(db))
    market_index = queries.market_index(index)
    common.kpis(market_index, firing, MARKET_KPIS)

    market = common.honest_series(market_index, frame, base_s, topics=["Market"])
    st.subheader("Market")
    st.caption(
        f"Buckets of {market.width} · a bucket with fewer than "
        f"{common.settings().dashboard.min_bucket_stories} stories shows no share (a gap); the "
        "band is the 95% Wilson interval"
    )
    st.altair_chart(charts.market_chart(market, smooth=smooth), width="stretch")
    with st.expander("Numbers behind the market chart"):
        bucket_table(market)
    top_movers()

    by_volume = index.groupby("topic")["stories"].sum().sort_values(ascending=False)
    # A topic holds a fraction of the market's stories: its buckets are sized to its volume.
    topic_width = honest.display_bucket_s(
        frame.span,
        int(by_volume.mean()),
        base_s=base_s,
        min_stories=common.settings().dashboard.min_bucket_stories,
    )
    topics = common.honest_series(
        index, frame, base_s, topics=by_volume.index.tolist(), width_s=topic_width
    )
    st.subheader("Negative share by topic")
    st.caption(
        f"{topics.width} buckets (sized to a typical topic's volume) · grey: too few stories"
    )
    st.altair_chart(charts.topic_heatmap(topics), width="stretch")

    # Every known topic stays an option, so a live refresh never invalidates a selection.
    options = by_volume.index.tolist() + [t for t in TOPICS if t not in by_volume.index]
    chosen = st.multiselect(
        "Topics to compare", options, default=by_volume.index[:4].tolist(), key="overview_topics"
    )
    if chosen:
        panels = honest.Series(
            topics.frame[topics.frame["topic"].isin(chosen)], topics.width_s, topics.zone
        )
        st.altair_chart(charts.topic_panels(panels, measure, smooth=smooth))

    table = (
        index.groupby("topic")[["stories", "negative", "score_sum"]]
        .sum()
        .assign(
            negative_share=lambda f: f["negative"] / f["stories"],
            mean_score=lambda f: f["score_sum"] / f["stories"],
        )
        .sort_values("stories", ascending=False)
        .drop(columns="score_sum")
    )
    st.markdown("**Topics in range:** " + ", ".join(common.md(t) for t in table.index[:10]))
    st.dataframe(
        table,
        width="stretch",
        column_config={
            "negative_share": st.column_config.ProgressColumn(
                "negative share", format="percent", min_value=0, max_value=1
            ),
            "mean_score": st.column_config.NumberColumn("mean score", format="%+.2f"),
        },
    )


alerts_now()
render()
