"""`monitor entities top|show|search|sectors` against a real database: the text and the JSON
machine interface (README "monitor entities")."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from monitor.cli import cli
from tests.factories import add_alert, add_story

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
Run = Callable[..., tuple[int, str]]


@pytest.fixture
def run(pg_url: str, clean_db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.setenv("MONITOR_DATABASE__URL", pg_url)

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["entities", *args])
        return result.exit_code, result.output

    return invoke


@pytest.fixture
def world(clean_db: sessionmaker[Session]) -> dict[str, int]:
    """Apple turns negative today after a positive week; Microsoft steady; an Apple alert."""
    sectors = {"AAPL": "Information Technology", "MSFT": "Information Technology"}
    for i in range(8):
        at = NOW - timedelta(days=3, minutes=i)
        add_story(clean_db, f"Apple up {i}", at=at, entities={"AAPL": "positive"}, sectors=sectors)
        add_story(clean_db, f"MSFT {i}", at=at, entities={"MSFT": "neutral"}, sectors=sectors)
    beats = []
    for i in range(6):
        at = NOW - timedelta(hours=2, minutes=i)
        beats.append(
            add_story(
                clean_db,
                f"Microsoft beats Apple {i}",
                at=at,
                sentiment="positive",
                entities={"AAPL": ("negative", -0.9), "MSFT": "neutral"},
                sectors=sectors,
            )
        )
    alert = add_alert(clean_db, scope="AAPL", scope_kind="entity", signal="volume")
    return {"beat": beats[0], "alert": alert.id}


def test_top_json(run: Run, world: dict[str, int]) -> None:
    code, out = run("top", "--since", "24h", "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert set(doc) == {"window_start", "window_end", "baseline_start", "baseline_end",
                        "min_stories", "movers"}  # fmt: skip
    first = doc["movers"][0]
    assert (first["entity"], first["name"], first["direction"]) == ("AAPL", "Apple Inc.", "worse")
    assert first["sector"] == "Information Technology"
    assert (first["stories"], first["baseline_stories"]) == (6, 8)
    assert first["negative_share"] == 1.0 and first["baseline_negative_share"] == 0.0
    assert first["movement"] == pytest.approx(1.0)
    assert [m["entity"] for m in doc["movers"]] == ["AAPL", "MSFT"]


def test_top_text_and_limits(run: Run, world: dict[str, int]) -> None:
    code, out = run("top", "--limit", "1")
    assert code == 0, out
    assert "AAPL" in out and "Apple Inc." in out and "worse" in out and "MSFT" not in out
    code, out = run("top", "--min-stories", "50")
    assert code == 0 and "No company has 50+ stories" in out


@pytest.mark.parametrize("since", ["yesterday", "0h", "", "-1h"])
def test_bad_since_is_a_usage_error(run: Run, since: str) -> None:
    code, out = run("top", "--since", since)
    assert code == 2
    assert "Invalid value for '--since'" in out


def test_show_json_has_both_sentiments_and_alerts(run: Run, world: dict[str, int]) -> None:
    code, out = run("show", "aapl", "--since", "24h", "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert (doc["entity"], doc["name"], doc["stories"], doc["negative"]) == (
        "AAPL", "Apple Inc.", 6, 6
    )  # fmt: skip
    latest = doc["latest"][0]
    assert latest["story_id"] == world["beat"]
    assert (latest["sentiment"], latest["entity_sentiment"]) == ("positive", "negative")
    assert latest["entity_score"] == pytest.approx(-0.9)
    assert [a["id"] for a in doc["alerts"]] == [world["alert"]]
    assert doc["alerts"][0]["signal"] == "volume"

    code, out = run("show", "AAPL")
    assert code == 0 and "6 stories since" in out and "towards it negative" in out


def test_show_unknown_ticker(run: Run, clean_db: sessionmaker[Session]) -> None:
    code, out = run("show", "NOPE", "--json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["stories"], doc["name"], doc["negative_share"]) == (0, None, None)


def test_search_dictionary_then_seen(run: Run, clean_db: sessionmaker[Session]) -> None:
    add_story(clean_db, "private co", at=NOW, entities={"APPLEPRIV": "neutral"})
    code, out = run("search", "apple", "--json")
    assert code == 0, out
    found = [hit["entity"] for hit in json.loads(out)["results"]]
    assert found[0] == "AAPL" and "APPLEPRIV" in found
    code, out = run("search", "microsoft")
    assert code == 0 and out.startswith("MSFT") and "Microsoft" in out


def test_sectors(run: Run, world: dict[str, int]) -> None:
    code, out = run("sectors", "--json")
    assert code == 0, out
    (tech,) = json.loads(out)["sectors"]
    assert (tech["sector"], tech["entities"], tech["stories"]) == ("Information Technology", 2, 12)
    code, out = run("sectors")
    assert code == 0 and "Information Technology" in out


@pytest.mark.parametrize("ticker", ["", "  ", "X" * 65, "A\x00B"])
def test_show_refuses_what_is_not_a_ticker(run: Run, ticker: str) -> None:
    code, out = run("show", ticker)
    assert code == 2 and "Invalid value for TICKER" in out
