"""`monitor entities top|show|search|sectors`: companies from a shell, and (`--json`) for scripts.

The JSON output is a machine interface (README "monitor entities"): fields are only added,
never renamed or removed; times are RFC 3339 UTC, shares 0…1, scores −1…+1, changes
window − baseline.
"""

from __future__ import annotations

import json
import math
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from sqlalchemy.orm import Session

from monitor.entities.dictionary import EntityDictionary, default_dictionary


@click.group("entities")
def entities_group() -> None:
    """Companies named in the news: top movers, one company, search, sectors."""


def _session() -> AbstractContextManager[Session]:
    from monitor.settings import load_settings
    from monitor.store.db import command_session

    return command_session(load_settings().database.url)


class Duration(click.ParamType):
    """A span like 90m, 24h, 7d or 1d12h (more than zero)."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, timedelta):
            return value
        from monitor.alerts.silences import SilenceError, parse_duration

        try:
            span = parse_duration(str(value))
        except SilenceError as exc:
            self.fail(str(exc), param, ctx)
        if span <= timedelta(0):
            self.fail(f"{value!r} is not a span longer than zero", param, ctx)
        return span


DURATION = Duration()
since_option = click.option(
    "--since",
    type=DURATION,
    default="24h",
    show_default=True,
    help="the window: the last 90m, 24h, 7d…",
)
json_option = click.option("--json", "as_json", is_flag=True, help="machine-readable output")


def _iso(moment: Any) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(value: Any) -> float | None:
    """A float for JSON (null for NaN)."""
    number = float(value)
    return None if math.isnan(number) else number


def _echo_json(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@entities_group.command("top")
@since_option
@click.option("--baseline", type=DURATION, default="7d", show_default=True, help="the span before")
@click.option("--min-stories", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--limit", type=click.IntRange(min=1, max=500), default=10, show_default=True)
@json_option
def top_command(
    since: timedelta, baseline: timedelta, min_stories: int, limit: int, as_json: bool
) -> None:
    """Top movers: companies whose negative share or mean score moved most in the window
    against their own baseline (at least --min-stories stories in each)."""
    from monitor.store import queries
    from monitor.store.sql import floor_hour

    dictionary = default_dictionary()
    now = datetime.now(UTC)
    with _session() as session:
        movers = queries.top_movers(
            session,
            now=now,
            window=since,
            baseline=baseline,
            min_stories=min_stories,
            limit=limit,
        )
    if as_json:
        _echo_json(
            {
                "window_start": _iso(now - since),
                "window_end": _iso(now),
                "baseline_start": _iso(floor_hour(now - since) - baseline),
                "baseline_end": _iso(floor_hour(now - since)),
                "min_stories": min_stories,
                "movers": [
                    {
                        "entity": row.entity,
                        "name": dictionary.name(row.entity),
                        "sector": dictionary.sector(row.entity) or _sector(row.sector),
                        "stories": int(row.stories),
                        "negative": int(row.negative),
                        "negative_share": _num(row.negative_share),
                        "mean_score": _num(row.mean_score),
                        "baseline_stories": int(row.baseline_stories),
                        "baseline_negative_share": _num(row.baseline_negative_share),
                        "baseline_mean_score": _num(row.baseline_mean_score),
                        "share_change": _num(row.share_change),
                        "score_change": _num(row.score_change),
                        "movement": _num(row.movement),
                        "direction": row.direction,
                    }
                    for row in movers.itertuples()
                ],
            }
        )
        return
    if movers.empty:
        click.echo(f"No company has {min_stories}+ stories both in the window and in its baseline.")
        return
    click.echo(
        f"{'ticker':<8} {'name':<28} {'stories':>7} {'neg share':>17} {'mean score':>15}  move"
    )
    for row in movers.itertuples():
        name = (dictionary.name(row.entity) or "")[:28]
        click.echo(
            f"{row.entity:<8} {name:<28} {row.stories:>7} "
            f"{row.baseline_negative_share:>6.0%} → {row.negative_share:>6.0%}  "
            f"{row.baseline_mean_score:>+5.2f} → {row.mean_score:>+5.2f}  "
            f"{row.movement:.2f} {row.direction}"
        )


def _sector(stored: Any) -> str | None:
    from monitor.store.queries.entities import UNKNOWN_SECTOR

    return None if stored in (None, UNKNOWN_SECTOR) else str(stored)


@entities_group.command("show")
@click.argument("ticker")
@since_option
@click.option(
    "--stories", "story_limit", type=click.IntRange(0, 500), default=20, show_default=True
)
@json_option
def show_command(ticker: str, since: timedelta, story_limit: int, as_json: bool) -> None:
    """One company: its sentiment in the window, its latest stories (sentiment towards it
    beside the story's own) and its alerts."""
    from monitor.store import queries

    ticker = ticker.strip().upper()
    if not ticker or len(ticker) > 64 or not ticker.isprintable():
        raise click.BadParameter("a ticker, e.g. AAPL", param_hint="TICKER")
    dictionary = default_dictionary()
    now = datetime.now(UTC)
    with _session() as session:
        totals = queries.entity_totals(session, start=now - since, end=now, entities=[ticker])
        stories = queries.entity_stories(
            session, entity=ticker, start=now - since, end=now, limit=story_limit
        ).rows
        alerts = queries.entity_alerts(session, entity=ticker, limit=20)
    count = int(totals["stories"].sum())
    negative = int(totals["negative"].sum())
    score_sum = float(totals["score_sum"].sum())
    sector = dictionary.sector(ticker) or (_sector(totals["sector"].iloc[0]) if count else None)
    document = {
        "entity": ticker,
        "name": dictionary.name(ticker),
        "sector": sector,
        "window_start": _iso(now - since),
        "window_end": _iso(now),
        "stories": count,
        "negative": negative,
        "negative_share": negative / count if count else None,
        "mean_score": score_sum / count if count else None,
        "latest": [
            {
                "story_id": int(s.story_id),
                "published_at": _iso(s.published_at),
                "source": s.source,
                "headline": s.headline,
                "url": s.url if isinstance(s.url, str) else None,
                "sentiment": s.sentiment,
                "sentiment_score": float(s.sentiment_score),
                "entity_sentiment": s.entity_sentiment,
                "entity_score": float(s.entity_score),
                "from_mention": bool(s.from_mention),
            }
            for s in stories.itertuples()
        ],
        "alerts": [
            {
                "id": a.id,
                "status": a.status,
                "signal": a.signal,
                "opened_at": _iso(a.opened_at),
                "resolved_at": _iso(a.resolved_at),
                "window_count": a.window_count,
                "window_negative": a.window_negative,
                "observed_share": a.observed_share,
                "baseline_share": a.baseline_share,
            }
            for a in alerts
        ],
    }
    if as_json:
        _echo_json(document)
        return
    _show_text(document)


def _show_text(doc: dict[str, Any]) -> None:
    title = " · ".join(str(part) for part in (doc["entity"], doc["name"], doc["sector"]) if part)
    click.echo(title)
    if not doc["stories"]:
        click.echo(f"No stories name {doc['entity']} since {doc['window_start']}.")
    else:
        click.echo(
            f"{doc['stories']} stories since {doc['window_start']}: negative share "
            f"{doc['negative_share']:.0%}, mean score {doc['mean_score']:+.2f}"
        )
    for story in doc["latest"]:
        click.echo(
            f"  {story['published_at']}  towards it {story['entity_sentiment']:<8} "
            f"(story {story['sentiment']:<8})  {' '.join(story['headline'].split())[:90]}"
        )
    for alert in doc["alerts"]:
        click.echo(
            f"  alert #{alert['id']} [{alert['status']}] {alert['signal']} · opened "
            f"{alert['opened_at']} · {alert['window_negative']}/{alert['window_count']} negative"
        )


@entities_group.command("search")
@click.argument("query")
@click.option("--limit", type=click.IntRange(min=1, max=100), default=10, show_default=True)
@json_option
def search_command(query: str, limit: int, as_json: bool) -> None:
    """Find companies by ticker or name: the dictionary, then tickers seen in stories."""
    from monitor.store import queries

    dictionary = default_dictionary()
    with _session() as session:
        seen = queries.seen_entities(session)
    found = search_entities(dictionary, seen, query, limit)
    if as_json:
        _echo_json({"query": query, "results": found})
        return
    if not found:
        click.echo(f"No company matches {query!r}.")
    for hit in found:
        click.echo(f"{hit['entity']:<8} {hit['name'] or '':<36} {hit['sector'] or ''}")


def search_entities(
    dictionary: EntityDictionary, seen: list[str], query: str, limit: int
) -> list[dict[str, Any]]:
    """Dictionary matches first (its ranking), then entities seen in stories that the
    dictionary lacks and whose key contains the query; each with whether stories name it."""
    seen_set = set(seen)
    hits = [
        {"entity": e.ticker, "name": e.name, "sector": e.sector, "seen": e.ticker in seen_set}
        for e in dictionary.search(query, limit)
    ]
    needle = query.strip().lower()
    extra = sorted(
        (e for e in seen if e not in dictionary and needle and needle in e.lower()),
        key=lambda e: (not e.lower().startswith(needle), e),
    )
    hits += [{"entity": e, "name": None, "sector": None, "seen": True} for e in extra]
    return hits[:limit]


@entities_group.command("sectors")
@since_option
@json_option
def sectors_command(since: timedelta, as_json: bool) -> None:
    """Sentiment per sector in the window (a story counts once per company it names)."""
    from monitor.store import queries

    now = datetime.now(UTC)
    with _session() as session:
        sectors = queries.sector_summary(session, start=now - since, end=now)
    if as_json:
        _echo_json(
            {
                "window_start": _iso(now - since),
                "window_end": _iso(now),
                "sectors": [
                    {
                        "sector": _sector(row.sector),
                        "entities": int(row.entities),
                        "stories": int(row.stories),
                        "negative": int(row.negative),
                        "negative_share": _num(row.negative_share),
                        "mean_score": _num(row.mean_score),
                    }
                    for row in sectors.itertuples()
                ],
            }
        )
        return
    if sectors.empty:
        click.echo("No company named in the window.")
        return
    click.echo(f"{'sector':<28} {'companies':>9} {'stories':>8} {'neg share':>9} {'score':>6}")
    for row in sectors.itertuples():
        click.echo(
            f"{row.sector:<28} {row.entities:>9} {row.stories:>8} "
            f"{row.negative_share:>9.0%} {row.mean_score:>+6.2f}"
        )
