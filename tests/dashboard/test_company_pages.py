"""The Company page, the sidebar's company search, Overview's top movers and the News page's
companies, run by Streamlit's AppTest against PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import streamlit as st
from sqlalchemy.orm import Session, sessionmaker

from tests.dashboard.conftest import NOW, MakeStory, seed_apple
from tests.dashboard.test_pages import OpenPage, open_page, text_of  # noqa: F401 (fixture)
from tests.factories import add_alert

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    """The pages cache what the database lists (sources, seen entities) for minutes, keyed by
    its URL, which every test shares: start and leave each test without them."""
    st.cache_data.clear()
    yield
    st.cache_data.clear()


@pytest.fixture
def companies_world(make_story: MakeStory, clean_db: sessionmaker[Session]) -> dict[str, Any]:
    """Apple positive last week, negative today (in "Microsoft beats Apple" stories that are
    positive overall); an Apple watchlist alert firing."""
    seed_apple(make_story, "Microsoft beats Apple <b>{i}</b> [link](https://evil.example)")
    alert = add_alert(
        clean_db,
        scope="AAPL",
        scope_kind="entity",
        signal="volume",
        window_end=NOW - timedelta(minutes=1),
    )
    return {"alert": alert}


def test_company_page(open_page: OpenPage, companies_world: dict[str, Any]) -> None:  # noqa: F811
    at = open_page("company", ticker="aapl")
    page = text_of(at)
    assert "🏢 AAPL · Apple Inc." in page
    assert "Sector: Information Technology" in page
    metrics = {m.label: m.value for m in at.metric}
    # The range the link carries (the Overview's 24 hours, as AppTest opens it).
    assert (metrics["Stories naming it"], metrics["Negative towards it"]) == ("6", "100.0%")
    assert metrics["Its alerts firing"] == "1"
    assert len(at.get("vega_lite_chart")) >= 2
    # The story's own sentiment (positive) beside the one towards Apple (negative).
    assert "towards AAPL" in page and "story overall" in page
    row = next(r for r in page.split("<tr>") if "Microsoft beats Apple" in r)
    assert row.index("● negative") < row.index("● positive")
    # Feed text stays text: escaped, never a tag or a Markdown link.
    assert "&lt;b&gt;0&lt;/b&gt; [link](https://evil.example)" in page
    assert "<b>0</b>" not in page
    alert = companies_world["alert"]
    assert f"alerts?alert_id={alert.id}" in page and "negative volume" in page

    at.selectbox(key="company_range").select("Last 7 days").run()
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Stories naming it"], metrics["Negative towards it"]) == ("14", "42.9%")


def test_company_page_without_stories_or_ticker(
    open_page: OpenPage,  # noqa: F811
    clean_db: sessionmaker[Session],
) -> None:
    page = text_of(open_page("company", ticker="ZZZZ"))
    assert "Not in the entity dictionary" in page
    assert "No story names ZZZZ in the last 24 hours" in page
    assert "No alert about it" in page

    at = open_page("company")
    page = text_of(at)
    assert "Find a company by ticker or name" in page
    assert "No company has enough stories" in page
    assert text_of(open_page("company", ticker="x" * 200)).count("is not a ticker") == 1


def test_search_box_opens_the_company_page(
    open_page: OpenPage,  # noqa: F811
    companies_world: dict[str, Any],
) -> None:
    at = open_page("overview")
    box = at.selectbox(key="company_search")
    assert "AAPL" in box.options[:600] or "AAPL — Apple Inc." in box.options
    box.select("MSFT").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params.get("ticker") in ("MSFT", ["MSFT"])
    assert "🏢 MSFT · Microsoft" in text_of(at)


def test_overview_top_movers_link_to_company_pages(
    open_page: OpenPage,  # noqa: F811
    companies_world: dict[str, Any],
) -> None:
    page = text_of(open_page("overview"))
    assert "Top movers" in page
    movers = page[page.index("<th>moved</th>") :]
    apple, microsoft = 'href="company?ticker=AAPL&amp;range=24h"', 'href="company?ticker=MSFT'
    assert movers.index(apple) < movers.index(microsoft)  # the range goes with the link
    assert "▲ worse 1.00" in movers  # negative share 0% → 100%


def test_news_page_shows_each_storys_companies(
    open_page: OpenPage,  # noqa: F811
    companies_world: dict[str, Any],
    make_story: Callable[..., int],
) -> None:
    page = text_of(open_page("news"))
    assert "<th>companies</th>" in page
    row = next(r for r in page.split("<tr>") if "Microsoft beats Apple" in r)
    assert 'href="company?ticker=AAPL"' in row and "title='negative'" in row
    assert 'href="company?ticker=MSFT"' in row and "title='positive'" in row


def test_an_entity_alert_on_the_desk(
    open_page: OpenPage,  # noqa: F811
    companies_world: dict[str, Any],
    clean_db: sessionmaker[Session],
) -> None:
    """The desk shows a watchlist alert's company: its window's stories naming it, the chart of
    the sentiment towards it, and a link to its Company page."""
    alert = add_alert(
        clean_db,
        scope="AAPL",
        scope_kind="entity",
        window_end=NOW - timedelta(minutes=55),  # (−70 min, −55 min]: the 6 stories
        window_count=6,
        window_negative=6,
    )
    at = open_page("alerts", alert_id=str(alert.id))
    page = text_of(at)
    assert "The window's stories (6;" in page.replace("**", "")
    assert "Microsoft beats Apple" in page and "Apple record quarter" not in page
    links = [link.proto.page for link in at.get("page_link")]
    assert links == ["company"], links  # the Company page's url path
    assert len(at.get("vega_lite_chart")) >= 1


def test_an_unreadable_dictionary_costs_the_names_not_the_pages(
    open_page: OpenPage,  # noqa: F811
    companies_world: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    monkeypatch.setenv("MONITOR_ENTITIES__DICTIONARY", str(tmp_path / "missing.csv"))
    at = open_page("company", ticker="AAPL")
    page = text_of(at)
    assert "No company names: MONITOR_ENTITIES__DICTIONARY" in page
    assert "Not in the entity dictionary" in page  # no name, but the figures
    assert {m.label: m.value for m in at.metric}["Stories naming it"] == "6"
    assert at.selectbox(key="company_search").options == ["AAPL", "MSFT"]  # seen in stories


def test_company_page_without_a_ticker_lists_movers_and_sectors(
    open_page: OpenPage,  # noqa: F811
    companies_world: dict[str, Any],
) -> None:
    at = open_page("company")
    page = text_of(at)
    assert 'href="company?ticker=AAPL&amp;range=24h"' in page
    (sectors,) = [frame.value for frame in at.dataframe]
    assert sectors.loc["Information Technology", "entities"] == 2
    assert sectors.loc["Information Technology", "stories"] == 12  # 6 stories, 2 companies each
