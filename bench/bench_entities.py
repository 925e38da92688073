"""The Company page's data for `bench_dashboard.py`: ~500 entities over the seeded stories, the
entity_hourly rollup, entity alerts, and the entity queries each page runs.

Entities are the first 500 tickers of the shipped S&P 500 dictionary (with their sectors). Each
story names one, skewed like real news (a few names in many stories: the busiest is in about
4% of them), and every third story a second one: about 1.33 entity rows per story.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from benchlib import run_seed
from sqlalchemy.orm import Session

from monitor.entities.dictionary import default_dictionary
from monitor.nlp.labels import SENTIMENTS
from monitor.store import queries, rollup
from monitor.store.db import make_engine, make_sessionmaker

ENTITIES = 500

PARAMS = """
    e AS (SELECT CAST(:tickers AS text[]) AS t, CAST(:sectors AS text[]) AS s,
                 CAST(:sentiments AS text[]) AS sent, CAST(:count AS int) AS n,
                 CAST(:now AS timestamptz) AS now)
"""

SEED_SQL = [
    f"""
    INSERT INTO story_entities (story_id, entity, mention, span_start, span_end, matched_by,
                                sector, sentiment, confidence, score, from_mention)
    WITH {PARAMS}, picks AS (
        SELECT s.id, 1 + floor(power(random(), 2) * e.n)::int AS k FROM stories AS s, e
        UNION
        SELECT s.id, 1 + (s.id * 7919 % e.n)::int FROM stories AS s, e WHERE s.id % 3 = 0
    )
    SELECT p.id, e.t[p.k], e.t[p.k], NULL, NULL, 'ticker', e.s[p.k],
           e.sent[1 + floor(random() * 3)::int], 0.4 + random() * 0.6, random() * 2 - 1, true
    FROM picks AS p, e
    """,
    f"""
    INSERT INTO alerts (fingerprint, scope, scope_kind, signal, status, window_start, window_end,
                        baseline_start, baseline_end, window_count, window_negative,
                        baseline_count, baseline_negative, observed_share, baseline_share,
                        statistic, threshold, p_value, story_ids, details, opened_at,
                        resolved_at)
    WITH {PARAMS}, g AS (
        SELECT i, e.now - i * interval '97 minutes' AS w FROM e, generate_series(1, 400) AS i
    )
    SELECT 'fp-entity-' || i, e.t[1 + i % 20], 'entity',
           CASE WHEN i % 2 = 0 THEN 'share' ELSE 'volume' END,
           CASE WHEN i <= 2 THEN 'firing' ELSE 'resolved' END,
           w - interval '15 minutes', w, w - interval '1 day', w - interval '15 minutes',
           30, 20, 400, 80, 0.66, 0.2, 5.1, 3.0, 0.0001,
           to_jsonb(ARRAY(SELECT i * 1000 + k FROM generate_series(1, 20) AS k)), NULL, w,
           CASE WHEN i > 2 THEN w + interval '2 hours' END
    FROM e, g
    """,
]

# Used only when `monitor.store.rollup` has no entity rollup to time: the same aggregate.
ROLLUP_SQL = [
    """
    INSERT INTO entity_hourly (entity, hour, sector, stories, negative, neutral, positive,
                               score_sum)
    SELECT se.entity, to_timestamp(floor(date_part('epoch', s.published_at) / 3600) * 3600),
           max(se.sector), count(*), count(*) FILTER (WHERE se.sentiment = 'negative'),
           count(*) FILTER (WHERE se.sentiment = 'neutral'),
           count(*) FILTER (WHERE se.sentiment = 'positive'), sum(se.score)
    FROM story_entities AS se JOIN stories AS s ON s.id = se.story_id
    JOIN classifications AS c ON c.story_id = s.id AND c.is_current
    GROUP BY 1, 2
    """,
    """
    INSERT INTO rollup_state (name, watermark, refreshed_at)
    SELECT :name, max(classified_at), CAST(:now AS timestamptz) FROM classifications
    ON CONFLICT (name) DO UPDATE SET watermark = excluded.watermark,
                                     refreshed_at = excluded.refreshed_at
    """,
]


def tickers() -> tuple[list[str], list[str]]:
    entries = default_dictionary().entries[:ENTITIES]
    return [e.ticker for e in entries], [e.sector or "" for e in entries]


def seed(url: str, now: datetime) -> None:
    """Entity rows for every seeded story, entity alerts, then the entity rollup."""
    names, sectors = tickers()
    params: dict[str, Any] = {
        "tickers": names,
        "sectors": sectors,
        "sentiments": list(SENTIMENTS),
        "count": len(names),
        "now": now,
    }
    engine = make_engine(url)
    run_seed(engine, SEED_SQL, params)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE story_entities"))
    build_rollup(url, now)
    engine.dispose()


def build_rollup(url: str, now: datetime) -> None:
    """The entity rollup's first build: `rollup.refresh_entity_hourly` when there is one (timed),
    else the same aggregate in one statement."""
    refresh = getattr(rollup, "refresh_entity_hourly", None)
    engine = make_engine(url)
    started = time.perf_counter()
    if refresh is not None:
        with make_sessionmaker(engine).begin() as session:
            refresh(session, now=now)
        how = "refresh_entity_hourly"
    else:
        with engine.begin() as connection:
            for statement in ROLLUP_SQL:
                connection.execute(sa.text(statement), {"name": queries.ENTITY_ROLLUP, "now": now})
        how = "one INSERT … SELECT (no refresh_entity_hourly yet)"
    print(f"  entity_hourly    {time.perf_counter() - started:6.1f} s ({how})")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE entity_hourly"))
    engine.dispose()


def busiest(url: str) -> tuple[str, str]:
    """The entity in most stories, and a middling one (the median by story count)."""
    engine = make_engine(url)
    with engine.connect() as connection:
        ranked = [
            row[0]
            for row in connection.execute(
                sa.text(
                    "SELECT entity FROM entity_hourly GROUP BY entity ORDER BY sum(stories) DESC"
                )
            )
        ]
    engine.dispose()
    return ranked[0], ranked[len(ranked) // 2]


Call = Callable[[Session, random.Random], Any]


def cases(url: str, now: datetime) -> dict[str, tuple[str, Call]]:
    """query label -> (page, call), as the Company page, Overview and News run them."""
    top, middle = busiest(url)
    day, week = timedelta(days=1), timedelta(days=7)

    def jitter(rng: random.Random) -> datetime:
        return now - timedelta(seconds=rng.randint(0, 600))

    def series(entity: str, span: timedelta, bucket_s: int) -> Call:
        def call(session: Session, rng: random.Random) -> Any:
            end = jitter(rng)
            return queries.entity_series(
                session, entity=entity, start=end - span, end=end, bucket_s=bucket_s
            )

        return call

    def stories(entity: str, span: timedelta, offset: int = 0) -> Call:
        def call(session: Session, rng: random.Random) -> Any:
            end = jitter(rng)
            return queries.entity_stories(
                session, entity=entity, start=end - span, end=end, limit=25, offset=offset
            )

        return call

    def company_page(entity: str) -> Call:
        """Everything one Company page view runs (7-day default range)."""

        def call(session: Session, rng: random.Random) -> Any:
            series(entity, week, 3600)(session, rng)
            stories(entity, week)(session, rng)
            return queries.entity_alerts(session, entity=entity, limit=50)

        return call

    def news_entities(session: Session, rng: random.Random) -> Any:
        page = queries.news_feed(session, filters=queries.NewsFilter(), limit=50)
        return queries.entities_of_stories(session, story_ids=page.rows["story_id"].tolist())

    return {
        f"entity_series 24h/15min {top}": ("Company", series(top, day, 900)),
        f"entity_series 7d/1h {top}": ("Company", series(top, week, 3600)),
        f"entity_series 30d/1h {top}": ("Company", series(top, 30 * day, 3600)),
        f"entity_series 7d/1h {middle}": ("Company", series(middle, week, 3600)),
        f"entity_stories 7d {top}": ("Company", stories(top, week)),
        f"entity_stories 7d {top} p10": ("Company", stories(top, week, offset=225)),
        f"entity_alerts {top}": (
            "Company",
            lambda s, r: queries.entity_alerts(s, entity=top, limit=50),
        ),
        f"whole page 7d {top}": ("Company", company_page(top)),
        f"whole page 7d {middle}": ("Company", company_page(middle)),
        "top_movers 24h vs 7d": (
            "Overview",
            lambda s, r: queries.top_movers(s, now=jitter(r), window=day),
        ),
        "top_movers 7d vs 7d": (
            "Overview",
            lambda s, r: queries.top_movers(s, now=jitter(r), window=week),
        ),
        "sector_summary 24h": (
            "CLI",
            lambda s, r: queries.sector_summary(s, start=jitter(r) - day, end=jitter(r)),
        ),
        "seen_entities (search box)": ("Company", lambda s, r: queries.seen_entities(s)),
        "news_feed + entities_of_stories": ("News", news_entities),
    }
