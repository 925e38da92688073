"""Retry delays: exponential backoff with full jitter. Pure (the random source is injectable).

Full jitter (delay uniform in [0, min(cap, base·2^(n-1))]) spreads the retries of many
deliveries to one recovering receiver instead of hitting it in synchronised waves.
"""

from __future__ import annotations

import random
from collections.abc import Callable


def backoff_ceiling(attempt: int, *, base_s: float, max_delay_s: float) -> float:
    """Upper bound of the delay after the `attempt`-th failure (1-based)."""
    exponent = min(max(attempt - 1, 0), 60)  # 2**60 s is already beyond any cap
    return min(max_delay_s, base_s * 2.0**exponent)


def full_jitter_delay(
    attempt: int,
    *,
    base_s: float,
    max_delay_s: float,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """Seconds to wait before the next attempt after `attempt` failures."""
    return uniform(0.0, backoff_ceiling(attempt, base_s=base_s, max_delay_s=max_delay_s))
