"""Backfill benchmark: `monitor import` against the consumer's end-to-end rate, in one run.

    .venv/bin/python bench/bench_import.py [--stories 20000] [--rounds 2]

Prints, for the shipped model on this machine and PostgreSQL:
- import: stories/s of `Importer.run` (what `monitor import` runs once the model is loaded:
  read + validate, classify, write, refresh the rollup), a JSONL file of N stories dated over the
  last 30 days, into a fresh database;
- re-import of the same file (everything already stored: a read per batch, no model);
- the whole `monitor import` command as a user runs it (process start, model load included);
- consumer end to end: stories/s from the first produce to the last committed row with the real
  `run_consumer` loop and an embedded broker (bench_pipeline.end_to_end), same N, same machine.

Import and consumer runs alternate for `--rounds` rounds (each on fresh databases), so a load
change on a shared machine hits both; every round is printed, then the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench_pipeline import drop_database, end_to_end, fresh_database, headline

from monitor.broker import EmbeddedBroker
from monitor.ingest import kafka
from monitor.ingest.backfill import Importer, origin_topic
from monitor.ingest.pipeline import BatchProcessor
from monitor.ingest.schema import Limits
from monitor.nlp.classifier import Classifier
from monitor.settings import Settings, load_settings
from monitor.store.db import make_engine, make_sessionmaker


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


def import_rate(settings: Settings, classifier: Classifier, path: Path) -> tuple[float, float]:
    """(stories/s of a first import, of a re-import of the same file)."""
    engine = make_engine(settings.database.url)
    sessions = make_sessionmaker(engine)
    limits = Limits(settings.kafka.max_message_bytes, settings.contract)
    rates = []
    for _ in range(2):
        importer = Importer(
            limits,
            origin_topic(path.name),
            processor=BatchProcessor(classifier, sessions, limits=limits),
            sessions=sessions,
            batch_size=settings.kafka.max_poll_records,
        )
        report = importer.run(path)
        assert report.rejected == 0, report
        rates.append(report.valid / report.seconds)
    engine.dispose()
    return rates[0], rates[1]


def command_seconds(url: str, path: Path) -> float:
    """Wall time of `monitor import` as a user runs it (a fresh database)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(MONITOR_DATABASE__URL=url, MONITOR_LOG_LEVEL="WARNING")
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "monitor", "import", "--file", str(path)],
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - began


def one_round(
    broker: str, classifier: Classifier, path: Path, n: int, topic: str
) -> dict[str, float]:
    urls = [fresh_database() for _ in range(3)]
    try:
        base = load_settings(
            database={"url": urls[0]},
            kafka={"bootstrap_servers": broker, "topic": topic},
            metrics={"enabled": False},
            log_level="WARNING",
        )
        first, again = import_rate(base, classifier, path)
        consumer = base.model_copy(
            update={"database": base.database.model_copy(update={"url": urls[2]})}
        )
        kafka.ensure_topic(consumer.kafka)
        e2e, _ = end_to_end(consumer, n)
        whole = command_seconds(urls[1], path)
    finally:
        for url in urls:
            drop_database(url)
    return {"import": first, "again": again, "command": n / whole, "consumer": e2e}


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
        classifier = Classifier.from_settings(load_settings().model)
        print(f"model {classifier.version} on {classifier.device}; {n} stories")
        rounds = []
        for number in range(args.rounds):
            rates = one_round(broker.bootstrap_servers, classifier, path, n, f"bench-e2e-{number}")
            rounds.append(rates)
            print(f"round {number + 1}: " + ", ".join(f"{k} {v:,.0f}/s" for k, v in rates.items()))

    median = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    print()
    print(f"{'path (median of rounds)':<52} {'stories/s':>10}")
    print(f"{'monitor import (Importer.run, model loaded)':<52} {median['import']:>10,.0f}")
    print(f"{'monitor import, same file again (all stored)':<52} {median['again']:>10,.0f}")
    print(f"{'monitor import, whole command (start-up included)':<52} {median['command']:>10,.0f}")
    print(f"{'consumer end to end (produce → commit)':<52} {median['consumer']:>10,.0f}")
    ratio = median["import"] / median["consumer"]
    print(f"import / consumer: {ratio:.2f}  (target ≥ 1: no broker in the way)")


if __name__ == "__main__":
    main()
