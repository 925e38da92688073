"""The Company page and Overview's top movers in a real browser (Playwright driving Debian's
Chromium) against `streamlit run` on PostgreSQL: a top mover's link opens its Company page
(charts drawn, the sentiment towards it beside the story's), and the sidebar's search box opens
another. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.dashboard.conftest import MakeStory, choose, screenshot, seed_apple, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def body(page: Any) -> str:
    return str(page.inner_text("body")).replace("\u2060", "")


def seed(make_story: MakeStory) -> None:
    seed_apple(make_story, "Microsoft beats Apple in cloud deal {i}")


def test_top_mover_opens_the_company_page(
    dashboard_url: str, page: Any, make_story: MakeStory
) -> None:
    seed(make_story)
    page.goto(dashboard_url + "/")
    wait_for(lambda: "Top movers" in body(page), 60, "the Overview's top movers")
    link = page.locator("a[href='company?ticker=AAPL&range=24h']").first
    link.wait_for(timeout=30_000)
    screenshot(page, "overview-top-movers")
    link.click()
    wait_for(lambda: "/company?ticker=AAPL&range=24h" in page.url, 30, "the Company page's URL")
    wait_for(lambda: "AAPL · Apple Inc." in body(page), 60, "the Company page")
    wait_for(lambda: "Stories naming it\n\n6" in body(page), 60, "its 6 stories of the 24 hours")
    wait_for(lambda: "story overall" in body(page), 60, "its stories")
    text = body(page)
    assert "Negative towards it\n\n100.0%" in text and "towards AAPL" in text
    row = page.locator("tr", has_text="Microsoft beats Apple in cloud deal 0").inner_text()
    assert row.index("negative") < row.index("positive")  # towards Apple, then the story's
    wait_for(
        lambda: page.locator("[data-testid=stVegaLiteChart] svg").count() >= 2, 30, "its charts"
    )
    screenshot(page, "company-page")


def test_search_box_opens_a_company(dashboard_url: str, page: Any, make_story: MakeStory) -> None:
    seed(make_story)
    page.goto(dashboard_url + "/news")
    wait_for(lambda: "Microsoft beats Apple" in body(page), 60, "the News page")
    choose(page, "Find a company", "MSFT — Microsoft", typed="Microsoft")
    wait_for(lambda: "MSFT · Microsoft" in body(page), 60, "Microsoft's page")
    assert "/company?" in page.url and "ticker=MSFT" in page.url, page.url  # a deep link
    wait_for(lambda: "Stories naming it" in body(page), 60, "its figures")
