"""Alerts: what fired, the numbers that justified it, the stories behind it; acknowledge it.

`?alert_id=N` opens one alert (webhook payloads link here).
"""

from __future__ import annotations

import html
from datetime import timedelta

import charts
import common
import pandas as pd
import streamlit as st
from sqlalchemy.exc import DBAPIError

from monitor.store import queries

st.title("🚨 Alerts")


def selected_alert_id() -> int | None:
    raw = st.query_params.get("alert_id")
    try:
        return int(raw) if raw else None
    except ValueError:
        st.warning(f"alert\\_id={common.md(raw, 60)} is not an alert number.")
        return None


def justification(alert: queries.AlertRow) -> None:
    """The figures the detector stored: observed vs baseline, statistic vs threshold."""
    cols = st.columns(4)
    cols[0].metric(
        "Negative share (window)",
        f"{alert.observed_share:.1%}",
        delta=f"{(alert.observed_share - alert.baseline_share) * 100:+.1f} pts vs baseline",
        delta_color="inverse",
    )
    cols[1].metric("Baseline share", f"{alert.baseline_share:.1%}")
    cols[2].metric("Test statistic", f"{alert.statistic:.2f}", help="threshold below")
    cols[3].metric("Threshold", f"{alert.threshold:.2f}")
    p_value = f"{alert.p_value:.2g}" if alert.p_value is not None else "—"
    st.markdown(
        f"Window **{common.fmt_time(alert.window_start)} → {common.fmt_time(alert.window_end)}**:"
        f" {alert.window_negative} negative of {alert.window_count} stories · baseline "
        f"{common.fmt_time(alert.baseline_start)} → {common.fmt_time(alert.baseline_end)}: "
        f"{alert.baseline_negative} of {alert.baseline_count} · p-value {p_value}"
    )


def acknowledge(alert: queries.AlertRow) -> None:
    """Who owns the alert, and the form to take it: the first acknowledgement wins, a later
    one is refused with a message naming the owner."""
    if alert.acknowledged_at is not None:
        st.info(
            f"Acknowledged by **{common.md(alert.acknowledged_by)}** at "
            f"{common.fmt_time(alert.acknowledged_at)} ({common.ago(alert.acknowledged_at)}).",
            icon="👤",
        )
    with st.form(f"ack_{alert.id}", border=False):
        who_col, button_col = st.columns([3, 1], vertical_alignment="bottom")
        who = who_col.text_input("Your name", key="ack_who", placeholder="e.g. alice")
        submitted = button_col.form_submit_button("Acknowledge", type="primary", width="stretch")
    if submitted:
        if not who.strip():
            st.warning("Enter your name to acknowledge.")
            return
        try:
            with common.session() as db, db.begin():
                queries.acknowledge_alert(db, alert_id=alert.id, who=who)
        except queries.AlreadyAcknowledged as taken:
            st.warning(f"Not recorded: {common.md(str(taken))}.", icon="👤")
            return
        except DBAPIError as exc:
            if not common.cannot_write(exc):
                raise  # the page's database guard explains it
            st.error(
                "**Cannot acknowledge: this dashboard's database role may only read.** Give it "
                "UPDATE on `alerts`, or acknowledge from a dashboard that can write.",
                icon="🔒",
            )
            return
        st.toast(f"Alert #{alert.id} acknowledged by {common.md(who.strip())}", icon="✅")
        st.rerun()


def stories_table(frame: pd.DataFrame) -> None:
    """Headlines as links, newest first: what drove the alert."""
    rows = []
    for story in frame.itertuples():
        headline = common.headline_html(story.headline, story.url)
        color = common.SENTIMENT_COLORS.get(story.sentiment, "#999")
        rows.append(
            f"<tr><td style='white-space:nowrap'>{common.fmt_time(story.published_at)}</td>"
            f"<td>{html.escape(story.source)}</td><td>{headline}</td>"
            f"<td style='color:{color};white-space:nowrap'>{html.escape(story.sentiment)} "
            f"{story.sentiment_confidence:.0%}</td></tr>"
        )
    common.html_table(["published", "source", "headline", "sentiment"], rows)


def detail(alert_id: int) -> None:
    with common.session() as db:
        alert = queries.get_alert(db, alert_id=alert_id)
        if alert is None:
            st.warning(f"There is no alert #{alert_id}.")
            return
        topics = None if alert.scope == queries.MARKET else [alert.scope]
        span = alert.window_end - alert.window_start
        start = min(alert.window_start - 4 * span, alert.window_start - timedelta(hours=2))
        end = (alert.resolved_at or alert.window_end) + max(span, timedelta(minutes=30))
        bucket_s = max(60, int(span.total_seconds() // 6) // 60 * 60)
        index = queries.sentiment_index(db, start=start, end=end, bucket_s=bucket_s, topics=topics)
        stories = queries.stories_by_ids(db, ids=alert.story_ids)
    if alert.scope == queries.MARKET:
        index = queries.market_index(index)

    badge = "🔴 firing" if alert.status == "firing" else "🟢 resolved"
    st.subheader(f"#{alert.id} · {common.md(alert.label)} · {badge}")
    resolved = f", resolved {common.fmt_time(alert.resolved_at)}" if alert.resolved_at else ""
    st.caption(
        f"Opened {common.fmt_time(alert.opened_at)} ({common.ago(alert.opened_at)}){resolved}"
    )
    justification(alert)
    acknowledge(alert)
    if index.empty:
        st.info("No classified stories around this alert's window.")
    else:
        st.altair_chart(charts.alert_chart(index, alert, start, end), width="stretch")
    st.markdown(f"**Stories that drove it** ({len(stories)} of {len(alert.story_ids)} listed)")
    if stories.empty:
        st.caption("The alert lists no stories that are still stored.")
    else:
        stories_table(stories)


def listing() -> None:
    with common.session() as db:
        alerts = queries.list_alerts(db, limit=200)
    if not alerts:
        st.info("No alerts yet. The spike detector (`monitor schedule`) opens them.", icon="🔕")
        return
    frame = pd.DataFrame(
        [
            {
                "id": a.id,
                "status": a.status,
                "scope": a.label,
                "opened": a.opened_at,
                "observed": a.observed_share,
                "baseline": a.baseline_share,
                "statistic": a.statistic,
                "threshold": a.threshold,
                "stories": a.window_count,
                "acknowledged by": a.acknowledged_by or "",
                "link": f"alerts?alert_id={a.id}",
            }
            for a in alerts
        ]
    )
    firing = frame[frame["status"] == "firing"]
    st.markdown(
        f"**{len(firing)} firing**, {len(frame) - len(firing)} resolved (newest 200). "
        + " · ".join(
            f"[#{r.id} {common.md(r.scope)}](alerts?alert_id={r.id})" for r in firing.itertuples()
        )
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={
            "opened": st.column_config.DatetimeColumn("opened", format="YYYY-MM-DD HH:mm"),
            "observed": st.column_config.NumberColumn("observed share", format="percent"),
            "baseline": st.column_config.NumberColumn("baseline share", format="percent"),
            "statistic": st.column_config.NumberColumn(format="%.2f"),
            "threshold": st.column_config.NumberColumn(format="%.2f"),
            "link": st.column_config.LinkColumn("open", display_text="open ↗"),
        },
    )


@common.live
def render() -> None:
    alert_id = selected_alert_id()
    if alert_id is not None:
        detail(alert_id)
        st.divider()
    listing()


render()
