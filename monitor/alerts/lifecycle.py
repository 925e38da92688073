"""Persistence, hysteresis and cooldown: the per-scope state machine. Pure, no I/O.

A scope fires after `persistence` consecutive significant evaluations (and not during the
cooldown that follows its last resolve); a firing scope resolves after `resolve_after`
consecutive evaluations whose statistic is below the lower `resolve_z` (or whose window is too
thin to show a spike). The state is small and stored in the database between evaluations, so a
scheduler restart neither forgets a half-confirmed spike nor re-fires an open alert.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta


class Action(enum.Enum):
    NONE = "none"
    FIRE = "fire"
    RESOLVE = "resolve"


@dataclass(frozen=True)
class ScopeState:
    """What the detector remembers about one scope between evaluations."""

    firing: bool = False
    above: int = 0
    below: int = 0
    cooldown_until: datetime | None = None


@dataclass(frozen=True)
class LifecycleParams:
    persistence: int
    resolve_after: int
    resolve_z: float
    cooldown: timedelta


def step(
    state: ScopeState,
    *,
    significant: bool,
    statistic: float,
    enough_data: bool,
    now: datetime,
    params: LifecycleParams,
) -> tuple[ScopeState, Action]:
    """Advance one evaluation; returns the new state and what to do with the alert."""
    if state.firing:
        clear = not enough_data or statistic < params.resolve_z
        below = state.below + 1 if clear else 0
        if below >= params.resolve_after:
            return ScopeState(cooldown_until=now + params.cooldown), Action.RESOLVE
        return replace(state, below=below, above=0), Action.NONE
    above = state.above + 1 if significant else 0
    cooling = state.cooldown_until is not None and now < state.cooldown_until
    if above >= params.persistence and not cooling:
        return ScopeState(firing=True, cooldown_until=state.cooldown_until), Action.FIRE
    return replace(state, above=above, below=0), Action.NONE
