"""`monitor produce`: each line checked by the contract's own `decode`, bad lines reported with
their numbers and reasons, `--strict` publishes nothing from a file with a bad line, and a file
that cannot be read as stories is one clear error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from monitor.errors import MonitorError
from monitor.ingest.producer import Rejected, Story, read_stories
from monitor.ingest.schema import Limits
from tests.ingest.conftest import Pipeline

GOOD = json.dumps({"id": "a1", "headline": "Fed holds rates"})
LINES = [
    GOOD,
    "{not json",
    json.dumps({"id": "a2"}),
    "",
    json.dumps({"id": "a3", "headline": "Oil jumps", "published_at": "9999-12-31T23:59:59Z"}),
    json.dumps({"id": "a4", "headline": "Banks rally"}),
]


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_jsonl_lines_are_checked_by_the_contract(tmp_path: Path) -> None:
    path = write(tmp_path, "feed.jsonl", "\n".join(LINES) + "\n")
    lines = list(read_stories(path, Limits()))
    assert [(type(x).__name__, x.line) for x in lines] == [
        ("Story", 1),
        ("Rejected", 2),
        ("Rejected", 3),
        ("Rejected", 5),
        ("Story", 6),
    ]
    reasons = [x.reason for x in lines if isinstance(x, Rejected)]
    assert "not JSON" in reasons[0]
    assert "headline: required field is missing" in reasons[1]
    assert "outside the accepted range" in reasons[2]
    first = lines[0]
    assert isinstance(first, Story) and (first.key, first.value) == (b"a1", GOOD.encode())


def test_a_non_utf8_jsonl_line_is_rejected_with_its_number(tmp_path: Path) -> None:
    path = write(tmp_path, "feed.jsonl", GOOD.encode() + b'\n{"id": "x", "headline": "caf\xe9"}\n')
    lines = list(read_stories(path, Limits()))
    assert isinstance(lines[1], Rejected) and lines[1].line == 2
    assert "not UTF-8" in lines[1].reason


def test_csv_without_a_text_column_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "feed.csv", "id;text;source\n1;Fed holds rates;wire\n")
    with pytest.raises(MonitorError, match="no `text` or `headline` column"):
        list(read_stories(path, Limits()))


def test_non_utf8_csv_is_an_error_before_any_row(tmp_path: Path) -> None:
    path = write(tmp_path, "feed.csv", b"text\nFed holds\ncaf\xe9 prices jump\n")
    with pytest.raises(MonitorError, match=r"not UTF-8 text .* at byte 18"):
        next(read_stories(path, Limits()))


def test_csv_rows_become_stories(tmp_path: Path) -> None:
    path = write(tmp_path, "feed.csv", 'text,source\n"Fed holds, again",wire\n,wire\n')
    first, second = read_stories(path, Limits())
    assert isinstance(first, Story) and json.loads(first.value)["headline"] == "Fed holds, again"
    assert isinstance(second, Rejected) and second.line == 3


def published(setup: Pipeline) -> int:
    probe = KafkaConsumer(bootstrap_servers=setup.bootstrap, client_id="test-produced")
    try:
        partitions = [
            TopicPartition(setup.topic, p) for p in probe.partitions_for_topic(setup.topic)
        ]
        return sum(probe.end_offsets(partitions).values())
    finally:
        probe.close()


def produce(setup: Pipeline, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "produce", *args],
        env=setup.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.integration
def test_produce_reports_rejects_and_publishes_the_rest(pipeline: Pipeline, tmp_path: Path) -> None:
    path = write(tmp_path, "feed.jsonl", "\n".join(LINES) + "\n")

    strict = produce(pipeline, "--file", str(path), "--strict")
    assert strict.returncode == 1, strict.stderr
    assert "nothing published: 3 line(s)" in strict.stderr
    assert published(pipeline) == 0

    result = produce(pipeline, "--file", str(path))
    assert result.returncode == 1, result.stderr
    for number in (2, 3, 5):
        assert f"{path}:{number}: rejected: " in result.stderr
    assert f"published 2 stories to {pipeline.topic}; rejected 3 line(s)" in result.stdout
    assert published(pipeline) == 2
    assert "Traceback" not in result.stderr


@pytest.mark.integration
def test_produce_of_an_unreadable_csv_is_one_line(pipeline: Pipeline, tmp_path: Path) -> None:
    path = write(tmp_path, "feed.csv", "id;text\n1;Fed holds\n")
    result = produce(pipeline, "--file", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {path} has no `text` or `headline` column (header: id;text); a CSV needs a "
        "comma-separated header row naming one of them"
    ]
    assert published(pipeline) == 0
