"""Severity: one rule over how sure the test is and how big the rise is (pure)."""

from __future__ import annotations

import pytest

from monitor.alerts import severity


@pytest.mark.parametrize(
    ("statistic", "observed", "baseline", "expected"),
    [
        (8.0, 0.60, 0.20, severity.CRITICAL),  # +40 points, 2.3x the threshold
        (8.0, 0.30, 0.20, severity.WARNING),  # far beyond doubt, but a 10-point rise
        (6.9, 0.60, 0.20, severity.WARNING),  # a big rise, not yet 2x the threshold
        (5.3, 0.26, 0.20, severity.WARNING),  # 1.5x the threshold
        (3.6, 0.29, 0.20, severity.INFO),  # just fired: 9 points, barely significant
    ],
)
def test_level(statistic: float, observed: float, baseline: float, expected: str) -> None:
    got = severity.level(
        statistic=statistic, threshold=3.5, observed_share=observed, baseline_share=baseline
    )
    assert got == expected
