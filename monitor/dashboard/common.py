"""What every page shares: settings, the engine (built once), sessions, the database guard.

Pages call `monitor.store.queries` through `session()` inside `db_guard()`, the one place that
turns an unreachable or unmigrated database into a readable message instead of a stack trace.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from monitor.errors import ConfigError
from monitor.settings import Settings, load_settings
from monitor.store import queries

log = logging.getLogger("monitor.dashboard")

SENTIMENT_COLORS = {"negative": "#d62728", "neutral": "#9e9e9e", "positive": "#2ca02c"}


@dataclass(frozen=True)
class TimeRange:
    """A look-back window and the bucket width that gives a readable number of points."""

    label: str
    span: timedelta
    bucket_s: int

    def bounds(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        end = now or datetime.now(UTC)
        return end - self.span, end


RANGES: tuple[TimeRange, ...] = (
    TimeRange("Last hour", timedelta(hours=1), 60),
    TimeRange("Last 6 hours", timedelta(hours=6), 300),
    TimeRange("Last 24 hours", timedelta(days=1), 900),
    TimeRange("Last 3 days", timedelta(days=3), 3600),
    TimeRange("Last 7 days", timedelta(days=7), 3600),
)
DEFAULT_RANGE = 2


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


def live(render: Callable[[], None]) -> Callable[[], None]:
    """Run `render` as a fragment re-run every refresh period, inside the database guard."""

    @st.fragment(run_every=settings().dashboard.refresh_s)
    def fragment() -> None:
        with db_guard():
            render()

    return fragment


def range_picker(key: str, *, default: int = DEFAULT_RANGE) -> TimeRange:
    labels = [r.label for r in RANGES]
    label = st.selectbox("Time range", labels, index=default, key=key)
    return RANGES[labels.index(label)]


def sentiment_index(time_range: TimeRange, *, topics: tuple[str, ...] = ()) -> pd.DataFrame:
    """The range's sentiment index, read fresh on every refresh.

    Ranges longer than a day take their complete hours from the hourly rollup that
    `monitor schedule` keeps (`queries.overview_index`), so a 7-day view costs about what the
    last hour does, and corrections show within one rollup period.
    """
    start, end = time_range.bounds()
    with session() as db:
        return queries.overview_index(
            db, start=start, end=end, bucket_s=time_range.bucket_s, topics=list(topics) or None
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


def fmt_time(moment: datetime | pd.Timestamp | None) -> str:
    if moment is None or pd.isna(moment):
        return "—"
    return pd.Timestamp(moment).tz_convert("UTC").strftime("%Y-%m-%d %H:%M UTC")
