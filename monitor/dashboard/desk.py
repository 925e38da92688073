"""The alert desk's parts (the Alerts page lays them out): severity and silence badges, an
alert's window stories (paged, sortable, CSV export), and silences (list, create, expire).

Author names, reasons and headlines are user and feed text: Markdown goes through `common.md`,
tables through `html.escape` + `common.html_table`, the CSV export defuses spreadsheet formulas.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

import common
import pandas as pd
import streamlit as st
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from monitor.alerts import severity, silences
from monitor.store import queries

PAGE_SIZE = 25
CSV_LIMIT = 50_000
SEVERITY_BADGES = {
    severity.CRITICAL: "🟥 critical",
    severity.WARNING: "🟧 warning",
    severity.INFO: "🟦 info",
}
DURATIONS = {
    "30 minutes": "30m",
    "1 hour": "1h",
    "2 hours": "2h",
    "4 hours": "4h",
    "8 hours": "8h",
    "1 day": "1d",
    "3 days": "3d",
    "7 days": "7d",
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def badge(alert: queries.AlertRow) -> str:
    return SEVERITY_BADGES[severity.of(alert)]


def duration_text(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours) + [f"{minutes} min"]
    return " ".join(parts[:2])


def alert_duration(alert: queries.AlertRow, now: datetime | None = None) -> str:
    """How long it fired: until its resolution, or 'open …' until now."""
    if alert.resolved_at is not None:
        return duration_text(alert.resolved_at - alert.opened_at)
    return "open " + duration_text((now or datetime.now(UTC)) - alert.opened_at)


def silence_note(
    alert: queries.AlertRow, muting: silences.SilenceRow | None, past: list[silences.SilenceRow]
) -> None:
    """Show the silence on the alert: the one muting its scope now, or those that did."""
    if alert.status == "firing" and muting is not None:
        st.warning(
            f"**Silenced** by **{common.md(muting.created_by)}** until "
            f"{common.fmt_time(muting.until)} (silence #{muting.id}, "
            f"{common.md(muting.describe)}): {common.md(muting.reason)}. No webhook fires for "
            "this scope while it lasts; the alert still resolves as usual.",
            icon="🔕",
        )
        return
    for row in past:
        st.caption(
            f"🔕 Silence #{row.id} by {common.md(row.created_by)} muted this scope "
            f"{common.fmt_time(row.starts_at)} → {common.fmt_time(row.until)}: "
            f"{common.md(row.reason, 120)}"
        )


def stories_csv(frame: pd.DataFrame) -> bytes:
    """An alert's stories as CSV: UTC and display-zone times; feed text that a spreadsheet would
    run as a formula (=, +, -, @ first) is prefixed with an apostrophe (OWASP)."""
    zone = common.display_zone()
    out = frame.drop(columns=["published_at"]).copy()
    out.insert(1, "published_at_utc", frame["published_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    local = frame["published_at"].dt.tz_convert(zone).dt.strftime("%Y-%m-%d %H:%M:%S")
    out.insert(2, f"published_at_{zone.key}", local)
    for column in ("source", "headline", "url", "topic", "model_version"):
        out[column] = out[column].map(_defuse)
    return out.to_csv(index=False).encode("utf-8")


def _defuse(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def window_stories(alert: queries.AlertRow) -> None:
    """Every story of the alert's window (as the detector counted them), a page at a time,
    sortable, with the whole list as CSV."""
    scope, start, end = alert.scope, alert.window_start, alert.window_end
    kind = alert.scope_kind
    key = f"alert_{alert.id}"
    with common.session() as db:
        total = queries.count_window_stories(db, scope=scope, start=start, end=end, scope_kind=kind)
    st.markdown(
        f"**The window's stories** ({total:,}; the detector counted {alert.window_count:,} "
        f"when it fired, {alert.window_negative:,} negative)"
    )
    if not total:
        st.caption("No stories of this window are stored any more.")
        return
    top = st.columns([2, 2, 3], vertical_alignment="bottom")
    order = top[0].selectbox("Sort", list(queries.WINDOW_ORDERS), key=f"{key}_order")
    pages = max(1, -(-total // PAGE_SIZE))
    page = int(top[1].number_input("Page", 1, pages, key=f"{key}_page")) - 1
    with common.session() as db:
        stories = partial(
            queries.window_stories, db, scope=scope, start=start, end=end, scope_kind=kind
        )
        shown = stories(order=order, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
        everything = stories(order=order, limit=CSV_LIMIT)
    top[2].download_button(
        f"⬇ Download all {len(everything.rows):,} as CSV",
        data=stories_csv(everything.rows),
        file_name=f"alert-{alert.id}-stories.csv",
        mime="text/csv",
        key=f"{key}_csv",
        on_click="ignore",
    )
    st.caption(f"Page {page + 1} of {pages} · {PAGE_SIZE} a page · {order}")
    common.story_table(shown.rows, score=True)


def write(action: Callable[[Session], object], what: str) -> bool:
    """Run one of the desk's writes in its own transaction; a refused silence is a warning,
    and a database role that may only read is said plainly (not 'database unavailable')."""
    try:
        with common.session() as db, db.begin():
            action(db)
    except silences.SilenceError as exc:
        st.warning(f"Not saved: {common.md(str(exc))}.", icon="🔕")
        return False
    except DBAPIError as exc:
        if not common.cannot_write(exc):
            raise  # the page's database guard explains it
        st.error(
            f"**Cannot {what}: this dashboard's database role may only read.** Give it write "
            "access to `silences`, or use `monitor alerts silence …`.",
            icon="🔒",
        )
        return False
    return True


def silence_form(key: str, *, scope: str = "") -> None:
    """Create a silence: a scope (or a glob over scopes), how long, who and why."""
    with st.form(f"{key}_silence", border=True):
        st.markdown("**Silence** — no alert opens and no webhook fires for the scope meanwhile")
        row = st.columns([3, 1, 2])
        matcher = row[0].text_input(
            "Scope",
            value=scope,
            key=f"{key}_matcher",
            help="a topic exactly, * for the market, or with 'glob' a pattern such as Energy*",
        )
        is_glob = row[1].checkbox("glob", key=f"{key}_glob")
        length = row[2].selectbox("For", list(DURATIONS), index=2, key=f"{key}_for")
        who_col, why_col = st.columns([1, 2])
        author = who_col.text_input("Your name", key=f"{key}_author", placeholder="e.g. alice")
        reason = why_col.text_input("Reason", key=f"{key}_reason", placeholder="e.g. OPEC meeting")
        submitted = st.form_submit_button("Silence", type="primary")
    if not submitted:
        return
    now = datetime.now(UTC)
    ends_at = now + silences.parse_duration(DURATIONS[length])

    def add(db: Session) -> object:
        return silences.add_silence(
            db,
            matcher=matcher,
            is_glob=is_glob,
            ends_at=ends_at,
            created_by=author,
            reason=reason,
            now=now,
        )

    if write(add, "silence"):
        st.toast(f"Silenced {common.md(matcher.strip())} for {length}", icon="🔕")
        st.rerun()


def silences_section(key: str = "desk") -> None:
    """Silences active and pending (with Expire), the recently ended, and a form for a new one."""
    now = datetime.now(UTC)
    with common.session() as db:
        rows = silences.list_silences(db, include_expired=True, now=now, limit=50)
    live = [r for r in rows if r.state(now) != silences.EXPIRED]
    st.markdown(f"**{len(live)} active or pending** silence(s)")
    for row in live:
        cols = st.columns([6, 2, 1], vertical_alignment="center")
        cols[0].markdown(
            f"🔕 #{row.id} **{common.md(row.describe)}** · {row.state(now)} · "
            f"{common.fmt_time(row.starts_at)} → {common.fmt_time(row.until)} · by "
            f"{common.md(row.created_by)}: {common.md(row.reason, 160)}"
        )
        who = cols[1].text_input(
            "Expire as",
            key=f"{key}_exp_who_{row.id}",
            placeholder="name",
            label_visibility="collapsed",
        )
        if cols[2].button("Expire", key=f"{key}_exp_{row.id}"):
            if not who.strip():
                st.warning("Enter your name to expire a silence.")
            elif write(
                lambda db, row=row, who=who: silences.expire_silence(
                    db, silence_id=row.id, by=who, now=now
                ),
                "expire a silence",
            ):
                st.toast(f"Silence #{row.id} expired", icon="🔔")
                st.rerun()
    ended = [r for r in rows if r.state(now) == silences.EXPIRED][:10]
    if ended:
        with st.expander(f"Recently ended ({len(ended)})"):
            headers = ["#", "matcher", "from", "until", "by", "expired by", "reason"]
            common.html_table(headers, [_ended_row(r) for r in ended])
    silence_form(key)


def _ended_row(row: silences.SilenceRow) -> str:
    cells = [
        str(row.id),
        row.describe,
        common.fmt_time(row.starts_at),
        common.fmt_time(row.until),
        row.created_by,
        row.expired_by or "",
        row.reason,
    ]
    return "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>"
