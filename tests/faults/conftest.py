"""The fault suite: every way we know to break ingestion, alerting or the dashboard, run against
the real broker, the real PostgreSQL and a real browser. Each test asserts that nothing is lost
or doubled. The dashboard's factories and server fixture are shared with tests/dashboard."""

from __future__ import annotations

from tests.dashboard.conftest import (  # noqa: F401  (fixtures)
    dashboard_url,
    make_alert,
    make_dead_letter,
    make_story,
    page,
)
from tests.ingest.conftest import own_broker, pipeline  # noqa: F401  (fixtures)
