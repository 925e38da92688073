"""Alerts, the on-call desk: what fired and how bad (severity), the numbers that justified it,
every story of its window (paged, sortable, CSV), who owns it (acknowledge), silences, and what
resolved and after how long.

`?alert_id=N` opens one alert (webhook payloads link here); the list's range is in the URL too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import charts
import common
import desk
import honest
import pandas as pd
import streamlit as st
import timeframe
import timepick
from sqlalchemy.exc import DBAPIError

from monitor.alerts import silences
from monitor.store import queries

st.title("🚨 Alerts")
STATUSES = {"Firing": "firing", "Resolved": "resolved", "All": None}


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


def context_chart(alert: queries.AlertRow) -> None:
    """The scope's negative share around the alert, in honest buckets of the display zone."""
    span = alert.window_end - alert.window_start
    start = min(alert.window_start - 4 * span, alert.window_start - timedelta(hours=2))
    end = (alert.resolved_at or alert.window_end) + max(span, timedelta(minutes=30))
    around = timeframe.absolute(start, end)
    if alert.scope_kind == queries.ENTITY_SCOPE:  # the sentiment towards the company
        base_s = honest.query_bucket_s(around.span)
        with common.session() as db:
            index = queries.entity_series(
                db, entity=alert.scope, start=around.start, end=around.end, bucket_s=base_s
            )
    else:
        topics = None if alert.scope == queries.MARKET else [alert.scope]
        index, base_s = common.sentiment_index(around, topics=topics)
    if index.empty:
        st.info("No classified stories around this alert's window.")
        return
    scoped = queries.market_index(index) if alert.scope == queries.MARKET else index
    label = "Market" if alert.scope == queries.MARKET else alert.scope
    series = common.honest_series(scoped, around, base_s, topics=[label])
    st.altair_chart(
        charts.alert_chart(
            series,
            window=(alert.window_start, alert.window_end),
            baseline_share=alert.baseline_share,
        ),
        width="stretch",
    )


def detail(alert_id: int) -> None:
    with common.session() as db:
        alert = queries.get_alert(db, alert_id=alert_id)
        if alert is None:
            st.warning(f"There is no alert #{alert_id}.")
            return
        end = alert.resolved_at or datetime.now(UTC)
        muting = silences.silencing(silences.active_silences(db), alert.scope, alert.scope_kind)
        past = silences.covering(
            db, scope=alert.scope, start=alert.opened_at, end=end, kind=alert.scope_kind
        )

    status = "🔴 firing" if alert.status == "firing" else "🟢 resolved"
    muted = " · 🔕 silenced" if alert.status == "firing" and muting else ""
    st.subheader(f"#{alert.id} · {common.md(alert.label)} · {status} · {desk.badge(alert)}{muted}")
    resolved = f", resolved {common.fmt_time(alert.resolved_at)}" if alert.resolved_at else ""
    st.caption(
        f"Opened {common.fmt_time(alert.opened_at)} ({common.ago(alert.opened_at)}){resolved} · "
        f"{desk.alert_duration(alert)} · severity from the statistic and the size of the rise"
    )
    desk.silence_note(alert, muting, past)
    if alert.scope_kind == queries.ENTITY_SCOPE:
        st.page_link(
            "views/company.py",
            label=f"{alert.scope}'s Company page",
            icon="🏢",
            query_params={"ticker": alert.scope},
        )
    justification(alert)
    acknowledge(alert)
    if alert.status == "firing" and muting is None:
        with st.expander("🔕 Silence this scope"):
            desk.silence_form(f"alert_{alert.id}", scope=alert.scope)
    context_chart(alert)
    desk.window_stories(alert)


def listing(frame: timeframe.Timeframe | None, status: str | None) -> None:
    with common.session() as db:
        alerts = queries.list_alerts(
            db,
            status=status,
            opened_from=frame.start if frame else None,
            opened_to=frame.end if frame else None,
            limit=500,
        )
        muted = silences.active_silences(db)
    if not alerts:
        st.info("No alerts here. The spike detector (`monitor schedule`) opens them.", icon="🔕")
        return
    zone = common.display_zone()
    now = datetime.now(UTC)

    def local(moment: datetime | None) -> pd.Timestamp | None:
        return pd.Timestamp(timeframe.to_wall(moment, zone)) if moment else None

    table = pd.DataFrame(
        [
            {
                "id": a.id,
                "severity": desk.badge(a),
                "status": a.status,
                "scope": a.label,
                "opened": local(a.opened_at),
                "resolved": local(a.resolved_at),
                "duration": desk.alert_duration(a, now),
                "observed": a.observed_share,
                "baseline": a.baseline_share,
                "statistic": a.statistic,
                "stories": a.window_count,
                "acknowledged by": a.acknowledged_by or "",
                "silenced": a.status == "firing"
                and silences.silencing(muted, a.scope, a.scope_kind) is not None,
                "link": f"alerts?alert_id={a.id}",
            }
            for a in alerts
        ]
    )
    firing = table[table["status"] == "firing"]
    st.markdown(
        f"**{len(firing)} firing**, {len(table) - len(firing)} resolved (newest 500). "
        + " · ".join(
            f"[#{r.id} {common.md(r.scope)}](alerts?alert_id={r.id})" for r in firing.itertuples()
        )
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "opened": st.column_config.DatetimeColumn(
                f"opened ({zone.key})", format="YYYY-MM-DD HH:mm"
            ),
            "resolved": st.column_config.DatetimeColumn(
                f"resolved ({zone.key})", format="YYYY-MM-DD HH:mm"
            ),
            "observed": st.column_config.NumberColumn("observed share", format="percent"),
            "baseline": st.column_config.NumberColumn("baseline share", format="percent"),
            "statistic": st.column_config.NumberColumn(format="%.2f"),
            "silenced": st.column_config.CheckboxColumn("🔕"),
            "link": st.column_config.LinkColumn("open", display_text="open ↗"),
        },
    )


alert_id = selected_alert_id()
if alert_id is not None:

    @common.live
    def render_detail() -> None:
        assert alert_id is not None
        detail(alert_id)

    render_detail()
    st.divider()

st.subheader("All alerts")
controls = st.columns([2, 3, 3], vertical_alignment="bottom")
listed = timepick.range_picker(
    "alerts", default="7d", allow_any=True, label="Opened", at=controls[0]
)
status_label = controls[1].radio(
    "Status", list(STATUSES), index=2, horizontal=True, key="alerts_status"
)


@common.live(every=timepick.refresh_every(listed))
def render_list() -> None:
    listing(listed, STATUSES[status_label])


render_list()
with st.expander("🔕 Silences"), common.db_guard():
    desk.silences_section()
