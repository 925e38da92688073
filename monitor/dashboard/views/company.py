"""Company: one entity (`?ticker=AAPL`): the sentiment towards it and its volume over time, the
stories naming it with the sentiment towards it beside the story's own (an "Apple beats
Microsoft" story is positive, and negative towards Microsoft), and its alerts.

Without a ticker the page is a search box and the top movers. Counts are once per story and
company; the series reads complete hours from the `entity_hourly` rollup past a day.
"""

from __future__ import annotations

import html

import charts
import common
import companies
import desk
import honest
import pandas as pd
import streamlit as st
import timepick

from monitor.store import queries

PAGE_SIZE = 25
MAX_TICKER = 64  # story_entities.entity's width

COMPANY_KPIS = (
    "Stories naming it",
    "Negative towards it",
    "Mean score towards it",
    "Its alerts firing",
)


def selected_ticker() -> str | None:
    raw = st.query_params.get("ticker", "").strip()
    if not raw:
        return None
    if len(raw) > MAX_TICKER or not raw.isprintable():
        st.warning(f"ticker={common.md(raw, 60)} is not a ticker.")
        return None
    return raw.upper()


def heading(ticker: str) -> None:
    entry = companies.dictionary().get(ticker)
    name = f" · {entry.name}" if entry else ""
    st.title(f"🏢 {common.md(ticker + name, 120)}")
    if entry and entry.sector:
        st.caption(f"Sector: {common.md(entry.sector)}")
    elif entry is None:
        st.caption("Not in the entity dictionary: named by stories only.")


def stories_table(frame: pd.DataFrame, ticker: str) -> None:
    """Each story with the sentiment towards the company beside its own sentiment."""
    rows = []
    for story in frame.itertuples():
        updated = " <span style='color:#888'>(updated)</span>" if story.version > 1 else ""
        stand_in = (
            ""
            if story.from_mention
            else " <span style='color:#888' title='no entity reading: the story's sentiment "
            "stands in'>(story's)</span>"
        )
        rows.append(
            "<tr>"
            f"<td style='white-space:nowrap;color:#666'>{common.fmt_time(story.published_at)}</td>"
            f"<td>{html.escape(story.source)}</td>"
            f"<td>{common.headline_html(story.headline, story.url)}{updated}</td>"
            f"<td>{companies.sentiment_html(story.entity_sentiment, story.entity_score)}"
            f"{stand_in}</td>"
            f"<td>{companies.sentiment_html(story.sentiment, story.sentiment_score)}</td>"
            f"<td>{html.escape(story.topic)}</td>"
            f"<td>{html.escape(str(story.mention))} "
            f"<span style='color:#888'>({html.escape(story.matched_by)})</span></td>"
            "</tr>"
        )
    common.html_table(
        [
            f"published ({common.display_zone().key})",
            "source",
            "headline",
            f"towards {ticker}",
            "story overall",
            "topic",
            "mention",
        ],
        rows,
    )


def alerts_table(alerts: list[queries.AlertRow]) -> None:
    rows = []
    for alert in alerts:
        what = "negative volume" if alert.signal == "volume" else "negative share"
        rows.append(
            "<tr>"
            f"<td><a href='alerts?alert_id={alert.id}' target='_self'>#{alert.id}</a></td>"
            f"<td>{html.escape(desk.badge(alert))}</td>"
            f"<td>{html.escape(alert.status)}</td>"
            f"<td>{what}</td>"
            f"<td>{common.fmt_time(alert.opened_at)}</td>"
            f"<td>{html.escape(desk.alert_duration(alert))}</td>"
            f"<td>{alert.window_negative}/{alert.window_count} negative "
            f"({alert.observed_share:.0%} vs {alert.baseline_share:.0%})</td>"
            "</tr>"
        )
    common.html_table(
        ["alert", "severity", "status", "signal", "opened", "duration", "window"], rows
    )


def pager(key: str, has_more: bool) -> None:
    page = st.session_state.setdefault(key, 0)
    left, middle, right = st.columns([1, 2, 1])
    if left.button("← Newer", disabled=page == 0, key=f"{key}_newer"):
        st.session_state[key] = page - 1
        st.rerun()
    middle.caption(f"Page {page + 1} · {PAGE_SIZE} stories a page")
    if right.button("Older →", disabled=not has_more, key=f"{key}_older"):
        st.session_state[key] = page + 1
        st.rerun()


def company(ticker: str) -> None:
    heading(ticker)
    controls = st.columns([2, 2, 5], vertical_alignment="bottom")
    frame = timepick.range_picker("company", default="7d", at=controls[0])
    assert frame is not None  # no "Any time" here
    smooth = controls[1].toggle("Smoothed (EWMA)", key="company_smooth")
    if st.session_state.get("company_ticker") != ticker:  # another company: its newest page
        st.session_state["company_ticker"] = ticker
        st.session_state["company_stories_page"] = 0

    @common.live(every=timepick.refresh_every(frame))
    def render() -> None:
        base_s = honest.query_bucket_s(frame.span)
        page_number = st.session_state.get("company_stories_page", 0)
        with common.session() as db:
            index = queries.entity_series(
                db, entity=ticker, start=frame.start, end=frame.end, bucket_s=base_s
            )
            page = queries.entity_stories(
                db,
                entity=ticker,
                start=frame.start,
                end=frame.end,
                limit=PAGE_SIZE,
                offset=page_number * PAGE_SIZE,
            )
            alerts = queries.entity_alerts(db, entity=ticker, limit=50)
        zone = common.display_zone()
        if index.empty:
            st.info(
                f"No story names {common.md(ticker)} in the {common.md(frame.label(zone))}.",
                icon="📭",
            )
        else:
            common.kpis(index, sum(a.status == "firing" for a in alerts), COMPANY_KPIS)
            series = common.honest_series(index, frame, base_s, topics=[ticker])
            st.subheader("Sentiment towards it, and its volume")
            st.caption(
                f"Buckets of {series.width} · negative share of the stories naming it (the "
                "sentiment towards it, not the story's); a bucket with fewer than "
                f"{common.settings().dashboard.min_bucket_stories} stories shows no share; the "
                "band is the 95% Wilson interval"
            )
            st.altair_chart(charts.market_chart(series, smooth=smooth), width="stretch")
            st.altair_chart(charts.score_chart(series, smooth=smooth), width="stretch")
            st.subheader("Stories naming it")
            stories_table(page.rows, ticker)
            pager("company_stories_page", page.has_more)
        st.subheader("Its alerts")
        if alerts:
            alerts_table(alerts)
        else:
            st.caption("No alert about it (watchlist alerts: `MONITOR_ALERTS__WATCHLIST`).")

    render()


def no_company() -> None:
    st.title("🏢 Company")
    st.info("Find a company by ticker or name; its page shows the sentiment towards it.", icon="🔎")
    with common.db_guard():
        companies.search_box(key="company_page_search")
    frame = timepick.range_picker("company", default="24h")
    assert frame is not None

    @common.live(every=timepick.refresh_every(frame))
    def render() -> None:
        with common.session() as db:
            movers = queries.top_movers(db, now=frame.end, window=frame.span)
            sectors = queries.sector_summary(db, start=frame.start, end=frame.end)
        st.subheader("Top movers")
        if movers.empty:
            st.caption("No company has enough stories both in the range and in its baseline.")
        else:
            companies.movers_table(movers, frame.query())
        st.subheader("Sectors")
        if sectors.empty:
            st.caption("No company named in the range.")
            return
        st.caption(
            "The sentiment towards the companies of each sector (a story counts once per company)"
        )
        st.dataframe(
            sectors.set_index("sector"),
            width="stretch",
            column_config={
                "entities": st.column_config.NumberColumn("companies"),
                "stories": st.column_config.NumberColumn("mentions"),
                "negative_share": st.column_config.ProgressColumn(
                    "negative share", format="percent", min_value=0, max_value=1
                ),
                "mean_score": st.column_config.NumberColumn("mean score", format="%+.2f"),
            },
        )

    render()


chosen = selected_ticker()
if chosen is None:
    no_company()
else:
    company(chosen)
