"""SQL building blocks shared by every reader of the store: the dashboard's queries, the
detector's aggregates, the hourly rollup and the webhook payloads.

One home so they cannot drift apart: how a timestamp read back becomes an aware UTC time, what
scope names the whole market, how a story is joined to its current classification, and how a
timestamp becomes a time bucket on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, cast, func, text
from sqlalchemy import Integer as SAInteger
from sqlalchemy.orm import InstrumentedAttribute, Session

from monitor.store.models import Classification, Story

MARKET = "*"  # the alert scope of the whole market (every topic together)
# The origin "topic" of stories written by `monitor import` (a Kafka topic cannot hold ':').
IMPORT_PREFIX = "import:"


def as_utc(moment: datetime) -> datetime:
    """An aware UTC time: SQLite hands timestamps back naive (they are stored as UTC), and an
    aware time from elsewhere is converted, not relabelled."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def current_classification() -> ColumnElement[bool]:
    """Join condition from a story to its one current classification.

    The bare boolean (`AND classifications.is_current`), never `IS true`: PostgreSQL uses the
    partial indexes `WHERE is_current` (migration 0003's covering index, the unique current
    row) only for a predicate that implies theirs, and `IS true` does not. EXPLAIN ANALYZE of
    the detector's 25-hour aggregate over 1M stories: a parallel seq scan of every
    classification, 262 ms, with `IS true`; an index-only scan of
    `ix_classifications_current_labels`, 53 ms, with the bare column.
    """
    return (Classification.story_id == Story.id) & Classification.is_current


def epoch_seconds(session: Session, column: InstrumentedAttribute[datetime]) -> ColumnElement[Any]:
    """Seconds since 1970 for a timestamp column, in the SQL of the session's database."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLAlchemy stores SQLite datetimes as UTC text; strftime('%s') parses that text.
        return cast(func.strftime("%s", column), SAInteger)
    # date_part returns float8; extract() returns numeric, several times slower to aggregate.
    return func.date_part("epoch", column)


def time_bucket(
    session: Session, column: InstrumentedAttribute[datetime], bucket_s: int
) -> ColumnElement[Any]:
    """The start of the `bucket_s`-second bucket holding `column`, as epoch seconds."""
    seconds = epoch_seconds(session, column)
    if session.get_bind().dialect.name == "sqlite":
        # Integer division floors (times are after 1970); SQLite may lack floor().
        return (seconds // bucket_s) * bucket_s
    return func.floor(seconds / bucket_s) * bucket_s


def from_epoch(seconds: Any) -> datetime:
    """A bucket's epoch seconds (as SQL returns them) as an aware UTC time."""
    return datetime.fromtimestamp(int(seconds), UTC)


def epochs_to_utc(seconds: pd.Series) -> pd.Series:
    """`from_epoch` for a column of buckets."""
    return pd.to_datetime(seconds.astype("float64"), unit="s", utc=True)


def floor_hour(moment: datetime) -> datetime:
    """The start of the UTC hour holding `moment`."""
    return datetime.fromtimestamp(int(moment.timestamp()) // 3600 * 3600, UTC)


def skip_scan(session: Session, table: str, column: str) -> list[str]:
    """The distinct values of an indexed `column`, sorted, by a skip scan: one index probe per
    value (a recursive CTE), not a read of every row; PostgreSQL and SQLite alike. `table` and
    `column` are our own schema's names, never user input."""
    query = f"""
        WITH RECURSIVE d(value) AS (
            SELECT min({column}) FROM {table}
            UNION ALL
            SELECT (SELECT min({column}) FROM {table} WHERE {table}.{column} > d.value)
            FROM d WHERE d.value IS NOT NULL
        )
        SELECT value FROM d WHERE value IS NOT NULL
        """
    return [row[0] for row in session.execute(text(query))]
