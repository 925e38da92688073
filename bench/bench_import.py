"""Backfill benchmark: `monitor import` against the consumer's end-to-end rate, in one run.

    .venv/bin/python bench/bench_import.py [--stories 20000] [--rounds 2]

Both sides run as the real commands, each in its own process (torch's threads behave
differently in a process's main thread than in a helper thread, so running the consumer loop in
a thread of the benchmark would not measure `monitor consume`). For the shipped model on this
machine and PostgreSQL it prints:
- `monitor import --file F` (a JSONL file of N stories dated over the last 30 days, into a fresh
  database): stories/s as the command reports it (read + validate, classify, write, refresh the
  rollup; the model already loaded), and the whole command's wall time (start-up included);
- the same file imported again (everything already stored: a read per batch, no model);
- `monitor consume` end to end: stories/s from the first produce to the last committed row
  (embedded broker; the consumer started and warmed up first), same N, same machine.

Import and consumer runs alternate for `--rounds` rounds (each on fresh databases), so a load
change on a shared machine hits both; every round is printed, then the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_pipeline import count_rows, drop_database, fresh_database, headline, produce

from monitor.broker import EmbeddedBroker
from monitor.ingest import kafka
from monitor.settings import Settings, load_settings
from monitor.store.db import make_engine


def write_file(path: Path, n: int) -> None:
    now = datetime.now(UTC)
    with path.open("w") as out:
        for i in range(n):
            published = now - timedelta(days=30) + timedelta(seconds=i * 30 * 86400 / n)
            story = {
                "id": f"i{i}",
                "headline": headline(i),
                "source": "bench",
                "published_at": published.isoformat(),
            }
            out.write(json.dumps(story) + "\n")


def child_env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(MONITOR_DATABASE__URL=url, MONITOR_LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def import_command(url: str, path: Path) -> tuple[float, float]:
    """(stories/s the command reports, the whole command's wall seconds)."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "import", "--file", str(path)],
        env=child_env(url),
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - began
    rate = re.search(r"\(([\d,]+) stories/s\)", done.stdout)
    assert rate is not None, done.stdout
    return float(rate.group(1).replace(",", "")), wall


def consumer_rate(settings: Settings, n: int) -> float:
    """`monitor consume` as its own process: warm it up, then stories/s from the first produce
    of N to the last committed row."""
    env = child_env(
        settings.database.url.get_secret_value(),
        MONITOR_KAFKA__BOOTSTRAP_SERVERS=settings.kafka.bootstrap_servers,
        MONITOR_KAFKA__TOPIC=settings.kafka.topic,
        MONITOR_KAFKA__GROUP_ID=f"bench-{settings.kafka.topic}",
        MONITOR_METRICS__ENABLED="false",
    )
    engine = make_engine(settings.database.url)
    consumer = subprocess.Popen([sys.executable, "-m", "monitor", "consume"], env=env)
    try:
        produce(settings, settings.kafka.topic, 10, start=10_000_000)  # load, join, first batch
        while count_rows(engine) < 10:
            time.sleep(0.05)
        began = time.perf_counter()
        produce(settings, settings.kafka.topic, n)
        while count_rows(engine) < n + 10:
            time.sleep(0.02)
        return n / (time.perf_counter() - began)
    finally:
        consumer.send_signal(signal.SIGTERM)
        consumer.wait(timeout=60)
        engine.dispose()


def one_round(broker: str, path: Path, n: int, topic: str) -> dict[str, float]:
    urls = [fresh_database() for _ in range(2)]
    try:
        first, wall = import_command(urls[0], path)
        again, _ = import_command(urls[0], path)
        settings = load_settings(
            database={"url": urls[1]}, kafka={"bootstrap_servers": broker, "topic": topic}
        )
        kafka.ensure_topic(settings.kafka)
        consumer = consumer_rate(settings, n)
    finally:
        for url in urls:
            drop_database(url)
    return {"import": first, "again": again, "command": n / wall, "consumer": consumer}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stories", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    n = args.stories

    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(Path(tmp) / "noida") as broker:
        path = Path(tmp) / "archive.jsonl"
        write_file(path, n)
        print(f"shipped model, {n} stories, {os.cpu_count()} CPUs")
        rounds = []
        for number in range(args.rounds):
            rates = one_round(broker.bootstrap_servers, path, n, f"bench-e2e-{number}")
            rounds.append(rates)
            print(f"round {number + 1}: " + ", ".join(f"{k} {v:,.0f}/s" for k, v in rates.items()))

    median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    print()
    print(f"{'path (median of rounds)':<52} {'stories/s':>10}")
    print(f"{'monitor import (as reported: model loaded)':<52} {median['import']:>10,.0f}")
    print(f"{'monitor import, same file again (all stored)':<52} {median['again']:>10,.0f}")
    print(f"{'monitor import, whole command (start-up included)':<52} {median['command']:>10,.0f}")
    print(f"{'monitor consume end to end (produce → commit)':<52} {median['consumer']:>10,.0f}")
    ratio = median["import"] / median["consumer"]
    print(f"import / consumer: {ratio:.2f}  (target ≥ 1: no broker in the way)")


if __name__ == "__main__":
    main()
