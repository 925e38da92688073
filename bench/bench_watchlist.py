"""Bench the watchlist's volume signal and the cost of entity scopes.

    .venv/bin/python bench/bench_watchlist.py stats [--weeks 52] [--reps 300] [--seed 1]
    .venv/bin/python bench/bench_watchlist.py timing [--entities 500] [--hours 25] [--per-hour 4]

`stats` (no database): per-entity negative stories arrive at a steady rate, Poisson or bursty
(the hourly rate drawn from a Gamma with CV 0.5: news clusters), evaluated every
`MONITOR_ALERTS__INTERVAL_S` of stream time with `monitor.alerts.stats.volume_test` (vectorised
here, checked against the scalar function) and the real lifecycle; prints false alarms per entity
per week, and the delay to fire after the rate jumps to k times itself. Settings come from the
environment: `MONITOR_ALERTS__ENTITY__VOLUME_FIRE_Z=5 ... stats` tries another threshold.
The share signal is the topic detector's test (bench/bench_detector.py).

`timing` (PostgreSQL on 127.0.0.1:5432, a scratch database created and dropped): seeds
`--entities` entities with `--per-hour` stories each over `--hours`, then times detector passes
with the watchlist off, on a list of 20 tickers, and on `*`.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial

import numpy as np
from benchlib import lifecycle_fires

from monitor.alerts.detector import lifecycle_params
from monitor.alerts.stats import Z_CAP, volume_test
from monitor.settings import load_settings
from monitor.settings.alerts import AlertSettings

WEEK_S = 7 * 86_400


def volume_series(negatives: np.ndarray, settings: AlertSettings) -> dict[str, np.ndarray]:
    """Window/baseline negatives and the volume test at every evaluation (last axis = time)."""
    from scipy.stats import nbinom, norm

    cfg = settings.entity
    w = round(cfg.window_s / settings.interval_s)
    b = round(cfg.baseline_s / settings.interval_s)
    zeros = np.zeros((*negatives.shape[:-1], 1), dtype=np.int64)
    cx = np.concatenate([zeros, np.cumsum(negatives, axis=-1)], axis=-1)
    end = np.arange(w + b, negatives.shape[-1] + 1)
    x_w = cx[..., end] - cx[..., end - w]
    x_b = cx[..., end - w] - cx[..., end - w - b]
    shape = x_b + cfg.prior_negative_per_hour * cfg.prior_hours
    exposure = cfg.baseline_s / 3600 + cfg.prior_hours
    window_h = cfg.window_s / 3600
    expected = shape / exposure * window_h
    size = 1.0 / (1.0 / shape + cfg.dispersion**2)
    p = np.where(x_w > 0, nbinom.sf(x_w - 1, size, size / (size + expected)), 1.0)
    z = np.where(p > 0, np.clip(norm.isf(p), -Z_CAP, Z_CAP), Z_CAP)
    enough = x_w >= cfg.min_negative
    significant = enough & (z >= cfg.volume_fire_z) & (x_w >= cfg.min_rate_ratio * expected)
    return {"x_w": x_w, "x_b": x_b, "z": z, "enough": enough, "significant": significant}


def check_against_scalar(series: dict[str, np.ndarray], settings: AlertSettings) -> None:
    cfg = settings.entity
    flat = {k: np.ravel(v) for k, v in series.items()}
    for i in range(0, flat["z"].size, max(1, flat["z"].size // 50)):
        result = volume_test(
            window_negative=int(flat["x_w"][i]),
            baseline_negative=int(flat["x_b"][i]),
            window_s=cfg.window_s,
            baseline_s=cfg.baseline_s,
            prior_per_hour=cfg.prior_negative_per_hour,
            prior_hours=cfg.prior_hours,
            fire_z=cfg.volume_fire_z,
            min_negative=cfg.min_negative,
            min_rate_ratio=cfg.min_rate_ratio,
            dispersion=cfg.dispersion,
        )
        assert math.isclose(result.statistic, flat["z"][i], rel_tol=1e-7, abs_tol=1e-7)
        assert result.significant == bool(flat["significant"][i])


def fires(series: dict[str, np.ndarray], settings: AlertSettings, start: int = 0) -> list[int]:
    return lifecycle_fires(
        series["significant"].tolist()[start:],
        series["z"].tolist()[start:],
        series["enough"].tolist()[start:],
        lifecycle_params(settings),
        settings.interval_s,
    )


def arrivals(
    rng: np.random.Generator, rate_per_hour: np.ndarray, interval_s: float, bursty: bool
) -> np.ndarray:
    """Negative stories per evaluation interval; bursty: the rate of each hour is Gamma-mixed."""
    rate = rate_per_hour
    if bursty:
        per_hour = round(3600 / interval_s)
        hours = -(-rate.shape[-1] // per_hour)
        mix = rng.gamma(4.0, 0.25, size=(*rate.shape[:-1], hours))  # mean 1, CV 0.5
        rate = rate * np.repeat(mix, per_hour, axis=-1)[..., : rate.shape[-1]]
    return rng.poisson(rate * interval_s / 3600)


def stats_bench(args: argparse.Namespace) -> None:
    settings = load_settings().alerts  # MONITOR_ALERTS__* in the environment apply
    rng = np.random.default_rng(args.seed)
    cfg = settings.entity
    print(
        f"volume signal at the defaults: window {cfg.window_s / 60:.0f} min, baseline "
        f"{cfg.baseline_s / 3600:.0f} h, volume_fire_z {cfg.volume_fire_z}, min_negative "
        f"{cfg.min_negative}, min_rate_ratio {cfg.min_rate_ratio}, dispersion {cfg.dispersion}, "
        f"persistence "
        f"{settings.persistence_evaluations}, evaluated every {settings.interval_s:g} s"
    )
    print(f"{'neg/h':>6} {'arrivals':>8} | {'FA/week':>8} | {'jump':>4} {'median delay':>12} "
          f"{'p90':>7} {'P(fire in 1h)':>13}")  # fmt: skip
    warm = int((cfg.baseline_s + cfg.window_s) / settings.interval_s)
    first = round(cfg.window_s / settings.interval_s) + round(cfg.baseline_s / settings.interval_s)
    after = int(3 * 3600 / settings.interval_s)
    for rate in (0.1, 0.5, 2.0, 10.0):
        for bursty in (False, True):
            bins = int((args.weeks * WEEK_S + cfg.baseline_s + cfg.window_s) / settings.interval_s)
            series = volume_series(
                arrivals(rng, np.full(bins, rate), settings.interval_s, bursty), settings
            )
            check_against_scalar(series, settings)
            fa = len(fires(series, settings)) / args.weeks
            for jump in (3, 6):
                rates = np.concatenate([np.full(warm, rate), np.full(after, rate * jump)])
                grid = np.broadcast_to(rates, (args.reps, rates.size))
                step_series = volume_series(
                    arrivals(rng, grid, settings.interval_s, bursty), settings
                )
                delays = []
                for r in range(args.reps):
                    one = {k: v[r] for k, v in step_series.items()}
                    # evaluation 0: the window ends with the last bin before the jump
                    fired = fires(one, settings, start=warm - first)
                    delays.append(fired[0] * settings.interval_s / 60 if fired else math.inf)
                d = np.array(delays)
                median = float(np.median(d))
                p90 = float(np.quantile(d, 0.9))
                print(
                    f"{rate:>6.1f} {'bursty' if bursty else 'poisson':>8} | {fa:>8.2f} | "
                    f"{jump:>3d}x {median:>10.1f}m {p90:>6.1f}m {np.mean(d <= 60):>13.1%}",
                    flush=True,
                )


def identity(moment: datetime) -> datetime:
    return moment


def timing_bench(args: argparse.Namespace) -> None:
    import sqlalchemy as sa

    from monitor.alerts.detector import detect
    from monitor.store import migrate
    from monitor.store.db import make_engine, make_sessionmaker
    from monitor.store.writes import EntityRow, StoryRow, write_batch

    admin = sa.create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    name = f"bench_watchlist_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = args.admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate.upgrade(url)
        engine = make_engine(url)
        sessions = make_sessionmaker(engine)
        now = datetime(2026, 1, 5, 12, tzinfo=UTC)
        rng = np.random.default_rng(args.seed)
        tickers = [f"T{i:03d}" for i in range(args.entities)]
        total = int(args.entities * args.per_hour * args.hours)
        seeded = time.perf_counter()
        offset = 0
        for start in range(0, total, 2000):
            rows = []
            for i in range(start, min(total, start + 2000)):
                offset += 1
                ticker = tickers[i % args.entities]
                sentiment = "negative" if rng.random() < 0.2 else "neutral"
                at = now - timedelta(seconds=float(rng.uniform(0, args.hours * 3600)))
                rows.append(StoryRow(
                    source="bench", external_id=f"s{offset}", headline=f"{ticker} story {i}",
                    body=None, url=None, tickers=[ticker], lang="en", extra=None,
                    published_at=at, kafka_topic="news", kafka_partition=0, kafka_offset=offset,
                    labels={"topic": "Earnings", "topic_confidence": 0.9, "sentiment": sentiment,
                            "sentiment_confidence": 0.8, "sentiment_score": 0.0,
                            "probabilities": {}},
                    entities=(EntityRow(ticker, ticker, None, None, "ticker", "Energy",
                                        sentiment, 0.8, 0.0, False),),
                ))  # fmt: skip
            with sessions.begin() as session:
                write_batch(session, stories=rows, dead_letters=[], model_version="bench")
        print(
            f"seeded {total} stories about {args.entities} entities over {args.hours:g} h "
            f"in {time.perf_counter() - seeded:.0f} s"
        )
        runs = (("off", ""), ("20 tickers", ",".join(tickers[:20])), ("*", "*"))
        for k, (label, watchlist) in enumerate(runs):
            settings = AlertSettings(watchlist=watchlist)
            times = []
            for i in range(args.passes):
                # every pass at a new 'now' (30 s on), or the detector skips the scopes it saw
                at = now + timedelta(seconds=30 * (k * args.passes + i))
                began = time.perf_counter()
                with sessions.begin() as session:
                    report = detect(
                        session=session, settings=settings, endpoints=[],
                        dashboard_url="http://bench", clock=partial(identity, at),
                    )  # fmt: skip
                times.append((time.perf_counter() - began) * 1000)
            print(
                f"watchlist {label:>10}: {report.evaluated:>4} scopes evaluated, detector pass "
                f"median {statistics.median(times):.0f} ms, max {max(times):.0f} ms "
                f"({args.passes} passes)"
            )
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    stats = sub.add_parser("stats")
    stats.add_argument("--weeks", type=float, default=52.0)
    stats.add_argument("--reps", type=int, default=300)
    stats.add_argument("--seed", type=int, default=1)
    timing = sub.add_parser("timing")
    timing.add_argument("--entities", type=int, default=500)
    timing.add_argument("--hours", type=float, default=25.0)
    timing.add_argument("--per-hour", type=float, default=4.0)
    timing.add_argument("--passes", type=int, default=5)
    timing.add_argument("--seed", type=int, default=1)
    timing.add_argument(
        "--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    (stats_bench if args.command == "stats" else timing_bench)(args)
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
