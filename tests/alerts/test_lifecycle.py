"""Persistence before firing, hysteresis before resolving, cooldown after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.alerts.lifecycle import Action, LifecycleParams, ScopeState, step

PARAMS = LifecycleParams(
    persistence=3, resolve_after=2, resolve_z=1.0, cooldown=timedelta(minutes=30)
)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def run(state: ScopeState, zs: list[float], start: datetime = T0, fire_z: float = 3.0):
    actions = []
    for i, z in enumerate(zs):
        state, action = step(
            state,
            significant=z >= fire_z,
            statistic=z,
            enough_data=True,
            now=start + timedelta(seconds=30 * i),
            params=PARAMS,
        )
        actions.append(action)
    return state, actions


def test_fires_only_after_the_persistence_count() -> None:
    state, actions = run(ScopeState(), [4, 4, 4])
    assert actions == [Action.NONE, Action.NONE, Action.FIRE]
    assert state.firing


def test_a_gap_resets_persistence() -> None:
    _, actions = run(ScopeState(), [4, 4, 2, 4, 4, 4])
    assert actions.count(Action.FIRE) == 1
    assert actions[-1] is Action.FIRE


def test_never_fires_twice_while_open() -> None:
    _, actions = run(ScopeState(), [4] * 20)
    assert actions.count(Action.FIRE) == 1


def test_hysteresis_between_the_thresholds_keeps_it_open() -> None:
    # 2.0 is below fire_z but above resolve_z: the alert stays open.
    state, actions = run(ScopeState(firing=True), [2.0] * 10)
    assert Action.RESOLVE not in actions and state.firing


def test_resolves_after_consecutive_clear_evaluations() -> None:
    state, actions = run(ScopeState(firing=True), [0.5, 2.0, 0.5, 0.5])
    assert actions == [Action.NONE, Action.NONE, Action.NONE, Action.RESOLVE]
    assert not state.firing
    assert state.cooldown_until == T0 + timedelta(seconds=90) + PARAMS.cooldown


def test_thin_window_counts_as_clear() -> None:
    state = ScopeState(firing=True)
    for _ in range(2):
        state, action = step(
            state, significant=False, statistic=5.0, enough_data=False, now=T0, params=PARAMS
        )
    assert action is Action.RESOLVE


def test_cooldown_blocks_refiring_then_lets_it_through() -> None:
    state = ScopeState(cooldown_until=T0 + timedelta(minutes=30))
    state, actions = run(state, [4] * 10)
    assert Action.FIRE not in actions
    state, actions = run(state, [4], start=T0 + timedelta(minutes=31))
    assert actions == [Action.FIRE]
