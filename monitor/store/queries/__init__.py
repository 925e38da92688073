"""Read queries for the dashboard (and the one write it does: acknowledging an alert).

Every function takes the session keyword-only and returns dataclasses or DataFrames, so pages
hold no SQL. All of them run on PostgreSQL and SQLite; the SQL building blocks they share with
the detector and the rollup (time buckets, the current-classification join, UTC times, the
market scope) live in `monitor.store.sql`. One module per part of the dashboard:
`sentiment` (Overview, Alerts charts), `alerts`, `news`, `pipeline`.
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
    "INDEX_COLUMNS",
    "LIVE_SPAN",
    "MARKET",
    "NEWS_COLUMNS",
    "READER_STATEMENT_TIMEOUT_MS",
    "ROLLUP_NAME",
    "WINDOW_ORDERS",
    "AlertNotFound",
    "AlertRow",
    "AlreadyAcknowledged",
    "ModelInUse",
    "NewsFilter",
    "NewsPage",
    "acknowledge_alert",
    "count_window_stories",
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
    "sentiment_index",
    "stories_by_ids",
    "throughput",
    "window_stories",
]
