"""`monitor up` end to end, as a newcomer runs it: embedded broker, SQLite, the shipped model,
the demo replay (sped up), the dashboard, an alert on the demo's bank-failure burst — then
Ctrl-C stops everything with no process left behind, and a second run resumes without
replaying or duplicating anything."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from monitor.ingest.demo import load_demo_feed
from monitor.ingest.demo_generator import ANCHOR, BURST_SPAN, BURST_TOPIC, build_feed
from monitor.nlp.checkpoint import load_checkpoint
from monitor.settings import REPO_ROOT, SHIPPED_CHECKPOINT
from tests.ingest.conftest import free_port, wait_until
from tests.ingest.prometheus import scrape, value

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEMO_STORIES = len({(r.get("source", "unknown"), r["id"]) for r in load_demo_feed()})
DASHBOARD_LINE = re.compile(r"^dashboard: (http://127\.0\.0\.1:(\d+))$")
# The burst as the feed generator made it: (source, id) of each bank-failure story.
BURST = {
    (s.record["source"], s.record["id"])
    for s in build_feed()
    if s.topic == BURST_TOPIC and s.sent_at >= ANCHOR - BURST_SPAN
}


@dataclass
class Up:
    """One `monitor up` process and everything it printed."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def output(self) -> str:
        return "\n".join(self.lines)

    def line_matching(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        return next((m for line in self.lines if (m := pattern.match(line))), None)


def start_up(env: dict[str, str]) -> Up:
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "up"],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # a SIGINT we send reaches `up` only, as a terminal's Ctrl-C
    )
    up = Up(process)

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            up.lines.append(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return up


def descendants(pid: int) -> set[int]:
    """All live processes below `pid` (children, grandchildren...), from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def processes_of(data_dir: Path) -> set[int]:
    """Live processes whose environment points at this data dir: orphans would show here."""
    marker = f"MONITOR_LOCAL__DATA_DIR={data_dir}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if marker in environ.split(b"\0") and alive(int(entry.name)):
                found.add(int(entry.name))
    return found


def count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as connection:
            return int(connection.execute(sql).fetchone()[0] or 0)
    except sqlite3.OperationalError:  # not created or migrated yet, or busy
        return -1


def stop(up: Up, data_dir: Path) -> None:
    """Ctrl-C: `up` and all its children exit cleanly and leave nothing running."""
    children = descendants(up.process.pid)
    assert len(children) >= 4, f"broker, consume, schedule, dashboard expected: {children}"
    up.process.send_signal(signal.SIGINT)
    try:
        code = up.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        up.process.kill()
        raise AssertionError(f"`monitor up` ignored SIGINT for 60 s\n{up.output()}") from None
    assert code == 0, up.output()
    wait_until(
        lambda: not any(alive(pid) for pid in children),
        timeout_s=15,
        what="children gone",
        logs=lambda: str({pid for pid in children if alive(pid)}),
    )
    assert processes_of(data_dir) == set()


@pytest.fixture
def up_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(
        MONITOR_LOCAL__DATA_DIR=str(tmp_path),
        MONITOR_DATABASE__URL=f"sqlite:///{tmp_path}/monitor.db",
        MONITOR_LOCAL__REPLAY_SPEED="30",  # the 10 live minutes in 20 s
        MONITOR_ALERTS__INTERVAL_S="2",
        MONITOR_MODEL__DEVICE="cpu",
        PYTHONUNBUFFERED="1",
    )
    yield env
    for pid in processes_of(tmp_path):  # a failed test must not leave a broker running
        os.kill(pid, signal.SIGKILL)


def fresh_ports(env: dict[str, str]) -> dict[str, str]:
    return {
        **env,
        "MONITOR_DASHBOARD__PORT": str(free_port()),
        "MONITOR_METRICS__PORT": str(free_port()),
        "MONITOR_METRICS__SCHEDULE_PORT": str(free_port()),
    }


def test_up_runs_the_demo_stops_cleanly_and_resumes(up_env: dict[str, str], tmp_path: Path) -> None:
    db = tmp_path / "monitor.db"
    env = fresh_ports(up_env)
    up = start_up(env)

    wait_until(
        lambda: up.line_matching(DASHBOARD_LINE) is not None or up.process.poll() is not None,
        timeout_s=180,
        what="the dashboard line",
        logs=up.output,
    )
    match = up.line_matching(DASHBOARD_LINE)
    assert match, up.output()
    assert match.group(2) == env["MONITOR_DASHBOARD__PORT"]
    with urllib.request.urlopen(match.group(1), timeout=30) as response:
        assert response.status == 200

    wait_until(
        lambda: count(db, "SELECT count(*) FROM stories") == DEMO_STORIES,
        timeout_s=180,
        what=f"{DEMO_STORIES} demo stories in SQLite",
        logs=up.output,
    )
    assert count(db, "SELECT count(*) FROM classifications WHERE is_current") == DEMO_STORIES
    wait_until(
        lambda: any(line.startswith("demo feed replayed: ") for line in up.lines),
        timeout_s=60,
        what="the replay's end",
        logs=up.output,
    )
    progress = json.loads((tmp_path / "demo-replay.json").read_text())
    assert progress["sent"] == len(load_demo_feed())

    fired = wait_for_alert(db)
    burst = burst_labels(db)
    stop(up, tmp_path)

    # Second run: the broker keeps its log and the group's offsets, SQLite its rows.
    env = fresh_ports(up_env)
    again = start_up(env)
    wait_until(
        lambda: again.line_matching(DASHBOARD_LINE) is not None or again.process.poll() is not None,
        timeout_s=180,
        what="the dashboard line (second run)",
        logs=again.output,
    )
    wait_until(
        lambda: any("demo feed already replayed" in line for line in again.lines),
        timeout_s=30,
        what="the resume message",
        logs=again.output,
    )
    port = int(env["MONITOR_METRICS__PORT"])

    def consumer_caught_up() -> bool:
        try:
            samples = scrape(port)
        except OSError:
            return False
        lags = [v for (name, _), v in samples.items() if name == "monitor_consumer_lag"]
        return len(lags) == 4 and sum(lags) == 0

    wait_until(consumer_caught_up, timeout_s=120, what="consumer at lag 0", logs=again.output)
    samples = scrape(port)
    for outcome in ("stored", "updated", "duplicate"):  # nothing re-read from the broker
        assert value(samples, "monitor_stories_processed_total", outcome=outcome) == 0
    assert count(db, "SELECT count(*) FROM stories") == DEMO_STORIES
    # One classification per version of a story: nothing was classified twice.
    assert count(db, "SELECT count(*) FROM classifications") == count(
        db, "SELECT sum(version) FROM stories"
    )
    stop(again, tmp_path)

    assert fired, (
        f"no {BURST_TOPIC} alert fired after the detector saw the whole feed: the model "
        f"({load_checkpoint(SHIPPED_CHECKPOINT).version}) labelled the demo burst's "
        f"{len(BURST)} stories (all {BURST_TOPIC}/negative) as {burst}"
    )


def wait_for_alert(db: Path, timeout_s: float = 120.0) -> bool:
    """True once the burst's topic fires; False when the detector, having seen the whole feed,
    has run enough passes to fire (persistence 2, one to spare) with no scope building up."""
    firing = f"SELECT count(*) FROM alerts WHERE status = 'firing' AND scope = '{BURST_TOPIC}'"
    passes: set[str] = set()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if count(db, firing) >= 1:
            return True
        with contextlib.suppress(sqlite3.OperationalError):
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as connection:
                last, building = connection.execute(
                    "SELECT max(last_evaluated_at), max(above) FROM alert_scope_states"
                ).fetchone()
            if last is not None:
                passes.add(str(last))
            if len(passes) > 3 and not building:
                return False
        time.sleep(0.5)
    return count(db, firing) >= 1


def burst_labels(db: Path) -> dict[tuple[str, str], int]:
    """What the model made of the burst: {(topic, sentiment): stories}, current labels."""
    sql = (
        "SELECT s.source, s.external_id, c.topic, c.sentiment FROM stories s "
        "JOIN classifications c ON c.story_id = s.id AND c.is_current"
    )
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10) as connection:
        rows = connection.execute(sql).fetchall()
    return dict(Counter((t, st) for src, ext, t, st in rows if (src, ext) in BURST).most_common())
