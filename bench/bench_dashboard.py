"""Dashboard query benchmark: 1,000,000 stories in PostgreSQL, p50/p95 per page query.

Seeds a fresh database with set-based SQL (generate_series, no ORM rows), migrates it with our
own migrations (so the measured indexes are the shipped ones), builds the hourly rollup
(`monitor.store.rollup`, timed, with incremental passes), then runs every query function each
page calls with realistic parameters. Target: p95 <= 300 ms for every query. The Company page's
data (~500 entities, the entity_hourly rollup, entity alerts) and queries: `bench_entities.py`.

    .venv/bin/python bench/bench_dashboard.py            # seed 1M stories, measure, drop
    .venv/bin/python bench/bench_dashboard.py --keep     # keep (and on re-runs reuse) the DB
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import bench_entities
import sqlalchemy as sa
from benchlib import run_seed
from sqlalchemy.orm import Session

from monitor.nlp.labels import SENTIMENTS, TOPICS
from monitor.store import migrate, queries, rollup
from monitor.store.db import make_engine, make_sessionmaker

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DB_NAME = "monitor_bench_dashboard"
SOURCES = ("newswire", "reuters-like", "bloomberg-like", "wsj-like", "ft-like", "social", "pr")
SPAN = timedelta(days=30)

# The label arrays, bound once per statement as `p`.
ARRAYS = """
    p AS (SELECT CAST(:sources AS text[]) AS sources, CAST(:words AS text[]) AS words,
                 CAST(:topics AS text[]) AS topics, CAST(:sentiments AS text[]) AS sentiments,
                 CAST(:now AS timestamptz) AS now, CAST(:n AS int) AS n,
                 CAST(:span_s AS float8) AS span_s)
"""

SEED_SQL = [
    # Stories spread evenly over the last 30 days; ingested a few seconds after publication.
    f"""
    INSERT INTO stories (source, external_id, headline, body, url, tickers, published_at,
                         ingested_at, updated_at, kafka_topic, kafka_partition, kafka_offset,
                         version)
    WITH {ARRAYS}, g AS (
        SELECT i, p.now - (p.span_s * i / p.n) * interval '1 second' AS t
        FROM p, generate_series(1, p.n) AS i
    )
    SELECT p.sources[1 + i % cardinality(p.sources)], 'ext-' || i,
           'Story ' || i || ': ' || p.words[1 + i * 7 % cardinality(p.words)] || ' '
               || p.words[1 + i * 13 % cardinality(p.words)] || ' shares',
           NULL, CASE WHEN i % 3 = 0 THEN 'https://example.com/s/' || i END, NULL,
           t, t + make_interval(secs => 1 + i % 20), t + make_interval(secs => 1 + i % 20),
           'news', i % 4, i / 4, CASE WHEN i % 20 = 0 THEN 2 ELSE 1 END
    FROM p, g
    """,
    # One current classification per story; topics skewed so a few dominate, like real wires.
    f"""
    INSERT INTO classifications (story_id, story_version, model_version, topic, topic_confidence,
                                 sentiment, sentiment_confidence, sentiment_score, probabilities,
                                 is_current, classified_at)
    WITH {ARRAYS}
    SELECT s.id, s.version, 'lstm-bench-1',
           p.topics[1 + floor(power(random(), 2) * cardinality(p.topics))::int],
           0.5 + random() / 2, p.sentiments[1 + floor(random() * 3)::int],
           0.4 + random() * 0.6, random() * 2 - 1, '{{}}'::jsonb, true, s.ingested_at
    FROM p, stories AS s
    """,
    # Updated stories (every 20th) also carry their superseded classification.
    """
    INSERT INTO classifications (story_id, story_version, model_version, topic, topic_confidence,
                                 sentiment, sentiment_confidence, sentiment_score, probabilities,
                                 is_current, classified_at)
    SELECT s.id, 1, 'lstm-bench-0', 'Markets', 0.5, 'neutral', 0.5, 0.0, '{}'::jsonb, false,
           s.published_at
    FROM stories AS s WHERE s.version = 2
    """,
    f"""
    INSERT INTO dead_letters (kafka_topic, kafka_partition, kafka_offset, key, value, error,
                              received_at)
    WITH {ARRAYS}
    SELECT 'news', i % 4, 10000000 + i, NULL, convert_to('{{"id": ' || i || '}}', 'UTF8'),
           'missing or empty headline', p.now - i * interval '37 seconds'
    FROM p, generate_series(1, 20000) AS i
    """,
    f"""
    INSERT INTO alerts (fingerprint, scope, status, window_start, window_end, baseline_start,
                        baseline_end, window_count, window_negative, baseline_count,
                        baseline_negative, observed_share, baseline_share, statistic, threshold,
                        p_value, story_ids, details, opened_at, resolved_at)
    WITH {ARRAYS}, g AS (
        SELECT i, p.now - i * interval '83 minutes' AS w FROM p, generate_series(1, 500) AS i
    )
    SELECT 'fp-' || i, p.topics[1 + i % cardinality(p.topics)],
           CASE WHEN i <= 3 THEN 'firing' ELSE 'resolved' END,
           w - interval '15 minutes', w, w - interval '1 day', w - interval '15 minutes',
           120, 60, 4000, 1200, 0.5, 0.3, 4.2, 3.0, 0.0001,
           to_jsonb(ARRAY(SELECT i * 1000 + k FROM generate_series(1, 50) AS k)),
           NULL, w, CASE WHEN i > 3 THEN w + interval '1 hour' END
    FROM p, g
    """,
]

WORDS = (
    "Oil rallies",
    "Fed signals",
    "Bank beats",
    "Chipmaker misses",
    "Gold slips",
    "Bonds rally",
    "Merger talks",
    "CEO resigns",
    "Dividend raised",
    "IPO priced",
    "Probe widens",
    "Yen jumps",
)


def seed(url: str, n: int, now: datetime) -> None:
    """Fill the migrated database with n stories and their classifications, alerts, DLQ."""
    engine = make_engine(url)
    params: dict[str, Any] = {
        "n": n,
        "now": now,
        "span_s": SPAN.total_seconds(),
        "sources": list(SOURCES),
        "words": list(WORDS),
        "topics": list(TOPICS),
        "sentiments": list(SENTIMENTS),
    }
    run_seed(engine, SEED_SQL, params)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))
    engine.dispose()


def cases(now: datetime) -> dict[str, tuple[str, Callable[[Session, random.Random], Any]]]:
    """query label -> (page, call with randomised realistic parameters)."""
    day, week = timedelta(days=1), timedelta(days=7)

    def jitter(rng: random.Random) -> datetime:
        return now - timedelta(seconds=rng.randint(0, 600))

    def around_alert(session: Session, rng: random.Random) -> Any:
        alert = queries.get_alert(session, alert_id=rng.randint(1, 500))
        assert alert is not None
        queries.stories_by_ids(session, ids=alert.story_ids)
        return queries.sentiment_index(
            session,
            start=alert.window_start - timedelta(hours=6),
            end=alert.window_end + timedelta(hours=1),
            bucket_s=900,
            topics=[alert.scope],
        )

    def news(span: timedelta = day, **criteria: Any) -> Callable[[Session, random.Random], Any]:
        def call(session: Session, rng: random.Random) -> Any:
            end = jitter(rng)
            filters = queries.NewsFilter(start=end - span, end=end, **criteria)
            return queries.news_feed(session, filters=filters, limit=50, offset=0)

        return call

    return {
        "sentiment_index 24h/15min": (
            "Overview",
            lambda s, r: queries.sentiment_index(
                s, start=jitter(r) - day, end=jitter(r), bucket_s=900
            ),
        ),
        # Ranges over a day: complete hours from the rollup, the rest live (what the page runs).
        "overview_index 7d/1h": (
            "Overview",
            lambda s, r: queries.overview_index(
                s, start=jitter(r) - week, end=jitter(r), bucket_s=3600
            ),
        ),
        "overview_index 3d/1h": (
            "Overview",
            lambda s, r: queries.overview_index(
                s, start=jitter(r) - 3 * day, end=jitter(r), bucket_s=3600
            ),
        ),
        "firing_alerts": ("Overview", lambda s, r: queries.firing_alerts(s)),
        "list_alerts 200": ("Alerts", lambda s, r: queries.list_alerts(s, limit=200)),
        "alert detail (+stories, chart)": ("Alerts", around_alert),
        "news_feed 24h": ("News", news()),
        "news_feed 24h topic": ("News", news(topics=[TOPICS[5]])),
        "news_feed 24h neg+source": ("News", news(sentiments=["negative"], sources=[SOURCES[2]])),
        "news_feed 24h text": ("News", news(text="merger")),
        "news_feed 7d rare topic+text": (
            "News",
            news(span=week, topics=[TOPICS[-1]], text="ceo resigns"),
        ),
        "news_feed page 10": (
            "News",
            lambda s, r: queries.news_feed(s, filters=queries.NewsFilter(), limit=50, offset=450),
        ),
        "news_sources": ("News", lambda s, r: queries.news_sources(s)),
        "throughput 1h/1min": (
            "Pipeline",
            lambda s, r: queries.throughput(s, start=now - timedelta(hours=1), end=now),
        ),
        "throughput 24h/1min": (
            "Pipeline",
            lambda s, r: queries.throughput(s, start=now - day, end=now),
        ),
        "recent_dead_letters 100": (
            "Pipeline",
            lambda s, r: queries.recent_dead_letters(s, limit=100),
        ),
        "models_in_use": ("Pipeline", lambda s, r: queries.models_in_use(s)),
    }


def time_refreshes(url: str, now: datetime, repeats: int) -> None:
    """The rollup: its first build (all hours), then what a `monitor schedule` pass costs."""
    engine = make_engine(url)  # the scheduler's engine: no reader settings
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        started = time.perf_counter()
        report = rollup.refresh_sentiment_hourly(session, now=now)
        took = time.perf_counter() - started
    print(f"rollup refresh, first/catch-up: {took * 1000:8.1f} ms ({len(report.hours)} hours)")
    rng = random.Random(7)
    for label, touched in (("nothing new", 0), ("50 scattered corrections", 50)):
        timings = []
        for _ in range(repeats):
            with sessions() as session:
                if touched:  # corrections of random stories of the last 30 days, rolled back
                    ids = [rng.randint(1, 1_000_000) for _ in range(touched)]
                    session.execute(
                        sa.text(
                            "UPDATE classifications SET classified_at = :at"
                            " WHERE story_id = ANY(:ids) AND is_current"
                        ),
                        {"at": report.watermark + timedelta(seconds=1), "ids": ids},
                    )
                started = time.perf_counter()
                rollup.refresh_sentiment_hourly(session, now=now)
                timings.append((time.perf_counter() - started) * 1000)
                session.rollback()
        timings.sort()
        p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
        print(
            f"rollup refresh, {label + ':':<26} p50 {statistics.median(timings):7.1f} ms"
            f"  p95 {p95:7.1f} ms"
        )
    engine.dispose()


def measure(url: str, now: datetime, repeats: int) -> list[tuple[str, str, float, float]]:
    engine = queries.make_reader_engine(url)  # the dashboard's own engine settings
    sessions = make_sessionmaker(engine)
    rng = random.Random(5)
    results = []
    every = {**cases(now), **bench_entities.cases(url, now)}
    for label, (page, call) in every.items():
        timings = []
        with sessions() as session:
            call(session, rng)  # warm the cache, as a live dashboard would be
            for _ in range(repeats):
                started = time.perf_counter()
                call(session, rng)
                timings.append((time.perf_counter() - started) * 1000)
                session.rollback()
        timings.sort()
        p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
        results.append((page, label, statistics.median(timings), p95))
    engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--keep", action="store_true", help="keep the database; reuse if present")
    parser.add_argument("--database", default=DB_NAME, help="its name (default %(default)s)")
    args = parser.parse_args()
    db_name = args.database

    admin = sa.create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    url = args.admin_url.rsplit("/", 1)[0] + f"/{db_name}"
    with admin.connect() as connection:
        exists = connection.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": db_name}
        ).first()
        if exists and not args.keep:
            connection.execute(sa.text(f'DROP DATABASE "{db_name}" WITH (FORCE)'))
        if not exists or not args.keep:
            connection.execute(sa.text(f'CREATE DATABASE "{db_name}"'))
    now = datetime.now(UTC)
    try:
        migrate.upgrade(url)  # a kept database still gets any new index
        engine = make_engine(url)
        with engine.connect() as connection:
            count = connection.execute(sa.text("SELECT count(*) FROM stories")).scalar_one()
            newest = connection.execute(sa.text("SELECT max(published_at) FROM stories")).scalar()
            named = connection.execute(sa.text("SELECT count(*) FROM story_entities")).scalar_one()
        engine.dispose()
        if count == 0:
            print(f"seeding {args.stories:,} stories into {db_name} ...")
            started = time.perf_counter()
            seed(url, args.stories, now)
            print(f"seeded in {time.perf_counter() - started:.1f} s")
        else:
            print(f"reusing {count:,} stories in {db_name}")
            now = newest
        if not named:
            print(f"seeding ~{bench_entities.ENTITIES} entities over the stories ...")
            bench_entities.seed(url, now)
        time_refreshes(url, now, 10)
        print(f"\n{'page':<9} {'query':<32} {'p50 ms':>8} {'p95 ms':>8}")
        worst = 0.0
        for page, label, p50, p95 in measure(url, now, args.repeats):
            worst = max(worst, p95)
            flag = "" if p95 <= 300 else "  > 300 ms"
            print(f"{page:<9} {label:<32} {p50:8.1f} {p95:8.1f}{flag}")
        print(f"\nworst p95: {worst:.1f} ms (target 300 ms), {args.repeats} runs per query")
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"load average (1, 5, 15 min) at the end: {load}")
    finally:
        if not args.keep:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
