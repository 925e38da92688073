"""Temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural Networks") and the
expected calibration error, so that a confidence of 0.8 is right about 80 % of the time.

One temperature per head, fitted on that head's validation rows (every source it is scored on)
by minimising the negative log-likelihood; it divides the logits before the softmax, so the
argmax, and with it every accuracy figure, does not move.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

from monitor.nlp.batching import REPORTS, EncodedSet, Heads, head_labels
from monitor.nlp.model import IGNORE_INDEX

ECE_BINS = 15


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature T in [e^-3, e^3] that minimises the NLL of softmax(logits / T)."""
    logits = logits.astype(np.float64)

    def nll(log_t: float) -> float:
        log_p = log_softmax(logits / np.exp(log_t), axis=-1)
        return float(-log_p[np.arange(len(labels)), labels].mean())

    result = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(result.x))


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS
) -> float:
    """Σ over equal-width confidence bins of (share of rows) × |accuracy − mean confidence|."""
    confidence = probabilities.max(-1)
    correct = probabilities.argmax(-1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    error = 0.0
    for b in range(bins):
        in_bin = which == b
        if in_bin.any():
            error += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(error)


def calibrate(
    outputs: dict[str, Heads], valid_sets: dict[str, EncodedSet]
) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """Per-head temperatures fitted on the validation logits, and per validation report the
    ECE before and after. "after_cross_fitted" fits T on one half of the head's validation rows
    and measures the other half (and the reverse): an estimate not flattered by fitting and
    measuring on the same rows."""
    pooled: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {}
    for name, (set_name, head) in REPORTS.items():
        if set_name in valid_sets and head in outputs[set_name]:
            labels = head_labels(valid_sets[set_name], head)
            labelled = labels != IGNORE_INDEX
            pooled.setdefault(head, []).append(
                (name, outputs[set_name][head][labelled], labels[labelled])
            )
    temperatures, ece = {}, {}
    for head, parts in pooled.items():
        logits = np.concatenate([p[1] for p in parts])
        labels = np.concatenate([p[2] for p in parts])
        temperatures[head] = round(fit_temperature(logits, labels), 4)
        crossed = _cross_fitted(logits, labels)
        start = 0
        for name, part_logits, part_labels in parts:
            rows = slice(start, start + len(part_labels))
            start += len(part_labels)
            ece[name] = {
                "before": round(
                    expected_calibration_error(softmax(part_logits, -1), part_labels), 4
                ),
                "after": round(
                    expected_calibration_error(
                        softmax(part_logits / temperatures[head], -1), part_labels
                    ),
                    4,
                ),
                "after_cross_fitted": round(
                    expected_calibration_error(crossed[rows], part_labels), 4
                ),
                "temperature": temperatures[head],
            }
    return temperatures, ece


def _cross_fitted(logits: np.ndarray, labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """Calibrated probabilities where each row's temperature was fitted without that row."""
    rng = np.random.default_rng(seed)
    half = rng.permutation(len(labels)) % 2 == 0
    probabilities = np.empty_like(logits, dtype=np.float64)
    for fit_on in (half, ~half):
        t = fit_temperature(logits[fit_on], labels[fit_on])
        probabilities[~fit_on] = softmax(logits[~fit_on] / t, -1)
    return probabilities
