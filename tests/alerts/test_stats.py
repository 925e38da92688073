"""The spike test's numbers, checked against hand computations and scipy."""

from __future__ import annotations

import math

import pytest
from scipy.stats import norm

from monitor.alerts.stats import Counts, normal_sf, spike_test, z_statistic

TEST = dict(
    prior_share=0.15, prior_strength=0.0, fire_z=3.0, min_window_count=10, min_share_increase=0.05
)


def test_z_matches_the_textbook_pooled_two_proportion_test() -> None:
    counts = Counts(window_count=60, window_negative=24, baseline_count=1440, baseline_negative=216)
    z, baseline = z_statistic(counts, prior_share=0.15, prior_strength=0.0)
    pooled = (24 + 216) / (60 + 1440)
    expected = (24 / 60 - 216 / 1440) / math.sqrt(pooled * (1 - pooled) * (1 / 60 + 1 / 1440))
    assert baseline == pytest.approx(0.15)
    assert z == pytest.approx(expected)
    assert z == pytest.approx(5.18, abs=0.01)  # 0.25 / sqrt(0.16·0.84·(1/60 + 1/1440))


def test_p_value_is_the_one_sided_normal_tail() -> None:
    for z in (-1.0, 0.0, 1.64, 3.0, 6.0):
        assert normal_sf(z) == pytest.approx(norm.sf(z), rel=1e-9)


def test_a_clear_spike_is_significant_with_its_numbers() -> None:
    result = spike_test(Counts(60, 24, 1440, 216), **TEST)
    assert result.significant and result.enough_data
    assert result.observed_share == pytest.approx(0.4)
    assert result.p_value < 1e-6


def test_a_normal_window_is_not_significant() -> None:
    result = spike_test(Counts(60, 10, 1440, 216), **TEST)
    assert not result.significant
    assert abs(result.statistic) < 1


def test_too_few_window_stories_never_fire() -> None:
    result = spike_test(Counts(9, 9, 1440, 216), **TEST)
    assert result.statistic > 3
    assert not result.enough_data and not result.significant


def test_a_tiny_rise_on_a_huge_scope_needs_the_minimum_increase() -> None:
    # 17% vs 15% over 20,000 stories is "significant" but not worth paging anyone.
    result = spike_test(Counts(20_000, 3400, 480_000, 72_000), **TEST)
    assert result.statistic > 3
    assert not result.significant


def test_the_prior_tames_a_sparse_baseline() -> None:
    # Three baseline stories, none negative: without a prior any negative window looks huge.
    sparse = Counts(window_count=12, window_negative=4, baseline_count=3, baseline_negative=0)
    raw, _ = z_statistic(sparse, prior_share=0.15, prior_strength=0.0)
    smoothed, baseline = z_statistic(sparse, prior_share=0.3, prior_strength=30.0)
    assert baseline == pytest.approx(9 / 33)
    assert smoothed < raw
    assert smoothed < 1.0


def test_empty_scopes_are_neutral() -> None:
    z, baseline = z_statistic(Counts(0, 0, 0, 0), prior_share=0.2, prior_strength=0.0)
    assert (z, baseline) == (0.0, 0.2)
