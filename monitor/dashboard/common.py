"""What every page shares: settings, the engine (built once), sessions, the database guard, the
display time zone, and how feed and user text is shown.

Pages call `monitor.store.queries` through `session()` inside `db_guard()`, the one place that
turns an unreachable or unmigrated database into a readable message instead of a stack trace.
Every time shown goes through `fmt_time` (or `timeframe.wall_text`) in `display_zone()`; the
range picker and the zone picker are in `timepick.py`, the honest series in `honest.py`.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import honest
import pandas as pd
import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.errors import ConfigError
from monitor.settings import Settings, load_settings
from monitor.settings.dashboard import zone
from monitor.store import queries

if TYPE_CHECKING:
    from timeframe import Timeframe

log = logging.getLogger("monitor.dashboard")

SENTIMENT_COLORS = {"negative": "#d62728", "neutral": "#9e9e9e", "positive": "#2ca02c"}


def settings() -> Settings:
    """Settings, read per run: cheap, and tests may point the app at another database."""
    return load_settings()


@st.cache_resource(show_spinner=False)
def _engine(url: str) -> Engine:
    return queries.make_reader_engine(url)


@contextmanager
def session() -> Iterator[Session]:
    """A read session on the shared engine; rolled back at the end (the dashboard reads)."""
    with Session(_engine(settings().database.url), expire_on_commit=False) as db:
        yield db


@contextmanager
def db_guard() -> Iterator[None]:
    """Show a clear message, not a traceback, when the database can't answer."""
    try:
        yield
    except ConfigError as exc:
        st.error(f"**Configuration problem.** {exc}", icon="⚙️")
    except (DBAPIError, SQLAlchemyError) as exc:
        log.warning("dashboard query failed: %s", exc)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        st.error(
            "**The database is unavailable.** The dashboard will retry on its own every "
            f"{settings().dashboard.refresh_s:g} s. Check `MONITOR_DATABASE__URL` and that the "
            f"database is up and migrated (`monitor db upgrade`).\n\nReason: `{reason[:300]}`",
            icon="🛑",
        )


def live(render: Callable[[], None] | None = None, *, every: float | bool | None = True) -> Any:
    """Run `render` as a fragment inside the database guard, re-run every refresh period
    (`every=True`), every `every` seconds, or never (`every=None`: a range that has ended).
    A decorator, bare (`@common.live`) or with `every` (`@common.live(every=...)`)."""
    if render is None:
        return lambda function: live(function, every=every)
    period = settings().dashboard.refresh_s if every is True else every or None

    @st.fragment(run_every=period)
    def fragment() -> None:
        with db_guard():
            render()

    return fragment


ZONE_KEY = "display_tz"  # the sidebar's zone picker (timepick.zone_picker) keeps it here


def display_zone() -> ZoneInfo:
    """The one time zone every chart, tooltip and table of this browser session shows."""
    return zone(st.session_state.get(ZONE_KEY) or settings().dashboard.timezone)


def sentiment_index(
    frame: Timeframe, *, topics: Sequence[str] | None = None
) -> tuple[pd.DataFrame, int]:
    """The sentiment index over `frame` in the query bucket its span calls for (UTC buckets),
    and that bucket's width. Ranges over a day read complete hours from the hourly rollup
    (`queries.overview_index`)."""
    base_s = honest.query_bucket_s(frame.span)
    with session() as db:
        index = queries.overview_index(
            db, start=frame.start, end=frame.end, bucket_s=base_s, topics=list(topics or []) or None
        )
    return index, base_s


def honest_series(
    index: pd.DataFrame,
    frame: Timeframe,
    base_s: int,
    *,
    topics: list[str] | None = None,
    width_s: int | None = None,
) -> honest.Series:
    """`index` as the charts draw it: display-zone buckets sized to the range and volume, thin
    ones without a share (`MONITOR_DASHBOARD__MIN_BUCKET_STORIES`), EWMA alongside."""
    return honest.series(
        index,
        start=pd.Timestamp(frame.start),
        end=pd.Timestamp(frame.end),
        base_s=base_s,
        zone=display_zone(),
        min_stories=settings().dashboard.min_bucket_stories,
        topics=topics,
        width_s=width_s,
    )


# Feed and user text is data, never markup: in a Markdown string every ASCII punctuation mark
# is backslash-escaped (no links, images, emphasis, :directives:, $math$ or HTML), and what
# GitHub-flavoured autolinking finds in the text left after that (`https://`, `www.`, `a@b`)
# gets an invisible word joiner that breaks the pattern; in an HTML table everything is
# HTML-escaped and the table goes to `st.html`, which does not read Markdown. Links are made only
# by `headline_html`, and only to http(s) URLs.
_MARKDOWN_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_AUTOLINK_TRIGGER = re.compile(r"(?i)(:(?=//)|www(?=\.)|@)")
WORD_JOINER = "\u2060"
SHOWN_CHARS = 300


def md(text: object, limit: int = SHOWN_CHARS) -> str:
    """`text` for a Markdown string (st.markdown, st.info, a title...): one line, at most
    `limit` characters, shown literally."""
    line = " ".join(str(text).split())
    if len(line) > limit:
        line = line[: limit - 1] + "…"
    line = _AUTOLINK_TRIGGER.sub(lambda m: m.group() + WORD_JOINER, line)
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", line)


def is_web_url(url: object) -> bool:
    return isinstance(url, str) and url.lower().startswith(("http://", "https://"))


def headline_html(headline: str, url: object) -> str:
    """The headline, escaped, as a link when the story has an http(s) URL (pandas gives NaN
    for none); for `html_table`."""
    text = html.escape(headline)
    if is_web_url(url):
        href = html.escape(str(url))
        return f'<a href="{href}" target="_blank" rel="noopener noreferrer">{text}</a>'
    return text


def html_table(headers: list[str], rows: list[str]) -> None:
    """A table of already-escaped cells (`<tr>` strings), rendered as HTML only: st.html does
    not interpret Markdown, so a headline's `[text](url)` stays text."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    st.html(
        "<table style='width:100%;font-size:0.9rem;border-collapse:collapse'>"
        f"<tr>{head}</tr>{''.join(rows)}</table>"
    )


def story_table(
    frame: pd.DataFrame, *, score: bool = False, entities: dict[int, str] | None = None
) -> None:
    """Stories (`queries.NEWS_COLUMNS`) as an HTML table: time in the display zone, source,
    headline (a link to an http(s) URL; "(updated)" for a corrected story), topic, sentiment
    with confidence, with `score` the sentiment score, and with `entities` (story id → a
    ready HTML cell, `companies.entity_cells`) the companies it names."""
    headers = [f"published ({display_zone().key})", "source", "headline", "topic", "sentiment"]
    rows = []
    for story in frame.itertuples():
        updated = " <span style='color:#888'>(updated)</span>" if story.version > 1 else ""
        color = SENTIMENT_COLORS.get(story.sentiment, "#999")
        cells = (
            f"<td style='white-space:nowrap;color:#666'>{fmt_time(story.published_at)}</td>"
            f"<td>{html.escape(story.source)}</td>"
            f"<td>{headline_html(story.headline, story.url)}{updated}</td>"
            f"<td>{html.escape(story.topic)}</td>"
            f"<td style='white-space:nowrap'><span style='color:{color};font-weight:600'>"
            f"● {html.escape(story.sentiment)}</span> {story.sentiment_confidence:.0%}</td>"
        )
        if score:
            cells += f"<td style='text-align:right'>{story.sentiment_score:+.2f}</td>"
        if entities is not None:
            cells += f"<td>{entities.get(int(story.story_id), '')}</td>"
        rows.append(f"<tr>{cells}</tr>")
    headers += ["score"] * score + ["companies"] * (entities is not None)
    html_table(headers, rows)


def cannot_write(exc: BaseException) -> bool:
    """The database refused a write for lack of permission (a read-only role or file)."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) == "42501" or "readonly database" in str(orig or "")


def ago(moment: datetime | None) -> str:
    """'3 min ago' style, for times people scan rather than read."""
    if moment is None:
        return "—"
    seconds = max(0, int((datetime.now(UTC) - moment).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def fmt_time(moment: datetime | pd.Timestamp | None, *, seconds: bool = False) -> str:
    """A stored (UTC) time in the display zone, 24-hour clock, zone abbreviation included."""
    if moment is None or pd.isna(moment):
        return "—"
    local = pd.Timestamp(moment).tz_convert(display_zone())
    return local.strftime("%Y-%m-%d %H:%M:%S %Z" if seconds else "%Y-%m-%d %H:%M %Z")


def kpis(index: pd.DataFrame, firing: int, labels: Sequence[str]) -> None:
    """Four metrics of a sentiment index (stories, negative share with its 95% interval, mean
    score) and the alerts firing, under the page's four `labels`."""
    stories = int(index["stories"].sum())
    negative = int(index["negative"].sum())
    low, high = honest.wilson(pd.Series([negative]), pd.Series([stories]))
    cols = st.columns(4)
    cols[0].metric(labels[0], f"{stories:,}")
    cols[1].metric(
        labels[1],
        f"{negative / stories:.1%}",
        help=f"95% interval {low.iloc[0]:.1%} – {high.iloc[0]:.1%}",
    )
    cols[2].metric(labels[2], f"{index['score_sum'].sum() / stories:+.2f}")
    cols[3].metric(labels[3], firing)
