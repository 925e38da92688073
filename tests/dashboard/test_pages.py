"""Every page, run by Streamlit's AppTest against the seeded PostgreSQL database."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from streamlit.testing.v1 import AppTest

from monitor.dashboard_server import APP as APP_PATH
from monitor.store import migrate, queries
from monitor.store.db import make_engine, make_sessionmaker
from monitor.store.models import Alert
from tests.dashboard.conftest import NOW
from tests.factories import add_story

pytestmark = pytest.mark.integration

APP = str(APP_PATH)
OpenPage = Callable[..., AppTest]


@pytest.fixture
def open_page(dashboard_env: str) -> OpenPage:
    """Run the app on one page (as its URL would), with optional query parameters."""

    def open_(page: str = "overview", **query_params: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=30)
        for name, value in query_params.items():
            at.query_params[name] = value
        at.run()
        if page != "overview":
            at.switch_page(f"views/{page}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return open_


def text_of(at: AppTest) -> str:
    """Everything a person reads on the page, as one string: Markdown with its escapes of feed
    text undone (`Energy \\| Oil` reads `Energy | Oil`), and the HTML tables as sent."""
    parts: list[Any] = []
    for kind in (
        "markdown",
        "title",
        "subheader",
        "caption",
        "error",
        "warning",
        "info",
        "success",
    ):
        parts.extend(element.value for element in getattr(at, kind))
    parts.extend(f"{m.label} {m.value}" for m in at.metric)
    text = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", "\n".join(str(part) for part in parts))
    return "\n".join([text, *(html.proto.body for html in at.get("html"))])


def test_overview_shows_firing_alert_and_topics(open_page: OpenPage, seeded: dict) -> None:
    at = open_page("overview")
    page = text_of(at)
    assert "🚨 **Energy | Oil**" in page
    assert "negative share **75%** vs baseline 20%" in page
    assert "Company | Product News" in page  # a topic in range
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Stories"] == "8"  # the updated story counts once
    assert metrics["Alerts firing"] == "1"
    assert len(at.get("vega_lite_chart")) >= 3  # market, heatmap, topic lines


def test_overview_empty_state(open_page: OpenPage, clean_db: sessionmaker[Session]) -> None:
    page = text_of(open_page("overview"))
    assert "No alerts firing" in page
    assert "No classified stories" in page


def test_alerts_list_and_detail_by_query_param(open_page: OpenPage, seeded: dict) -> None:
    firing: Alert = seeded["firing"]
    at = open_page("alerts", alert_id=str(firing.id))
    page = text_of(at)
    assert f"#{firing.id} · Energy | Oil · 🔴 firing" in page
    assert "75.0%" in page and "20.0%" in page  # observed vs baseline share
    assert "8.10" in page and "3.00" in page  # statistic vs threshold
    assert "30 negative of 40 stories" in page
    assert "Crude slumps as OPEC talks collapse 0" in page  # a story that drove it
    assert "1 firing**, 1 resolved" in page


def test_alerts_unknown_id_is_a_message(open_page: OpenPage, seeded: dict) -> None:
    assert "There is no alert #999999" in text_of(open_page("alerts", alert_id="999999"))


def acknowledge(open_page: OpenPage, alert: Alert, who: str) -> AppTest:
    """Open the alert's page and submit the acknowledge form as `who`."""
    at = open_page("alerts", alert_id=str(alert.id))
    at.text_input(key="ack_who").input(who)
    at.get("form_submit_button")[0].click().run()
    assert not at.exception
    return at


def test_acknowledge_records_who_and_when(
    open_page: OpenPage, seeded: dict, clean_db: sessionmaker[Session]
) -> None:
    firing: Alert = seeded["firing"]
    at = acknowledge(open_page, firing, "alice")
    with clean_db() as session:
        alert = session.get(Alert, firing.id)
        assert alert is not None
        assert alert.acknowledged_by == "alice"
        assert alert.acknowledged_at is not None
    assert "Acknowledged by **alice**" in text_of(at)


def test_a_second_acknowledgement_is_reported_and_the_first_stands(
    open_page: OpenPage, seeded: dict, clean_db: sessionmaker[Session]
) -> None:
    firing: Alert = seeded["firing"]
    at = open_page("alerts", alert_id=str(firing.id))  # alice's page, before anyone took it
    with clean_db.begin() as session:  # meanwhile bob takes it from another browser
        queries.acknowledge_alert(session, alert_id=firing.id, who="bob")
    at.text_input(key="ack_who").input("alice")
    at.get("form_submit_button")[0].click().run()
    assert not at.exception
    assert f"Not recorded: alert #{firing.id} was already acknowledged by bob" in text_of(at)
    with clean_db() as session:
        alert = session.get(Alert, firing.id)
        assert alert is not None and alert.acknowledged_by == "bob"
    assert "Acknowledged by **bob**" in text_of(at)


def test_news_stream_and_filters(open_page: OpenPage, seeded: dict) -> None:
    at = open_page("news")
    page = text_of(at)
    assert "Crude slumps as OPEC talks collapse 0" in page
    assert '<a href="https://example.com/oil"' in page  # linked when a URL exists
    assert page.count("Globex cuts guidance") == 1  # an updated story shows once
    assert "Acme shares rise" in page

    at.multiselect(key="news_topics").select("Energy | Oil").run()
    page = text_of(at)
    assert "Crude slumps" in page and "Acme" not in page and "Globex" not in page

    at.multiselect(key="news_topics").unselect("Energy | Oil").run()
    at.multiselect(key="news_sentiments").select("positive").run()
    page = text_of(at)
    assert "Acme shares rise" in page and "Crude" not in page

    at.multiselect(key="news_sentiments").unselect("positive").run()
    at.text_input(key="news_text").input("GLOBEX").run()
    page = text_of(at)
    assert page.count("Globex cuts guidance") == 1 and "Crude" not in page

    at.text_input(key="news_text").input("").run()
    at.multiselect(key="news_sources").select("reuters-like").run()
    assert "Acme" not in text_of(at) and "Crude slumps" in text_of(at)

    at.multiselect(key="news_sources").unselect("reuters-like").run()
    at.selectbox(key="news_range").select("Last hour").run()
    page = text_of(at)
    assert "Crude slumps" in page and "Acme" not in page  # Acme is two hours old


def test_news_no_match_message(open_page: OpenPage, seeded: dict) -> None:
    at = open_page("news")
    at.text_input(key="news_text").input("no such headline anywhere").run()
    assert "No stories match" in text_of(at)


def test_pipeline_page(open_page: OpenPage, seeded: dict) -> None:
    page = text_of(open_page("pipeline"))
    assert "missing or empty headline" in page  # the dead letter's reason
    assert "Model version in use lstm-test-1" in page
    assert "unreachable" in page  # the broker in the test env is not there
    assert "7 stories ingested in the last hour" in page  # Acme came in 2 h ago


def test_pipeline_shows_validation_figures(
    open_page: OpenPage, seeded: dict, tmp_path: Path
) -> None:
    figures = {
        "version": "lstm-tfns-test",
        "validation": {
            "sentiment": {"accuracy": 0.8364, "macro_f1": 0.7836, "n": 1430},
            "topic": {"accuracy": 0.869, "macro_f1": 0.8523, "n": 2550},
        },
        "best_epoch": 8,
        "history": [{"epoch": 1}],
    }
    (tmp_path / "absent.metrics.json").write_text(json.dumps(figures))
    at = open_page("pipeline")
    table = at.dataframe[-1].value
    assert table.loc["sentiment", "macro_f1"] == 0.7836
    assert table.loc["topic", "accuracy"] == 0.869
    page = text_of(at)
    assert "checkpoint `lstm-tfns-test`" in page
    assert "newest classifications come from `lstm-test-1`" in page  # a mismatch is pointed out
    assert "best epoch 8" in page


@pytest.mark.parametrize("page", ["overview", "alerts", "news", "pipeline"])
def test_database_down_gives_clear_message(
    page: str, dashboard_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_DATABASE__URL", "postgresql+psycopg://postgres@127.0.0.1:1/none")
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    if page != "overview":
        at.switch_page(f"views/{page}.py").run()
    assert not at.exception
    assert any("database is unavailable" in e.value for e in at.error)


def test_every_page_works_on_sqlite(
    dashboard_env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The local default (`monitor up` without PostgreSQL) is SQLite: same pages, same content."""
    url = f"sqlite:///{tmp_path / 'local.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    add_story(
        make_sessionmaker(engine),
        "Sqlite story: copper rallies",
        at=NOW - timedelta(minutes=3),
        topic="Gold | Metals | Materials",
        sentiment="positive",
        model_version="lstm-sqlite",
    )
    engine.dispose()
    monkeypatch.setenv("MONITOR_DATABASE__URL", url)
    expected = {
        "overview": "Gold | Metals | Materials",
        "alerts": "No alerts here",
        "news": "Sqlite story: copper rallies",
        "pipeline": "lstm-sqlite",
    }
    for page, text in expected.items():
        at = AppTest.from_file(APP, default_timeout=30)
        at.run()
        if page != "overview":
            at.switch_page(f"views/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert text in text_of(at), page


@pytest.fixture
def read_only_url(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The test database through a role that may only SELECT (as a locked-down dashboard's)."""
    role = f"monitor_ro_{uuid.uuid4().hex[:8]}"
    engine = make_engine(pg_url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"CREATE ROLE {role} LOGIN"))
        connection.execute(sa.text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
    url = pg_url.replace("postgres@", f"{role}@")
    monkeypatch.setenv("MONITOR_DATABASE__URL", url)
    yield url
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP OWNED BY {role}"))
        connection.execute(sa.text(f"DROP ROLE {role}"))
    engine.dispose()


def test_acknowledging_with_a_read_only_role_says_it_cannot_write(
    open_page: OpenPage, seeded: dict, read_only_url: str, clean_db: sessionmaker[Session]
) -> None:
    firing: Alert = seeded["firing"]
    page = text_of(acknowledge(open_page, firing, "alice"))
    assert "Cannot acknowledge: this dashboard's database role may only read" in page
    assert "database is unavailable" not in page
    with clean_db() as session:
        alert = session.get(Alert, firing.id)
        assert alert is not None and alert.acknowledged_by is None


def test_overview_reads_its_range_from_the_link(open_page: OpenPage, seeded: dict) -> None:
    week = open_page("overview", range="7d")
    assert week.selectbox(key="overview_range").value == "Last 7 days"
    assert {m.label: m.value for m in week.metric}["Stories"] == "8"
    start, end = NOW - timedelta(hours=3), NOW - timedelta(hours=1)
    custom = open_page(
        "overview", **{"from": f"{start:%Y-%m-%dT%H:%MZ}", "to": f"{end:%Y-%m-%dT%H:%MZ}"}
    )
    assert custom.selectbox(key="overview_range").value == "Custom range…"
    assert {m.label: m.value for m in custom.metric}["Stories"] == "1"  # only Acme, 2 h ago
    broken = text_of(open_page("overview", **{"from": "yesterday", "to": "today"}))
    assert "Ignoring the link's time range" in broken and "is not a time" in broken


def test_every_time_is_in_the_chosen_zone(open_page: OpenPage, seeded: dict) -> None:
    at = open_page("news", tz="America/New_York")
    page = text_of(at)
    published = seeded_time(at, "Acme shares rise")
    assert "published (America/New_York)" in page
    assert published.endswith(("EST", "EDT")) and "UTC" not in published


def seeded_time(at: AppTest, headline: str) -> str:
    """The published time in the News table's row of `headline`."""
    table = next(h.proto.body for h in at.get("html") if headline in h.proto.body)
    row = next(r for r in table.split("<tr>") if headline in r)
    return re.sub(r"<[^>]+>", "|", row).strip("|").split("|")[0]


def test_resolved_alerts_with_their_duration(open_page: OpenPage, seeded: dict) -> None:
    at = open_page("alerts")
    at.radio(key="alerts_status").set_value("Resolved").run()
    table = at.dataframe[0].value
    assert table["status"].tolist() == ["resolved"]
    assert table["duration"].tolist() == ["1 h 0 min"]
    assert table["severity"].tolist() == ["🟥 critical"]  # a 20-point rise at z 8.1 vs 3.0


def test_window_stories_are_sorted_and_paged(open_page: OpenPage, seeded: dict) -> None:
    firing: Alert = seeded["firing"]
    at = open_page("alerts", alert_id=str(firing.id))
    page = text_of(at)
    assert "The window's stories** (6;" in page  # the six oil stories in its window
    at.selectbox(key=f"alert_{firing.id}_order").select("oldest first").run()
    table = next(h.proto.body for h in at.get("html") if "Crude slumps" in h.proto.body)
    assert table.index("collapse 5") < table.index("collapse 0")  # oldest first
    assert len(at.get("download_button")) == 1
