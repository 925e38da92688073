"""Read queries for the dashboard (and the one write it does: acknowledging an alert).

Every function takes the session keyword-only and returns dataclasses or DataFrames, so pages
hold no SQL. All of them run on PostgreSQL and SQLite; the SQL building blocks they share with
the detector and the rollup (time buckets, the current-classification join, UTC times, the
market scope) live in `monitor.store.sql`. One module per part of the dashboard:
`sentiment` (Overview, Alerts charts), `alerts`, `news`, `pipeline`, `entities` (Company page,
top movers, `monitor entities`).
"""

from monitor.store.db import READER_STATEMENT_TIMEOUT_MS, make_reader_engine
from monitor.store.queries.alerts import (
    AlertNotFound,
    AlertRow,
    AlreadyAcknowledged,
    acknowledge_alert,
    firing_alerts,
    get_alert,
    list_alerts,
)
from monitor.store.queries.entities import (
    ENTITY_ROLLUP,
    ENTITY_SCOPE,
    ENTITY_STORY_COLUMNS,
    MOVER_COLUMNS,
    SECTOR_COLUMNS,
    STORY_ENTITY_COLUMNS,
    entities_of_stories,
    entity_alerts,
    entity_index,
    entity_series,
    entity_stories,
    entity_totals,
    sector_summary,
    seen_entities,
    top_movers,
)
from monitor.store.queries.news import (
    NEWS_COLUMNS,
    WINDOW_ORDERS,
    NewsFilter,
    NewsPage,
    count_window_stories,
    news_feed,
    news_sources,
    stories_by_ids,
    window_stories,
)
from monitor.store.queries.pipeline import (
    ModelInUse,
    models_in_use,
    recent_dead_letters,
    throughput,
)
from monitor.store.queries.sentiment import (
    INDEX_COLUMNS,
    LIVE_SPAN,
    hourly_index,
    market_index,
    overview_index,
    rolled_until,
    sentiment_index,
)
from monitor.store.rollup import ROLLUP_NAME
from monitor.store.sql import MARKET, floor_hour

__all__ = [
    "ENTITY_ROLLUP",
    "ENTITY_SCOPE",
    "ENTITY_STORY_COLUMNS",
    "INDEX_COLUMNS",
    "LIVE_SPAN",
    "MARKET",
    "MOVER_COLUMNS",
    "NEWS_COLUMNS",
    "READER_STATEMENT_TIMEOUT_MS",
    "ROLLUP_NAME",
    "SECTOR_COLUMNS",
    "STORY_ENTITY_COLUMNS",
    "WINDOW_ORDERS",
    "AlertNotFound",
    "AlertRow",
    "AlreadyAcknowledged",
    "ModelInUse",
    "NewsFilter",
    "NewsPage",
    "acknowledge_alert",
    "count_window_stories",
    "entities_of_stories",
    "entity_alerts",
    "entity_index",
    "entity_series",
    "entity_stories",
    "entity_totals",
    "firing_alerts",
    "floor_hour",
    "get_alert",
    "hourly_index",
    "list_alerts",
    "make_reader_engine",
    "market_index",
    "models_in_use",
    "news_feed",
    "news_sources",
    "overview_index",
    "recent_dead_letters",
    "rolled_until",
    "sector_summary",
    "seen_entities",
    "sentiment_index",
    "stories_by_ids",
    "throughput",
    "top_movers",
    "window_stories",
]
