"""Companies on every page: the search box (dictionary + entities seen in stories) that opens a
Company page, links to it (`company?ticker=AAPL`), the top movers table, and a story's
companies with the sentiment towards each.

Tickers and names are feed or operator text: HTML-escaped into `common.html_table` cells, and
URL-encoded into links, never Markdown.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from urllib.parse import urlencode

import common
import pandas as pd
import streamlit as st

from monitor.entities.dictionary import EntityDictionary, default_dictionary
from monitor.errors import ConfigError
from monitor.store import queries

log = logging.getLogger("monitor.dashboard")
PAGE = "views/company.py"
SEARCH_PICK = "company_search_pick"  # where the search box's callback leaves its choice


def dictionary() -> EntityDictionary:
    """The configured entity dictionary (`MONITOR_ENTITIES__DICTIONARY`), loaded once per file
    version. A file that can't be read costs the names and sectors, not the pages: an empty
    dictionary, and `dictionary_problem()` says why (the sidebar shows it)."""
    try:
        return default_dictionary()
    except ConfigError as exc:
        log.warning("entity dictionary unusable: %s", exc)
        return EntityDictionary(entries=())


def dictionary_problem() -> str | None:
    try:
        default_dictionary()
    except ConfigError as exc:
        return str(exc)
    return None


@st.cache_data(ttl=300, show_spinner=False)
def _seen(url: str) -> list[str]:
    with common.session() as db:
        return queries.seen_entities(db)


def seen_entities() -> list[str]:
    """Entities stories name (cached five minutes); none when the database can't say."""
    found: list[str] = []
    with common.db_guard():
        found = _seen(common.settings().database.url)
    return found


def options() -> tuple[list[str], dict[str, str]]:
    """Every ticker a person can look up (the dictionary's, then others seen in stories) and
    how each reads in the search box ("AAPL — Apple Inc.")."""
    known = dictionary()
    labels = {e.ticker: f"{e.ticker} — {e.name}" for e in known.entries}
    for entity in seen_entities():
        labels.setdefault(entity, entity)
    return list(labels), labels


def _remember(key: str) -> None:
    st.session_state[SEARCH_PICK] = st.session_state.get(key)
    st.session_state[key] = None  # the box is empty again when someone comes back


def search_box(where: object = st, *, key: str = "company_search") -> None:
    """A box to type a ticker or a name in (fuzzy, as Streamlit filters options): choosing one
    opens its Company page."""
    tickers, labels = options()
    where.selectbox(  # type: ignore[attr-defined]
        "Find a company",
        tickers,
        index=None,
        key=key,
        format_func=lambda ticker: labels.get(ticker, ticker),
        placeholder="Ticker or name, e.g. AAPL or Apple",
        on_change=_remember,
        args=(key,),
    )
    problem = dictionary_problem()
    if problem:
        where.caption(f"⚠️ No company names: {common.md(problem, 200)}")  # type: ignore[attr-defined]
    picked = st.session_state.pop(SEARCH_PICK, None)
    if picked:
        st.switch_page(PAGE, query_params={"ticker": picked})


def href(ticker: str, query: Mapping[str, str] | None = None) -> str:
    return "company?" + urlencode({"ticker": ticker, **(query or {})})


def link(ticker: str, query: Mapping[str, str] | None = None) -> str:
    """An HTML link to the Company page (same tab), for `common.html_table` cells; `query`
    adds to its URL (e.g. the range the link was shown for)."""
    return f'<a href="{html.escape(href(ticker, query))}" target="_self">{html.escape(ticker)}</a>'


def sentiment_html(sentiment: str, score: float | None = None) -> str:
    color = common.SENTIMENT_COLORS.get(sentiment, "#999")
    scored = f" {score:+.2f}" if score is not None and not pd.isna(score) else ""
    return (
        f"<span style='color:{color};font-weight:600;white-space:nowrap'>"
        f"● {html.escape(sentiment)}</span>{scored}"
    )


def entity_cells(frame: pd.DataFrame) -> dict[int, str]:
    """story id → its companies (linked) with the sentiment towards each, from
    `queries.entities_of_stories`."""
    cells: dict[int, list[str]] = {}
    for row in frame.itertuples():
        color = common.SENTIMENT_COLORS.get(row.sentiment, "#999")
        cells.setdefault(int(row.story_id), []).append(
            f"<span style='white-space:nowrap'>{link(row.entity)} "
            f"<span style='color:{color}' title='{html.escape(row.sentiment)}'>"
            f"● {html.escape(row.sentiment[:3])}</span></span>"
        )
    return {story: " ".join(parts) for story, parts in cells.items()}


def movers_table(movers: pd.DataFrame, query: Mapping[str, str] | None = None) -> None:
    """Top movers (`queries.top_movers`) as a table whose tickers open their Company pages
    (over the range `query` names, the one the movers were found in)."""
    known = dictionary()
    rows = []
    for row in movers.itertuples():
        arrow = "▲ worse" if row.direction == "worse" else "▼ better"
        color = common.SENTIMENT_COLORS["negative" if row.direction == "worse" else "positive"]
        rows.append(
            "<tr>"
            f"<td>{link(row.entity, query)}</td>"
            f"<td>{html.escape(known.name(row.entity) or '')}</td>"
            f"<td>{html.escape(str(row.sector))}</td>"
            f"<td style='text-align:right'>{row.stories} ({row.baseline_stories})</td>"
            f"<td style='text-align:right'>{row.negative_share:.0%} "
            f"({row.baseline_negative_share:.0%})</td>"
            f"<td style='text-align:right'>{row.mean_score:+.2f} "
            f"({row.baseline_mean_score:+.2f})</td>"
            f"<td style='color:{color};white-space:nowrap'>{arrow} {row.movement:.2f}</td>"
            "</tr>"
        )
    common.html_table(
        [
            "ticker",
            "company",
            "sector",
            "stories (baseline)",
            "negative share (baseline)",
            "mean score (baseline)",
            "moved",
        ],
        rows,
    )
