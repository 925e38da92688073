"""The spike test: is a window's negative share significantly above its baseline? Pure, no I/O.

One-sided two-proportion z-test (pooled variance) between the window and the trailing baseline.
The baseline is smoothed with a Beta prior of `prior_strength` pseudo-stories centred on
`prior_share` (the market's baseline share for a topic), so a topic with a thin history is
compared with something sensible instead of with 0/3.

The watchlist's second signal, `volume_test`, asks whether the count of negative stories about
one entity in the window is surprising for that entity's own baseline rate (negative-binomial
upper tail); its p-value is reported as a z so the same lifecycle thresholds apply.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Counts:
    """Stories and negative stories of one scope in the window and in the baseline."""

    window_count: int
    window_negative: int
    baseline_count: int
    baseline_negative: int


@dataclass(frozen=True)
class TestResult:
    """The numbers an alert keeps to justify itself."""

    observed_share: float
    baseline_share: float
    statistic: float
    p_value: float
    significant: bool
    enough_data: bool


def normal_sf(z: float) -> float:
    """P(Z >= z) for a standard normal (one-sided p-value)."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def smoothed_baseline(
    counts: Counts, prior_share: float, prior_strength: float
) -> tuple[float, float]:
    """Baseline share and effective size after mixing in the prior pseudo-stories."""
    n = counts.baseline_count + prior_strength
    if n <= 0:
        return prior_share, 0.0
    return (counts.baseline_negative + prior_share * prior_strength) / n, n


def z_statistic(
    counts: Counts, *, prior_share: float, prior_strength: float
) -> tuple[float, float]:
    """(z, baseline share): one-sided pooled two-proportion z of window over baseline."""
    baseline_share, n_b = smoothed_baseline(counts, prior_share, prior_strength)
    n_w = counts.window_count
    if n_w == 0:
        return 0.0, baseline_share
    p_w = counts.window_negative / n_w
    if n_b <= 0:
        return 0.0, baseline_share
    pooled = (counts.window_negative + baseline_share * n_b) / (n_w + n_b)
    variance = pooled * (1.0 - pooled) * (1.0 / n_w + 1.0 / n_b)
    if variance <= 0.0:
        return 0.0, baseline_share
    return (p_w - baseline_share) / math.sqrt(variance), baseline_share


def spike_test(
    counts: Counts,
    *,
    prior_share: float,
    prior_strength: float,
    fire_z: float,
    min_window_count: int,
    min_share_increase: float,
) -> TestResult:
    """Test one scope; `significant` needs enough stories, z >= fire_z and a real rise."""
    z, baseline_share = z_statistic(counts, prior_share=prior_share, prior_strength=prior_strength)
    observed = counts.window_negative / counts.window_count if counts.window_count else 0.0
    enough = counts.window_count >= min_window_count
    significant = enough and z >= fire_z and observed - baseline_share >= min_share_increase
    return TestResult(
        observed_share=observed,
        baseline_share=baseline_share,
        statistic=z,
        p_value=normal_sf(z),
        significant=significant,
        enough_data=enough,
    )


# --- the watchlist's volume signal ---------------------------------------------------------

Z_CAP = 40.0  # p-values below ~1e-350 underflow; the statistic is capped there


@dataclass(frozen=True)
class VolumeResult:
    """The negative-volume test of one entity: window negatives vs its own baseline rate."""

    observed: int  # negative stories in the window
    expected: float  # negatives the baseline rate predicts for the window
    rate_ratio: float  # observed / expected
    statistic: float  # the p-value as a one-sided z (comparable with fire_z, resolve_z)
    p_value: float
    significant: bool
    enough_data: bool


def volume_test(
    *,
    window_negative: int,
    baseline_negative: int,
    window_s: float,
    baseline_s: float,
    prior_per_hour: float,
    prior_hours: float,
    fire_z: float,
    min_negative: int,
    min_rate_ratio: float,
    dispersion: float = 0.0,
) -> VolumeResult:
    """Is the window's count of negative stories about an entity surprisingly high for its own
    rate? Gamma-Poisson: the rate gets a Gamma prior (`prior_hours` of exposure at
    `prior_per_hour`) updated by the baseline's negatives over its length; the window's count is
    then negative-binomial (the posterior predictive), so a thin baseline widens the tail
    instead of making 3 stories look like a storm. p = P(X >= observed) under it.

    `dispersion` is the coefficient of variation of the rate from hour to hour (news clusters:
    a steady name still has busier hours); it widens the predictive to the negative binomial
    whose shape r satisfies 1/r = 1/shape + dispersion² (the CVs of the two Gamma factors, to
    first order), with the same mean. 0 leaves the posterior predictive as it is."""
    from scipy.stats import nbinom, norm  # scipy is slow to import; only the watchlist needs it

    shape = baseline_negative + prior_per_hour * prior_hours
    exposure_h = baseline_s / 3600.0 + prior_hours
    window_h = window_s / 3600.0
    expected = shape / exposure_h * window_h
    size = 1.0 / (1.0 / shape + dispersion**2)
    p_success = size / (size + expected)  # = exposure/(exposure + window) when dispersion = 0
    if window_negative <= 0:
        p_value = 1.0
    else:
        p_value = float(nbinom.sf(window_negative - 1, size, p_success))
    statistic = max(-Z_CAP, min(float(norm.isf(p_value)), Z_CAP)) if p_value > 0 else Z_CAP
    ratio = window_negative / expected if expected > 0 else math.inf
    enough = window_negative >= min_negative
    return VolumeResult(
        observed=window_negative,
        expected=expected,
        rate_ratio=ratio,
        statistic=statistic,
        p_value=p_value,
        significant=enough and statistic >= fire_z and ratio >= min_rate_ratio,
        enough_data=enough,
    )
