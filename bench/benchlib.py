"""What the bench scripts share: seeding PostgreSQL from SQL and replaying the alert lifecycle.

Run as scripts (`.venv/bin/python bench/bench_x.py`), they import this module from their own
folder.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from monitor.alerts.lifecycle import Action, LifecycleParams, ScopeState, step


def run_seed(engine: sa.Engine, statements: Sequence[str], params: dict[str, Any]) -> None:
    """Each INSERT ... SELECT in one transaction, printing each table's time."""
    with engine.begin() as connection:
        for statement in statements:
            started = time.perf_counter()
            connection.execute(sa.text(statement), params)
            table = statement.split("INSERT INTO")[1].split()[0]
            print(f"  {table:<16} {time.perf_counter() - started:6.1f} s")


def lifecycle_fires(
    significant: Sequence[bool],
    z: Sequence[float],
    enough: Sequence[bool],
    params: LifecycleParams,
    interval_s: float,
) -> list[int]:
    """Indices (evaluations, `interval_s` apart) at which the state machine fires."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    state = ScopeState()
    fires: list[int] = []
    for i in range(len(significant)):
        # Fast path, exactly what step() returns for an idle scope without a significant test.
        if not state.firing and state.above == 0 and not significant[i]:
            continue
        now = t0 + timedelta(seconds=i * interval_s)
        state, action = step(
            state,
            significant=significant[i],
            statistic=z[i],
            enough_data=enough[i],
            now=now,
            params=params,
        )
        if action is Action.FIRE:
            fires.append(i)
    return fires
