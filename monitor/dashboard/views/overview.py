"""Overview: alerts firing now, the market's sentiment, and every topic's, over a time range."""

from __future__ import annotations

import charts
import common
import streamlit as st

from monitor.nlp.labels import TOPICS
from monitor.store import queries

st.title("📈 Market sentiment")

controls = st.columns([2, 2, 5])
with controls[0]:
    time_range = common.range_picker("overview_range")
with controls[1]:
    measure_label = st.radio(
        "Topic measure", ["Negative share", "Mean score"], horizontal=True, key="overview_measure"
    )
measure = "negative_share" if measure_label == "Negative share" else "mean_score"


def firing_banner(alerts: list[queries.AlertRow]) -> None:
    """Firing alerts first and loud: they are why someone opens the dashboard."""
    if not alerts:
        st.success("No alerts firing.", icon="✅")
        return
    for alert in alerts:
        who = alert.acknowledged_by
        ack = f" · acknowledged by {common.md(who)}" if who else ""
        with st.container(border=True):
            left, right = st.columns([6, 1], vertical_alignment="center")
            left.markdown(
                f"🚨 **{common.md(alert.label)}** — negative share "
                f"**{alert.observed_share:.0%}** vs "
                f"baseline {alert.baseline_share:.0%} ({alert.window_negative}/"
                f"{alert.window_count} stories, z = {alert.statistic:.1f}) · firing since "
                f"{common.ago(alert.opened_at)}{ack}"
            )
            right.page_link(
                "views/alerts.py",
                label="Open",
                icon="🔎",
                query_params={"alert_id": str(alert.id)},
            )


@common.live
def render() -> None:
    with common.session() as db:
        firing = queries.firing_alerts(db)
    firing_banner(firing)

    index = common.sentiment_index(time_range)
    if index.empty:
        st.info(
            f"No classified stories in the {time_range.label.lower()}. Stories appear here as "
            "`monitor consume` classifies them.",
            icon="📭",
        )
        return
    market = queries.market_index(index)
    stories = int(market["stories"].sum())
    negative_share = market["negative"].sum() / stories
    mean_score = market["score_sum"].sum() / stories
    kpis = st.columns(4)
    kpis[0].metric("Stories", f"{stories:,}")
    kpis[1].metric("Negative share", f"{negative_share:.1%}")
    kpis[2].metric("Mean sentiment score", f"{mean_score:+.2f}")
    kpis[3].metric("Alerts firing", len(firing))

    st.subheader("Market")
    st.altair_chart(charts.market_chart(market, time_range.bucket_s), width="stretch")

    st.subheader("Negative share by topic")
    st.altair_chart(charts.topic_heatmap(index, time_range.bucket_s), width="stretch")

    by_volume = index.groupby("topic")["stories"].sum().sort_values(ascending=False)
    # Every known topic stays an option, so a live refresh never invalidates a selection.
    options = by_volume.index.tolist() + [t for t in TOPICS if t not in by_volume.index]
    chosen = st.multiselect(
        "Topics to compare",
        options,
        default=by_volume.index[:4].tolist(),
        key="overview_topics",
    )
    if chosen:
        lines = index[index["topic"].isin(chosen)]
        st.altair_chart(charts.topic_lines(lines, measure), width="stretch")

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


render()
