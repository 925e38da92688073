"""`monitor import`: a file straight into the database through the consumer's batch step.

The end-to-end test runs the real command (subprocess) on PostgreSQL: 5,000 stories dated over
60 days among 50 malformed lines, imported twice, the rollup, the detector, and the Overview in
Chromium over a custom range.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import MonitorError
from monitor.ingest.backfill import Importer, count_lines, origin_topic
from monitor.ingest.pipeline import BatchProcessor
from monitor.ingest.producer import Rejected, Story, read_stories
from monitor.ingest.schema import Limits
from monitor.nlp.classifier import Classifier
from monitor.settings import ModelSettings
from monitor.store import migrate
from monitor.store.db import make_engine, make_sessionmaker
from tests.dashboard.conftest import (  # noqa: F401  (fixtures)
    dashboard_url,
    page,
    screenshot,
    wait_for,
)
from tests.ingest.netutil import TcpProxy

HEADLINES = (
    "{co} shares slump after profit warning",
    "{co} beats estimates and raises guidance",
    "{co} names new chief financial officer",
    "Regulator opens probe into {co} accounts",
    "{co} agrees to buy rival in all-cash deal",
)
MALFORMED = (
    b"{not json",
    b'{"id": "no-headline"}',
    b'{"id": "", "headline": "empty id"}',
    b'{"id": "too-old", "headline": "x", "published_at": "1800-01-01T00:00:00Z"}',
    b'{"id": 5, "headline": "number id"}',
    b"[1, 2, 3]",
    b'{"id": "nul", "headline": "a\\u0000b"}',
    b'{"id": "deep", "headline": "x", "extra": ' + b"[" * 40 + b"]" * 40 + b"}",
    b'"just a string"',
    b'{"id": "inf", "headline": "x", "n": 1e400}',
)


def write_history(path: Path, *, stories: int = 5000, bad: int = 50) -> tuple[list[int], set[str]]:
    """`stories` valid lines published over the 60 days before yesterday, with `bad` malformed
    lines spread among them; returns the bad lines' numbers and the days (UTC) covered."""
    now = datetime.now(UTC).replace(microsecond=0)
    first, last = now - timedelta(days=60), now - timedelta(hours=26)
    step = (last - first) / stories
    every = stories // bad
    lines: list[bytes] = []
    bad_lines, days = [], set()
    for i in range(stories):
        published = first + step * i
        days.add(published.strftime("%Y-%m-%d"))
        story: dict[str, Any] = {
            "id": f"arc-{i}",
            "headline": HEADLINES[i % len(HEADLINES)].format(co=f"Company {i % 97}"),
            "published_at": published.isoformat(),
        }
        if i % 10 == 0:
            story["source"] = "wire"  # names its own; the rest get --source
        lines.append(json.dumps(story).encode())
        if i % every == every - 1:
            lines.append(MALFORMED[len(bad_lines) % len(MALFORMED)])
            bad_lines.append(len(lines))
    path.write_bytes(b"\n".join(lines) + b"\n")
    return bad_lines, days


def test_read_stories_takes_a_format_and_a_default_source(tmp_path: Path) -> None:
    text = tmp_path / "feed.txt"
    text.write_text("text,source\nOil slumps,\nGold rallies,desk\n")
    rows = list(read_stories(text, Limits(), fmt="csv", default_source="archive"))
    assert [r.source for r in rows if isinstance(r, Story)] == ["archive", "desk"]
    jsonl = tmp_path / "feed.csv"  # a misleading name: the format given wins
    jsonl.write_text('{"id": "1", "headline": "a"}\n{"id": "2", "headline": "b", "source": "w"}\n')
    stories = list(read_stories(jsonl, Limits(), fmt="jsonl", default_source="archive"))
    assert [(s.source, json.loads(s.value)["source"]) for s in stories if isinstance(s, Story)] == [
        ("archive", "archive"),
        ("w", "w"),
    ]
    unnamed = list(read_stories(jsonl, Limits(), fmt="jsonl"))
    assert [s.source for s in unnamed if isinstance(s, Story)] == ["unknown", "w"]
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": "1", "headline": "a"}\n{oops\n')
    [_, rejected] = list(read_stories(broken, Limits()))
    assert isinstance(rejected, Rejected) and rejected.line == 2 and rejected.value == b"{oops"


def test_count_lines_and_origin(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(b"a\nb\nc")
    assert count_lines(path) == 3
    path.write_bytes(b"a\nb\n")
    assert count_lines(path) == 2
    assert origin_topic("archive.jsonl") == "import:archive.jsonl"
    assert len(origin_topic("x" * 1000)) == 255


def import_env(db_url: str, checkpoint: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(
        MONITOR_DATABASE__URL=db_url,
        MONITOR_MODEL__CHECKPOINT=str(checkpoint),
        MONITOR_MODEL__DEVICE="cpu",
        MONITOR_METRICS__SCHEDULE_PORT="0",
        **extra,
    )
    return env


def monitor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def snapshot(sessions: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with sessions() as session:
        stories = session.execute(
            sa.text("SELECT id, version, updated_at, kafka_topic, kafka_offset FROM stories")
        ).all()
        classified = session.execute(sa.text("SELECT id, story_id FROM classifications")).all()
    return sorted(map(tuple, stories)) + sorted(map(tuple, classified))


def scalar(sessions: sessionmaker[Session], sql: str) -> Any:
    with sessions() as session:
        return session.execute(sa.text(sql)).scalar()


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.browser
def test_import_history_twice_then_see_it_on_the_overview(
    tmp_path: Path,
    pg_url: str,
    clean_db: sessionmaker[Session],
    tiny_checkpoint: Path,
    dashboard_url: str,  # noqa: F811
    page: Any,  # noqa: F811
) -> None:
    history = tmp_path / "history.jsonl"
    bad_lines, days = write_history(history)
    rejects = tmp_path / "rejects.jsonl"
    env = import_env(pg_url, tiny_checkpoint)
    args = ["import", "--file", str(history), "--source", "archive"]

    first = monitor(env, *args, "--rejects", str(rejects))
    assert first.returncode == 1, first.stderr[-3000:]  # some lines were rejected
    reported = [int(n) for n in re.findall(r"^line (\d+): \S", first.stderr, re.MULTILINE)]
    assert reported == bad_lines
    assert "5,000 new, 0 updated, 0 already stored (unchanged)" in first.stdout
    assert "50 line(s) rejected" in first.stdout
    kept = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [k["line"] for k in kept] == bad_lines
    assert all(k["reason"] and k["value"] for k in kept)
    assert kept[0]["value"] == "{not json"

    assert scalar(clean_db, "SELECT count(*) FROM stories") == 5000
    assert scalar(clean_db, "SELECT count(*) FROM classifications WHERE is_current") == 5000
    assert scalar(clean_db, "SELECT count(DISTINCT kafka_topic) FROM stories") == 1
    assert scalar(clean_db, "SELECT min(kafka_topic) FROM stories") == "import:history.jsonl"
    assert scalar(clean_db, "SELECT count(*) FROM stories WHERE source = 'archive'") == 4500
    assert scalar(clean_db, "SELECT count(*) FROM dead_letters") == 0  # the file is their record
    # The hourly rollup covers the history: every story, every day.
    assert scalar(clean_db, "SELECT sum(stories) FROM sentiment_hourly") == 5000
    day = "to_char(hour AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    rolled_days = scalar(clean_db, f"SELECT count(DISTINCT {day}) FROM sentiment_hourly")
    assert rolled_days == len(days) >= 59

    before = snapshot(clean_db)
    second = monitor(env, *args)
    assert second.returncode == 1
    assert [int(n) for n in re.findall(r"^line (\d+): ", second.stderr, re.MULTILINE)] == bad_lines
    assert "0 new, 0 updated, 5,000 already stored (unchanged)" in second.stdout
    assert snapshot(clean_db) == before  # the second import changed nothing

    # History does not fire alerts: not at the wall clock, and not on the data clock either.
    for clock in ("wall", "data"):
        detected = monitor(
            import_env(pg_url, tiny_checkpoint, MONITOR_ALERTS__CLOCK=clock), "schedule", "--once"
        )
        assert detected.returncode == 0, detected.stderr[-2000:]
        summary = json.loads(detected.stdout.strip().splitlines()[-1])
        assert summary["fired"] == [], clock
    assert summary["now"] is None  # an import never moves the data clock
    assert scalar(clean_db, "SELECT count(*) FROM alerts") == 0

    # The Overview over a custom range of those days shows them.
    start = (datetime.now(UTC) - timedelta(days=61)).strftime("%Y-%m-%dT00:00Z")
    end = datetime.now(UTC).strftime("%Y-%m-%dT00:00Z")
    page.goto(f"{dashboard_url}/?from={start}&to={end}")
    wait_for(lambda: "5,000" in page.inner_text("body"), 60, "the Overview to count 5,000")
    wait_for(
        lambda: page.locator("[data-testid=stVegaLiteChart] svg").count() >= 2, 30, "the charts"
    )
    body = page.inner_text("body")
    assert f"{start[:10]} 00:00 → {end[:10]} 00:00 (UTC)" in body  # the custom range, shown
    assert "Traceback" not in body
    screenshot(page, "import-overview-custom-range")


def test_dry_run_validates_without_model_or_database(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        '{"id": "1", "headline": "Oil slumps"}\n{"id": "2"}\n\n{"id": "3", "headline": "x"}\n'
    )
    database = tmp_path / "never.db"
    env = import_env(f"sqlite:///{database}", tmp_path / "no-model.pt")
    done = monitor(env, "import", "--file", str(feed), "--dry-run")
    assert done.returncode == 1
    assert re.findall(r"^line (\d+): (.*)$", done.stderr, re.MULTILINE) == [
        ("2", "invalid fields: headline: required field is missing")
    ]
    assert (
        "dry run of" in done.stdout
        and "2 valid line(s), 1 rejected; nothing written" in done.stdout
    )
    assert not database.exists()


def run_in_terminal(env: dict[str, str], *args: str) -> str:
    """The command's output as a terminal (a pty of 40 × 120) shows it."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of a real size, then the command
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.execve(sys.executable, [sys.executable, "-m", "monitor", *args], env)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the child has exited
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    return out.decode("utf-8", errors="replace")


def test_a_terminal_sees_a_progress_bar_with_rate_and_eta(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(f'{{"id": "{i}", "headline": "Story {i}"}}\n' for i in range(3000)))
    env = import_env(f"sqlite:///{tmp_path / 'never.db'}", tmp_path / "no-model.pt")
    shown = run_in_terminal(env, "import", "--file", str(feed), "--dry-run")
    bar = shown.split("\r")[-2] if "\r" in shown else shown
    assert re.search(
        r"feed\.jsonl: 100%\|.*\| 3000/3000 \[\d\d:\d\d<\d\d:\d\d, [\d.,]+ lines/s\]", shown
    ), bar
    assert "3,000 valid line(s), 0 rejected" in shown


@pytest.mark.integration
def test_a_database_outage_stops_the_import_clearly_and_a_rerun_resumes(
    tmp_path: Path, make_pg_database: Callable[[], str], tiny_checkpoint: Path
) -> None:
    url = make_pg_database()
    migrate.upgrade(url)
    feed = tmp_path / "feed.jsonl"
    feed.write_text("".join(f'{{"id": "{i}", "headline": "Story {i}"}}\n' for i in range(3000)))
    proxy = TcpProxy(("127.0.0.1", 5432))
    via_proxy = url.replace(":5432/", f":{proxy.start()}/")
    classifier = Classifier.from_settings(ModelSettings(checkpoint=tiny_checkpoint, device="cpu"))
    engine, direct = make_engine(via_proxy), make_engine(url)

    def importer(on_progress: Callable[[int], None] = lambda _: None) -> Importer:
        sessions = make_sessionmaker(engine)
        processor = BatchProcessor(classifier, sessions, limits=Limits())
        return Importer(
            Limits(), origin_topic(feed.name), processor, sessions, 512, on_progress=on_progress
        )

    def cut(line: int) -> None:
        if line == 1600:
            proxy.stop()

    try:
        with pytest.raises(MonitorError, match="run the same command again to resume"):
            importer(cut).run(feed)
        stored = scalar(make_sessionmaker(direct), "SELECT count(*) FROM stories")
        assert 0 < stored < 3000
        proxy.start()  # the database is back
        report = importer().run(feed)
        assert scalar(make_sessionmaker(direct), "SELECT count(*) FROM stories") == 3000
    finally:
        proxy.stop()
        engine.dispose()
        direct.dispose()
    assert (report.inserted, report.unchanged) == (3000 - stored, stored)
