"""Retry delays: exponential ceilings, capped, with full jitter."""

from __future__ import annotations

import random

import pytest

from monitor.alerts.backoff import backoff_ceiling, full_jitter_delay


def test_ceiling_doubles_then_caps() -> None:
    ceilings = [backoff_ceiling(n, base_s=2, max_delay_s=60) for n in range(1, 8)]
    assert ceilings == [2, 4, 8, 16, 32, 60, 60]
    assert backoff_ceiling(10_000, base_s=2, max_delay_s=60) == 60


def test_full_jitter_draws_from_zero_to_the_ceiling() -> None:
    calls = []

    def uniform(low: float, high: float) -> float:
        calls.append((low, high))
        return high

    assert full_jitter_delay(3, base_s=1, max_delay_s=100, uniform=uniform) == 4
    assert calls == [(0.0, 4)]


def test_jitter_spreads_delays() -> None:
    rng = random.Random(7)
    delays = [
        full_jitter_delay(5, base_s=1, max_delay_s=600, uniform=rng.uniform) for _ in range(2000)
    ]
    assert min(delays) >= 0 and max(delays) <= 16
    assert sum(delays) / len(delays) == pytest.approx(8, rel=0.1)
