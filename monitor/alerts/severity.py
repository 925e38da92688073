"""How bad an alert is: one rule over the two numbers every alert stores, how sure the test is
(the statistic against its firing threshold) and how big the rise is (observed minus baseline
negative share, in points). Pure; documented in docs/alerts.md ("Severity").

Alertmanager's convention, so receivers can route on it: `critical` pages someone, `warning`
goes to the desk's channel, `info` is worth a look. Every alert already passed the firing test
(statistic ≥ threshold, rise ≥ MONITOR_ALERTS__MIN_SHARE_INCREASE), so `info` is the floor.
"""

from __future__ import annotations

from typing import Protocol

CRITICAL = "critical"
WARNING = "warning"
INFO = "info"
LEVELS = (CRITICAL, WARNING, INFO)  # most severe first

CRITICAL_RISE = 0.20  # 20 points more negative stories than the baseline...
CRITICAL_STATISTIC = 2.0  # ...and a statistic of at least twice the threshold
WARNING_RISE = 0.10
WARNING_STATISTIC = 1.5


def level(
    *, statistic: float, threshold: float, observed_share: float, baseline_share: float
) -> str:
    """`critical` when the rise is large AND far beyond doubt; `warning` when it is large OR
    well beyond doubt; `info` otherwise."""
    rise = observed_share - baseline_share
    ratio = statistic / threshold if threshold > 0 else float("inf")
    if rise >= CRITICAL_RISE and ratio >= CRITICAL_STATISTIC:
        return CRITICAL
    if rise >= WARNING_RISE or ratio >= WARNING_STATISTIC:
        return WARNING
    return INFO


class Figures(Protocol):
    """What an alert stores that severity reads (an `Alert` row, an `AlertRow`)."""

    @property
    def statistic(self) -> float: ...
    @property
    def threshold(self) -> float: ...
    @property
    def observed_share(self) -> float: ...
    @property
    def baseline_share(self) -> float: ...


def of(alert: Figures) -> str:
    """The level of an alert, from its stored figures."""
    return level(
        statistic=alert.statistic,
        threshold=alert.threshold,
        observed_share=alert.observed_share,
        baseline_share=alert.baseline_share,
    )
