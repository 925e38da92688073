"""News: the classified stream, newest first, one row per story (its newest version)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import common
import companies
import streamlit as st
import timeframe
import timepick

from monitor.nlp.labels import SENTIMENTS, TOPICS
from monitor.store import queries

PAGE_SIZE = 50

st.title("📰 News")


@st.cache_data(ttl=300, show_spinner=False)
def _sources(url: str) -> list[str]:
    with common.session() as db:
        return queries.news_sources(db)


@dataclass(frozen=True)
class Choice:
    """What the filter row asks for; the time window is fixed only when the query runs."""

    topics: tuple[str, ...]
    sentiments: tuple[str, ...]
    sources: tuple[str, ...]
    preset: timeframe.Preset | None  # a moving range, read up to now at each refresh
    fixed: tuple[datetime, datetime] | None  # an absolute range
    text: str

    def to_filter(self) -> queries.NewsFilter:
        start, end = self.fixed or (None, None)
        if self.preset is not None:
            moving = timeframe.from_preset(self.preset)
            start, end = moving.start, moving.end
        return queries.NewsFilter(
            topics=self.topics,
            sentiments=self.sentiments,
            sources=self.sources,
            start=start,
            end=end,
            text=self.text,
        )


def filters() -> Choice | None:
    """The filter row; None when the database can't list sources (the guard has said why)."""
    sources: list[str] | None = None
    with common.db_guard():
        sources = _sources(common.settings().database.url)
    if sources is None:
        return None
    row = st.columns([3, 2, 2, 2, 3])
    topics = row[0].multiselect("Topic", TOPICS, key="news_topics")
    sentiments = row[1].multiselect("Sentiment", SENTIMENTS, key="news_sentiments")
    chosen_sources = row[2].multiselect("Source", sources, key="news_sources")
    text = row[4].text_input("Search headlines", key="news_text", placeholder="e.g. merger")
    picked = timepick.range_picker(
        "news", default="24h", allow_any=True, label="Published", at=row[3]
    )
    preset = picked.preset if picked else None
    fixed = (picked.start, picked.end) if picked and preset is None else None
    return Choice(tuple(topics), tuple(sentiments), tuple(chosen_sources), preset, fixed, text)


def pager(has_more: bool) -> None:
    page = st.session_state.setdefault("news_page", 0)
    left, middle, right = st.columns([1, 2, 1])
    if left.button("← Newer", disabled=page == 0, key="news_newer"):
        st.session_state["news_page"] = page - 1
        st.rerun()
    middle.caption(f"Page {page + 1} · {PAGE_SIZE} stories a page")
    if right.button("Older →", disabled=not has_more, key="news_older"):
        st.session_state["news_page"] = page + 1
        st.rerun()


chosen = filters()
if chosen is not None:
    # A new filter starts again from the newest page.
    if st.session_state.get("news_choice") != chosen:
        st.session_state["news_choice"] = chosen
        st.session_state["news_page"] = 0

    @common.live
    def render() -> None:
        assert chosen is not None
        page_number = st.session_state.get("news_page", 0)
        with common.session() as db:
            page = queries.news_feed(
                db, filters=chosen.to_filter(), limit=PAGE_SIZE, offset=page_number * PAGE_SIZE
            )
            named = queries.entities_of_stories(db, story_ids=page.rows["story_id"].tolist())
        if page.rows.empty:
            st.info("No stories match these filters.", icon="🔍")
        else:
            common.story_table(page.rows, entities=companies.entity_cells(named))
        pager(page.has_more)

    render()
