"""Ingestion benchmark: each stage alone, then end to end, in one run on one machine.

    .venv/bin/python bench/bench_pipeline.py [--stories 20000] [--rate 200] [--latency-seconds 30]
        [--entities compare|on|off] [--rounds 2]

Prints, for the shipped model on this machine:
- the Kafka read rate of a bare consumer (no processing),
- the tokenizer + model rate (one forward per poll batch),
- the database write rate (the ingestion upsert, PostgreSQL),
- end-to-end throughput: stories/s from the first produce to the last committed row,
  with the real `run_consumer` loop, and its ratio to the slowest stage (target ≥ 0.8),
- end-to-end latency p50/p99 at a fixed moderate rate (produce → row committed).
- with `--entities compare` (the default), end to end with entity resolution off and on
  (MONITOR_ENTITIES__ENABLED), alternating `--rounds` times on the same stories, and the ratio
  (target: on ≥ 0.8 × off). Every story names S&P 500 companies: by name in the headline,
  every third by cashtag, every other in its `tickers` field.
Starts its own broker (noida-db) and a fresh PostgreSQL database; needs no GPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import sqlalchemy as sa

from monitor.broker import EmbeddedBroker
from monitor.entities.dictionary import default_dictionary
from monitor.entities.resolve import Resolver
from monitor.ingest import kafka
from monitor.ingest.pipeline import BatchProcessor
from monitor.ingest.schema import Limits
from monitor.ingest.service import run_consumer
from monitor.nlp.classifier import Classifier
from monitor.nlp.text import model_text
from monitor.settings import Settings, load_settings
from monitor.store import migrate
from monitor.store.db import make_engine, make_sessionmaker

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
WORDS = (
    "shares fall after profit warning as analysts cut targets on weak demand in Europe",
    "beats estimates and raises full-year guidance; stock jumps in premarket trading",
    "Fed officials signal patience on rates while inflation cools faster than expected",
    "oil climbs as OPEC+ extends output cuts and U.S. inventories draw down",
    "regulator opens probe into accounting practices at the lender; bonds slide",
)


COMPANIES = [(e.ticker, (e.aliases or (e.name,))[0]) for e in default_dictionary().entries]


def headline(i: int) -> str:
    """A headline naming one or two S&P 500 companies (by name, every third by cashtag)."""
    ticker, name = COMPANIES[i % len(COMPANIES)]
    other = COMPANIES[(i * 7 + 3) % len(COMPANIES)][1]
    cashtag = f" ${ticker}" if i % 3 == 0 else ""
    return f"{name}{cashtag} {WORDS[i % len(WORDS)]}; {other} also named (#{i})"


def story(i: int, source: str) -> dict[str, object]:
    value: dict[str, object] = {"id": f"s{i}", "headline": headline(i), "source": source}
    if i % 2 == 0:
        value["tickers"] = [COMPANIES[i % len(COMPANIES)][0]]
    return value


def fresh_database() -> str:
    name = f"monitor_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    migrate.upgrade(url)
    return url


def drop_database(url: str) -> None:
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(
            sa.text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        )
    admin.dispose()


def produce(
    settings: Settings,
    topic: str,
    n: int,
    start: int = 0,
    rate: float | None = None,
    source: str = "bench",
) -> None:
    producer = kafka.make_producer(settings.kafka)
    interval = 1.0 / rate if rate else 0.0
    began = time.monotonic()
    for i in range(start, start + n):
        if interval:
            delay = began + (i - start) * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        sent_at = datetime.now(UTC).isoformat()
        value = {**story(i, source), "sent_at": sent_at}
        producer.send(topic, key=f"s{i}".encode(), value=json.dumps(value).encode())
    producer.flush()
    producer.close()


def kafka_read_rate(settings: Settings, topic: str, n: int) -> float:
    consumer = kafka.make_consumer(settings.kafka.model_copy(update={"group_id": "bench-read"}))
    consumer.subscribe([topic])
    seen, began = 0, None
    while seen < n:
        for records in consumer.poll(
            timeout_ms=500, max_records=settings.kafka.max_poll_records
        ).values():
            began = began or time.perf_counter()
            seen += len(records)
    elapsed = time.perf_counter() - (began or time.perf_counter())
    consumer.close()
    return seen / elapsed


def resolve_rate(resolver: Resolver, n: int) -> float:
    texts = [model_text(headline(i), None) for i in range(n)]
    fields = [story(i, "bench").get("tickers") for i in range(n)]
    began = time.perf_counter()
    for text, tickers in zip(texts, fields, strict=True):
        resolver.resolve(text, tickers)  # type: ignore[arg-type]
    return n / (time.perf_counter() - began)


def model_rate(classifier: Classifier, n: int, batch: int) -> float:
    texts = [model_text(headline(i), None) for i in range(n)]
    classifier.predict_normalized(texts[:batch])  # warm-up
    began = time.perf_counter()
    for start in range(0, n, batch):
        classifier.predict_normalized(texts[start : start + batch])
    return n / (time.perf_counter() - began)


def db_rate(classifier: Classifier, url: str, n: int, batch: int) -> float:
    """The write stage alone: batches prepared (decoded, classified) first, then only the
    ingestion transaction is timed."""
    engine = make_engine(url)
    processor = BatchProcessor(classifier, make_sessionmaker(engine), limits=Limits())
    now_ms = int(time.time() * 1000)
    records = [
        SimpleNamespace(
            topic="dbbench", partition=0, offset=i, timestamp=now_ms, key=None,
            value=json.dumps({"id": f"d{i}", "headline": headline(i)}).encode(),
        )
        for i in range(n)
    ]  # fmt: skip
    prepared = [processor.prepare(records[i : i + batch]) for i in range(0, n, batch)]
    began = time.perf_counter()
    for batch_ in prepared:
        processor.write(batch_)
    rate = n / (time.perf_counter() - began)
    engine.dispose()
    return rate


def count_rows(engine: sa.Engine, source: str = "bench") -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text("SELECT count(*) FROM stories WHERE source = :s"), {"s": source}
            ).scalar()
            or 0
        )


def end_to_end(settings: Settings, n: int, source: str = "bench") -> tuple[float, float]:
    """(stories/s from first produce to last committed row, consumer start-up seconds)."""
    engine = make_engine(settings.database.url)
    stop = threading.Event()
    ready = time.perf_counter()
    thread = threading.Thread(target=run_consumer, args=(settings, stop), daemon=True)
    thread.start()
    topic = settings.kafka.topic
    produce(settings, topic, 10, start=10_000_000, source=source)  # warm-up: load, join group
    while count_rows(engine, source) < 10:
        time.sleep(0.05)
    startup = time.perf_counter() - ready
    began = time.perf_counter()
    producer = threading.Thread(
        target=produce, args=(settings, topic, n), kwargs={"source": source}
    )
    producer.start()
    while count_rows(engine, source) < n + 10:
        time.sleep(0.02)
    elapsed = time.perf_counter() - began
    producer.join()
    stop.set()
    thread.join()
    engine.dispose()
    return n / elapsed, startup


def compare_entities(settings: Settings, n: int, rounds: int) -> dict[str, list[float]]:
    """End to end with MONITOR_ENTITIES__ENABLED off and on, alternating on the same stories
    (each run on a topic, consumer group and story source of its own)."""
    rates: dict[str, list[float]] = {
        "off": [],
        "on": [],
        "off cpu ms/story": [],
        "on cpu ms/story": [],
    }
    for r in range(rounds):
        for key in ("off", "on"):
            tag = f"{key}{r}"
            run = settings.model_copy(
                update={
                    "kafka": settings.kafka.model_copy(
                        update={"topic": f"bench-ent-{tag}", "group_id": f"bench-ent-{tag}"}
                    ),
                    "entities": settings.entities.model_copy(update={"enabled": key == "on"}),
                }
            )
            kafka.ensure_topic(run.kafka)
            cpu = time.process_time()
            rates[key].append(end_to_end(run, n, source=f"bench-{tag}")[0])
            # this process's CPU (consumer + producer threads; not PostgreSQL's): the cost of
            # a story on a machine whose other jobs make wall-clock rates noisy
            rates[f"{key} cpu ms/story"].append((time.process_time() - cpu) * 1000 / n)
    return rates


def latency(settings: Settings, rate: float, seconds: float) -> list[float]:
    """Per-story seconds from the producer's send to the committed row, at `rate` stories/s."""
    engine = make_engine(settings.database.url)
    stop = threading.Event()
    thread = threading.Thread(target=run_consumer, args=(settings, stop), daemon=True)
    thread.start()
    n = int(rate * seconds)
    produce(settings, settings.kafka.topic, n, start=20_000_000, rate=rate)
    while count_rows(engine, "bench") < n:
        time.sleep(0.05)
    stop.set()
    thread.join()
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT extra->>'sent_at', ingested_at FROM stories WHERE external_id LIKE 's2000%'"
            )
        ).all()
    engine.dispose()
    return sorted(
        (ingested - datetime.fromisoformat(sent)).total_seconds() for sent, ingested in rows
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stories", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=200.0, help="stories/s for the latency run")
    parser.add_argument("--latency-seconds", type=float, default=30.0)
    parser.add_argument(
        "--entities",
        choices=("compare", "on", "off"),
        default="compare",
        help="compare: end to end with entity resolution off and on, in this run",
    )
    parser.add_argument(
        "--rounds", type=int, default=2, help="off/on pairs with --entities compare"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(Path(tmp)) as broker:
        url = fresh_database()
        try:
            base = load_settings(
                database={"url": url},
                kafka={"bootstrap_servers": broker.bootstrap_servers, "topic": "bench-e2e"},
                metrics={"enabled": False},
                log_level="WARNING",
                entities={"enabled": args.entities != "off"},
            )
            classifier = Classifier.from_settings(base.model)
            batch = base.kafka.max_poll_records
            n = args.stories
            print(f"model {classifier.version} on {classifier.device}; {n} stories; batch {batch}")

            read_topic = base.kafka.model_copy(update={"topic": "bench-read"})
            kafka.ensure_topic(read_topic)
            produce(base, "bench-read", n)
            stages = {
                "kafka read (bare consumer)": kafka_read_rate(
                    base.model_copy(update={"kafka": read_topic}), "bench-read", n
                ),
                "entity resolution": resolve_rate(Resolver(default_dictionary()), n),
                "tokenize + model": model_rate(classifier, n, batch),
                "database write": db_rate(classifier, url, n, batch),
            }
            kafka.ensure_topic(base.kafka)
            e2e, startup = end_to_end(base, n)
            compared = compare_entities(base, n, args.rounds) if args.entities == "compare" else {}

            lat_settings = base.model_copy(
                update={
                    "kafka": base.kafka.model_copy(
                        update={"topic": "bench-latency", "group_id": "bench-lat"}
                    )
                }
            )
            kafka.ensure_topic(lat_settings.kafka)
            lat = latency(lat_settings, args.rate, args.latency_seconds)
        finally:
            drop_database(url)

    slowest_name, slowest = min(stages.items(), key=lambda kv: kv[1])
    print()
    print(f"{'stage':<30} {'stories/s':>10}")
    for name, rate in stages.items():
        print(f"{name:<30} {rate:>10,.0f}")
    print(f"{'end to end (produce→commit)':<30} {e2e:>10,.0f}")
    print(
        f"ratio end-to-end / slowest stage ({slowest_name}): {e2e / slowest:.2f}  (target ≥ 0.80)"
    )
    print(f"consumer start-up (model load, group join, first batch): {startup:.1f} s")
    if compared:
        off, on = (statistics.median(compared[k]) for k in ("off", "on"))
        for key in ("off", "on"):
            runs = ", ".join(f"{r:,.0f}" for r in compared[key])
            print(
                f"end to end, entities {key:<3}: median {statistics.median(compared[key]):,.0f}"
                f" stories/s (runs: {runs})"
            )
        pairs = [a / b for a, b in zip(compared["on"], compared["off"], strict=True)]
        print(
            f"ratio entities on / off: {on / off:.2f} of medians, "
            f"{statistics.median(pairs):.2f} median of paired runs  (target ≥ 0.80)"
        )
        cpu_off, cpu_on = (statistics.median(compared[f"{k} cpu ms/story"]) for k in ("off", "on"))
        print(
            f"bench process CPU per story: off {cpu_off:.2f} ms, on {cpu_on:.2f} ms "
            f"(on costs {cpu_on / cpu_off - 1:+.0%})"
        )
    p50 = statistics.median(lat)
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    print(
        f"latency at {args.rate:g} stories/s over {args.latency_seconds:g} s (n={len(lat)}): "
        f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
