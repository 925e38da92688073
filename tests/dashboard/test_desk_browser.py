"""The analyst's desk in a real browser (Playwright driving Debian's Chromium) against one
`streamlit run` for the module, on PostgreSQL and a real broker: a custom range picked with the
date and time pickers, the time zone switched (the same hour on the chart axis and in the
table), an alert's stories exported as CSV, a silence created from the alert page, and the lag
chart at lag 0. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from monitor.ingest import kafka
from monitor.settings import KafkaSettings
from monitor.store.models import Alert
from tests.dashboard.conftest import choose, screenshot, serve_dashboard, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.browser]

DAY = (datetime.now(UTC) - timedelta(days=40)).replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def desk_url(pg_url: str, broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One dashboard for the module, on the session's database and a topic whose group is
    caught up (lag 0 on every partition)."""
    topic = f"news-{uuid.uuid4().hex[:8]}"
    kafka.ensure_topic(KafkaSettings(bootstrap_servers=broker, topic=topic, partitions=3))
    log = tmp_path_factory.mktemp("desk") / "streamlit.log"
    with serve_dashboard(
        pg_url,
        log,
        MONITOR_KAFKA__BOOTSTRAP_SERVERS=broker,
        MONITOR_KAFKA__TOPIC=topic,
        MONITOR_KAFKA__GROUP_ID=f"monitor-{uuid.uuid4().hex[:8]}",
        MONITOR_DASHBOARD__REFRESH_S="3",
    ) as url:
        yield url


def body(page: Any) -> str:
    return str(page.inner_text("body")).replace("\u2060", "")  # the autolink breakers


def axis_labels(page: Any) -> list[str]:
    return list(
        page.eval_on_selector_all(
            "svg g.role-axis-label text", "els => els.map(e => e.textContent)"
        )
    )


def set_date_time(page: Any, label: str, moment: datetime) -> None:
    """Type a date and a time into a custom range's pickers (React Aria segments), again if a
    rerun of the page swallowed a keystroke."""
    wanted = {
        f"year, {label} (date)": f"{moment:%Y}",
        f"month, {label} (date)": f"{moment:%m}",
        f"day, {label} (date)": f"{moment:%d}",
        f"hour, {label} (time)": f"{moment:%H}",
        f"minute, {label} (time)": f"{moment:%M}",
    }

    def shown() -> dict[str, str]:
        return {name: page.get_by_role("spinbutton", name=name).inner_text() for name in wanted}

    for _ in range(3):
        for name, value in wanted.items():
            page.get_by_role("spinbutton", name=name).click()
            page.keyboard.type(value)
        page.keyboard.press("Tab")
        page.wait_for_timeout(1500)
        if shown() == wanted:
            return
    raise AssertionError(f"{label} shows {shown()}, not {wanted}")


def test_pick_a_custom_range(desk_url: str, page: Any, make_story: Callable[..., int]) -> None:
    for i in range(12):
        make_story(
            f"Archive story {i}",
            topic="Markets",
            sentiment="negative" if i < 4 else "neutral",
            published_at=DAY + timedelta(hours=10, minutes=5 * i),
        )
    page.goto(desk_url + "/")
    wait_for(lambda: "No classified stories in the last 24 hours" in body(page), 60, "Overview")
    choose(page, "Time range", "Custom range…")
    page.get_by_role("group", name="From (date)").wait_for()
    page.wait_for_timeout(1000)  # the page's rerun for the new choice
    set_date_time(page, "From", DAY)
    wait_for(lambda: f"from={DAY:%Y-%m-%d}T00%3A00Z" in page.url, 30, "the start in the URL")
    set_date_time(page, "To", DAY + timedelta(days=1))
    link = f"from={DAY:%Y-%m-%d}T00%3A00Z&to={DAY + timedelta(days=1):%Y-%m-%d}T00%3A00Z"
    wait_for(lambda: link in page.url, 30, "the range in the URL")  # a deep link to it
    wait_for(lambda: "Stories\n\n12" in body(page), 30, "the 12 archived stories")
    assert "33.3%" in body(page)  # 4 of 12 negative
    wait_for(lambda: page.locator("[data-testid=stVegaLiteChart] svg").count() >= 2, 30, "charts")
    screenshot(page, "overview-custom-range")

    page.goto(page.url)  # the deep link opens the same range
    wait_for(lambda: "Stories\n\n12" in body(page), 60, "the same range from the link")


def test_switch_time_zone_same_hour_on_axis_and_table(
    desk_url: str, page: Any, make_story: Callable[..., int]
) -> None:
    for i in range(10):
        make_story(
            f"Tokyo check {i}", topic="Macro", published_at=DAY + timedelta(hours=3, minutes=2 * i)
        )
    link = f"/?from={DAY:%Y-%m-%d}T00:00Z&to={DAY:%Y-%m-%d}T06:00Z"
    page.goto(desk_url + link)
    wait_for(lambda: "Stories\n\n10" in body(page), 60, "the Overview")
    wait_for(lambda: "03:00" in axis_labels(page), 30, "a 03:00 tick in UTC")

    choose(page, "Time zone", "Asia/Tokyo")
    wait_for(lambda: "Times in Asia/Tokyo (UTC+09:00)" in body(page), 30, "the zone named")
    wait_for(lambda: "12:00" in axis_labels(page), 30, "the 03:00 UTC hour at 12:00 JST")
    wait_for(lambda: "03:00" not in axis_labels(page), 30, "no UTC axis left")
    titles = page.eval_on_selector_all(
        "svg g.role-axis-title text", "els => els.map(e => e.textContent)"
    )
    assert "time (Asia/Tokyo (UTC+09:00))" in titles
    page.get_by_text("Numbers behind the market chart").click()
    wait_for(
        lambda: f"{DAY:%Y-%m-%d} 12:00\t10\t" in body(page), 30, "the 12:00 JST bucket, 10 stories"
    )
    assert "bucket start (Asia/Tokyo)" in body(page)
    assert "tz=Asia%2FTokyo" in page.url or "tz=Asia/Tokyo" in page.url
    screenshot(page, "overview-asia-tokyo")

    page.goto(
        f"{desk_url}/news?tz=Asia/Tokyo&range=&from={DAY:%Y-%m-%d}T00:00Z&to={DAY:%Y-%m-%d}T06:00Z"
    )
    wait_for(lambda: "Tokyo check 9" in body(page), 60, "the News page")
    assert f"{DAY:%Y-%m-%d} 12:18 JST" in body(page)  # 03:18 UTC, in the table's zone
    screenshot(page, "news-asia-tokyo")


@pytest.fixture
def oil_alert(
    make_story: Callable[..., int], make_alert: Callable[..., Alert]
) -> tuple[Alert, set[int]]:
    """An Energy | Oil alert whose window holds 30 oil stories (one a spreadsheet formula);
    other topics and earlier oil stories are outside it."""
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    start = end - timedelta(hours=1)
    inside = {
        make_story(
            '=HYPERLINK("https://evil.example","click")' if i == 0 else f"Crude slides {i}",
            topic="Energy | Oil",
            sentiment="negative" if i % 3 else "neutral",
            published_at=start + timedelta(minutes=2 * i + 1),
        )
        for i in range(30)
    }
    make_story("Other topic", topic="Earnings", published_at=start + timedelta(minutes=5))
    make_story("Before the window", topic="Energy | Oil", published_at=start - timedelta(minutes=5))
    alert = make_alert(
        window_start=start, window_end=end, window_count=30, window_negative=20, story_ids=[]
    )
    return alert, inside


def test_open_an_alert_and_export_its_stories(
    desk_url: str, page: Any, oil_alert: tuple[Alert, set[int]], tmp_path: Path
) -> None:
    alert, inside = oil_alert
    page.goto(f"{desk_url}/alerts?alert_id={alert.id}")
    wait_for(lambda: "The window's stories (30;" in body(page), 60, "the window's stories")
    wait_for(lambda: "Page 1 of 2" in body(page), 30, "the first page of 25")
    assert "critical" in body(page)  # 75 % vs 20 % at z 8.1 against 3.0
    with page.expect_download() as download:
        page.get_by_text("Download all 30 as CSV").click()
    saved = tmp_path / "stories.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert {int(r["story_id"]) for r in rows} == inside
    assert {r["topic"] for r in rows} == {"Energy | Oil"}
    formula = next(r for r in rows if "HYPERLINK" in r["headline"])
    assert formula["headline"].startswith("'=HYPERLINK")  # a spreadsheet shows it as text
    assert all(r["published_at_utc"].endswith("Z") for r in rows)
    screenshot(page, "alert-detail")


def test_create_a_silence_and_see_the_alert_silenced(
    desk_url: str, page: Any, oil_alert: tuple[Alert, set[int]], clean_db: sessionmaker[Session]
) -> None:
    alert, _ = oil_alert
    page.goto(f"{desk_url}/alerts?alert_id={alert.id}")
    wait_for(lambda: "Silence this scope" in body(page), 60, "the alert page")
    page.get_by_text("Silence this scope").click()
    form = page.locator("[data-testid=stForm]").filter(has_text="no alert opens").first
    form.get_by_label("Your name").fill("alice <b>desk</b>")
    form.get_by_label("Reason").fill("OPEC meeting [live](https://evil.example)")
    form.get_by_role("button", name="Silence").click()
    wait_for(lambda: "Silenced by alice <b>desk</b>" in body(page), 30, "the alert marked silenced")
    text = body(page)
    assert "OPEC meeting [live](https://evil.example)" in text  # user text stays text
    assert page.locator('a[href*="evil.example"]').count() == 0
    assert f"#{alert.id} · Energy | Oil · 🔴 firing" in text and "🔕 silenced" in text
    with clean_db() as session:
        row = session.execute(sa.text("SELECT matcher, created_by, ends_at FROM silences")).one()
    assert row.matcher == "Energy | Oil" and row.created_by == "alice <b>desk</b>"
    screenshot(page, "alert-silenced")

    page.goto(f"{desk_url}/alerts")
    wait_for(lambda: "1 firing, 0 resolved" in body(page), 60, "the alert list")
    page.get_by_text("🔕 Silences").click()
    wait_for(lambda: "1 active or pending" in body(page), 30, "the silence listed")
    assert "by alice <b>desk</b>: OPEC meeting" in body(page)
    screenshot(page, "alerts-list")


def test_lag_chart_at_lag_zero_has_a_readable_axis(desk_url: str, page: Any) -> None:
    page.goto(f"{desk_url}/pipeline")
    wait_for(lambda: "partition 2" in axis_labels(page), 60, "the lag chart")
    labels = axis_labels(page)
    assert {"0", "1", "partition 0", "partition 1", "partition 2"} <= set(labels)
    assert not any("." in label for label in labels[: labels.index("partition 0")])
    titles = page.eval_on_selector_all(
        "svg g.role-axis-title text", "els => els.map(e => e.textContent)"
    )
    assert "messages behind" in titles
    assert "Messages behind" in body(page)
    screenshot(page, "pipeline-lag-zero")
