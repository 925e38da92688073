"""Entities end to end on the real broker and PostgreSQL: `monitor consume` resolves the
companies of stories named by ticker field, cashtag and name (including "X beats Y"
headlines), and each story ends with exactly the right story_entities rows; a correction
replaces them, and absurd entity strings never stop the consumer."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from monitor.ingest.lag import consumer_lag
from tests.ingest.conftest import Pipeline, running_pipeline, wait_until

pytestmark = pytest.mark.integration

Row = tuple[str, str, str, bool, str | None]  # entity, mention, matched_by, has span, sector
IT, FIN, ENERGY = "Information Technology", "Financials", "Energy"

STORIES: list[tuple[dict[str, Any], set[Row]]] = [
    (
        {"headline": "Apple beats Microsoft as iPhone sales soar", "tickers": ["AAPL"]},
        {("AAPL", "Apple", "ticker", True, IT), ("MSFT", "Microsoft", "name", True, IT)},
    ),
    (
        {"headline": "$NVDA jumps as Nvidia tops Intel Corp. in AI chips"},
        {("NVDA", "NVDA", "cashtag", True, IT), ("INTC", "Intel Corp.", "name", True, IT)},
    ),
    (
        {"headline": "Banks rally on rate hopes", "tickers": ["JPM", "brk-b", "ZZZQ"]},
        {
            ("JPM", "JPM", "ticker", False, FIN),
            ("BRK.B", "BRK.B", "ticker", False, FIN),
            ("ZZZQ", "ZZZQ", "ticker", False, None),
        },
    ),
    (
        {
            "headline": "Exxon Mobil Corp. beats Chevron's profit",
            "tickers": ["\u0007" * 20, "A" * 32],
        },
        {
            ("XOM", "Exxon Mobil Corp.", "name", True, ENERGY),
            ("CVX", "Chevron", "name", True, ENERGY),
        },
    ),
    ({"headline": "Pineapple prices and a target price for apple growers"}, set()),
    (
        {"headline": "Goldman Sachs edges JPMorgan", "body": "Shares of $GS rose. " + "x" * 5000},
        {("GS", "Goldman Sachs", "cashtag", True, FIN), ("JPM", "JPMorgan", "name", True, FIN)},
    ),
]


@pytest.fixture
def stream(
    broker: str, make_pg_database: Any, entity_checkpoint: Path, tmp_path: Path
) -> Iterator[Pipeline]:
    with running_pipeline(broker, make_pg_database, entity_checkpoint, tmp_path) as setup:
        yield setup


def message(i: int, fields: dict[str, Any]) -> tuple[bytes, bytes]:
    body = {"id": f"ent-{i}", "source": "wire", **fields}
    return body["id"].encode(), json.dumps(body).encode()


def entity_rows(setup: Pipeline) -> dict[str, set[Row]]:
    engine = sa.create_engine(setup.db_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT s.external_id, e.entity, e.mention, e.matched_by, e.span_start, "
                    "e.span_end, e.sector, e.from_mention, e.sentiment, c.sentiment "
                    "FROM stories s JOIN story_entities e ON e.story_id = s.id "
                    "JOIN classifications c ON c.story_id = s.id AND c.is_current"
                )
            ).all()
    finally:
        engine.dispose()
    found: dict[str, set[Row]] = {}
    for story, entity, mention, how, start, end, sector, from_mention, sentiment, overall in rows:
        assert (start is None) == (end is None)
        # a span is read in the story's forward; without one the story's sentiment stands in
        assert from_mention == (start is not None), (story, entity)
        if start is None:
            assert sentiment == overall
        found.setdefault(story, set()).add((entity, mention, how, start is not None, sector))
    return found


def test_consumed_stories_get_the_right_entity_rows(stream: Pipeline) -> None:
    stream.produce([message(i, fields) for i, (fields, _) in enumerate(STORIES)])
    consumer = stream.start_consumer()
    wait_until(
        lambda: stream.scalar("SELECT count(*) FROM stories") == len(STORIES),
        timeout_s=120,
        what="every story stored",
        logs=stream.logs,
    )
    expected = {f"ent-{i}": rows for i, (_, rows) in enumerate(STORIES) if rows}
    assert entity_rows(stream) == expected
    assert stream.scalar("SELECT count(*) FROM dead_letters") == 0

    # a correction of the first story names only Apple now: its rows are replaced
    stream.produce([message(0, {"headline": "Apple beats estimates; shares jump"})])
    wait_until(
        lambda: stream.scalar("SELECT count(*) FROM stories WHERE version = 2") == 1,
        timeout_s=60,
        what="the corrected story",
        logs=stream.logs,
    )
    assert entity_rows(stream)["ent-0"] == {("AAPL", "Apple", "name", True, IT)}
    assert (
        stream.scalar("SELECT count(*) FROM story_entities")
        == sum(len(rows) for rows in expected.values()) - 1
    )

    consumer.send_signal(signal.SIGTERM)
    assert consumer.wait(timeout=60) == 0
    assert sum(consumer_lag(stream.bootstrap, stream.topic, stream.group).values()) == 0


def test_a_bad_dictionary_stops_start_up_with_one_line(stream: Pipeline, tmp_path: Path) -> None:
    bad = tmp_path / "entities.csv"
    bad.write_text("ticker,name\nAAPL,Apple\naapl,Apple again\n")
    consumer = stream.start_consumer(MONITOR_ENTITIES__DICTIONARY=str(bad))
    assert consumer.wait(timeout=60) == 2
    logs = stream.logs()
    assert "MONITOR_ENTITIES__DICTIONARY" in logs and "duplicate ticker 'AAPL'" in logs, logs
