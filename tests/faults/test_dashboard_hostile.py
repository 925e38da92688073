"""Hostile feed and user text in a real browser: headlines, sources, names, reasons and query
parameters that are Markdown or HTML render as inert text on every page (no link, image or
script they ask for), the tables still render, and nothing in the database changes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from tests.dashboard.conftest import NOW, wait_for

WORD_JOINER = "\u2060"

pytestmark = [pytest.mark.integration, pytest.mark.browser]

EVIL = "evil.example"
PHISH = f"[Renew your session](https://{EVIL}/login)"
HEADLINE = (
    f"Markets calm\n\n{PHISH} ![x](https://{EVIL}/pixel.png) "
    f"<img src=https://{EVIL}/i.png onerror=alert(1)> <script>alert(1)</script> "
    f"<a href=https://{EVIL}/a>click</a> **bold** :red[red] $x^2$ www.{EVIL} https://{EVIL}/bare"
)
NAME = f"[Renew](https://{EVIL}/ack) ![i](https://{EVIL}/ack.png) <b>boss</b>"
REASON = f"not JSON: [x](https://{EVIL}/dl) ![y](https://{EVIL}/dl.png)"
HOSTILE_QUERIES = [f"[x](https://{EVIL}/q)", f"<img src=https://{EVIL}/q.png>", "1 ![a](x)"]
# Anything a page must not contain: a link or image to the hostile host, or a script URL.
FORBIDDEN = (
    f'a[href*="{EVIL}"], img[src*="{EVIL}"], iframe[src*="{EVIL}"], a[href^="javascript"], '
    f'[src*="{EVIL}"], [href*="{EVIL}"]'
)


@pytest.fixture
def hostile(
    make_story: Callable[..., Any],
    make_alert: Callable[..., Any],
    make_dead_letter: Callable[..., Any],
) -> dict[str, Any]:
    stories = [
        make_story(
            HEADLINE,
            source=f"[wire](https://{EVIL}/src)",
            url="javascript:alert(1)",
            sentiment="negative",
            topic="Energy | Oil",
        ),
        *(
            make_story(
                f"Plain headline with a real link {i}",
                url=f"https://news.example/{i}",
                sentiment="negative",
                topic="Energy | Oil",
                published_at=NOW - timedelta(minutes=6 + i),
            )
            for i in range(2)
        ),
    ]
    alert = make_alert(story_ids=stories, acknowledged_by=NAME, acknowledged_at=NOW)
    make_dead_letter(error=REASON)
    return {"alert": alert, "stories": stories}


def snapshot(sessions: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with sessions() as session:
        return [
            tuple(row)
            for table in ("stories", "alerts", "dead_letters", "classifications")
            for row in session.execute(sa.text(f"SELECT * FROM {table} ORDER BY id"))
        ]


def inert(page: Any, where: str) -> str:
    """The page's text, once no element anywhere (any frame) links or loads the hostile host."""
    for frame in page.frames:
        found = frame.eval_on_selector_all(FORBIDDEN, "els => els.map(e => e.outerHTML)")
        assert not found, f"{where}: live hostile markup {found}"
    return read(page)


def read(page: Any) -> str:
    """What a person reads: the invisible word joiners that defuse autolinks left out."""
    return str(page.inner_text("body")).replace(WORD_JOINER, "")


def open_page(page: Any, url: str, expected: list[str]) -> str:
    page.goto(url)
    wait_for(
        lambda: all(text in read(page) for text in expected),
        45,
        f"{url} to show {expected}",
    )
    page.wait_for_timeout(2500)  # a live refresh or two: fragments re-render
    return inert(page, url)


def test_hostile_text_renders_as_text_everywhere(
    dashboard_url: str, page: Any, hostile: dict[str, Any], clean_db: sessionmaker[Session]
) -> None:
    before = snapshot(clean_db)
    alert_id = hostile["alert"].id

    news = open_page(page, f"{dashboard_url}/news", ["Plain headline with a real link 0", PHISH])
    assert "<script>alert(1)</script>" in news and f"[wire](https://{EVIL}/src)" in news
    rows = page.eval_on_selector_all("table tr", "rows => rows.length")
    assert rows >= 4, "the news table lost its rows"
    links = page.eval_on_selector_all("table a", "els => els.map(e => e.href)")
    assert sorted(links) == ["https://news.example/0", "https://news.example/1"]

    alert_page = open_page(page, f"{dashboard_url}/alerts?alert_id={alert_id}", [PHISH, NAME])
    assert f"#{alert_id}" in alert_page

    overview = open_page(page, f"{dashboard_url}/", ["acknowledged by", NAME])
    assert "Market sentiment" in overview

    pipeline = open_page(page, f"{dashboard_url}/pipeline", ["Dead letters", REASON])
    assert "Dead letters" in pipeline

    for query in HOSTILE_QUERIES:
        text = open_page(
            page, f"{dashboard_url}/alerts?alert_id={quote(query)}", ["is not an alert number"]
        )
        assert " ".join(query.split())[:40] in text

    assert snapshot(clean_db) == before, "rendering changed the database"
