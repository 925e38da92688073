"""Counter hooks of the alerting side, forwarded to the shared Prometheus metrics.

The detector and dispatcher call these functions and never touch prometheus-client directly, so
metric names and label vocabularies stay defined in one place (`monitor.metrics`).
"""

from __future__ import annotations

from monitor import metrics
from monitor.store.sql import MARKET

MARKET_LABEL = "overall"  # monitor.metrics names the whole-market scope this way


def alert_fired(scope: str) -> None:
    metrics.ALERTS_FIRED.labels(scope=MARKET_LABEL if scope == MARKET else scope).inc()


def alert_resolved(scope: str) -> None:
    metrics.ALERTS_RESOLVED.inc()


def webhook_attempt(outcome: str) -> None:
    """`outcome` is one of monitor.metrics.WEBHOOK_OUTCOMES."""
    metrics.WEBHOOK_ATTEMPTS.labels(outcome=outcome).inc()
