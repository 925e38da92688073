"""Logging: one line per event, JSON or human, with `extra=` fields kept."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from monitor.errors import ConfigError
from monitor.logs import configure_logging


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state; put it back for the next test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    kafka_level = logging.getLogger("kafka").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("kafka").setLevel(kafka_level)


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_json_lines_carry_the_fields_and_extras() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    logging.getLogger("monitor.ingest").info(
        "batch %s done", 7, extra={"records": 128, "partition": 3, "topic": "news"}
    )
    [line] = _lines(stream)
    event = json.loads(line)
    assert event["level"] == "INFO"
    assert event["logger"] == "monitor.ingest"
    assert event["msg"] == "batch 7 done"
    assert event["ts"].endswith("Z") and "T" in event["ts"]
    assert (event["records"], event["partition"], event["topic"]) == (128, 3, "news")


def test_json_exception_stays_on_one_line() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    try:
        raise ValueError("bad record")
    except ValueError:
        logging.getLogger("monitor").exception("dead-lettered", extra={"offset": 12})
    [line] = _lines(stream)
    event = json.loads(line)
    assert "ValueError: bad record" in event["exc"]
    assert event["offset"] == 12


def test_json_survives_values_json_cannot_encode() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    logging.getLogger("monitor").info("odd", extra={"when": datetime.now(UTC), "thing": object()})
    assert json.loads(_lines(stream)[0])["msg"] == "odd"


def test_level_filters_and_human_format_is_compact() -> None:
    stream = io.StringIO()
    configure_logging("warning", json=False, stream=stream)
    log = logging.getLogger("monitor.alerts")
    log.info("not shown")
    log.warning("spike on %s", "Financials", extra={"z": 5.2, "scope": "Financials"})
    [line] = _lines(stream)
    assert "WARNING monitor.alerts: spike on Financials" in line
    assert line.endswith("z=5.2 scope=Financials")


def test_calling_twice_does_not_duplicate_lines() -> None:
    first, second = io.StringIO(), io.StringIO()
    configure_logging("INFO", json=False, stream=first)
    configure_logging("INFO", json=True, stream=second)
    logging.getLogger("monitor").info("once")
    assert first.getvalue() == ""
    assert len(_lines(second)) == 1


def test_chatty_libraries_are_quieted_unless_debugging() -> None:
    configure_logging("INFO", json=False, stream=io.StringIO())
    assert logging.getLogger("kafka").getEffectiveLevel() == logging.WARNING
    configure_logging("DEBUG", json=False, stream=io.StringIO())
    assert logging.getLogger("kafka").getEffectiveLevel() == logging.DEBUG


def test_unknown_level_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        configure_logging("LOUD", json=False)
    assert caught.value.setting == "MONITOR_LOG_LEVEL"


@pytest.mark.parametrize("as_json", [True, False])
def test_every_line_is_bounded(as_json: bool) -> None:
    """A message may quote what a producer sent: 4.7 million characters must not become one
    line of 4.7 million characters."""
    stream = io.StringIO()
    configure_logging("INFO", json=as_json, stream=stream)
    huge = "x" * 4_700_000
    logging.getLogger("monitor.ingest").warning("dead letter: %s", huge, extra={"value": huge})
    [line] = _lines(stream)
    assert len(line) < 5_000
    assert "characters cut" in line
