import numpy as np
import pytest

from monitor.nlp.metrics import confusion_matrix, macro_f1, report


def test_metrics_against_hand_computed_values() -> None:
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    result = report(y_true, y_pred, ["a", "b", "c"])
    assert result["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert result["accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    # a: p=1, r=2/3, f1=0.8; b: p=1/2, r=1/2, f1=0.5; c: p=1/2, r=1, f1=2/3
    assert result["per_class"]["a"] == {"precision": 1.0, "recall": 0.6667, "f1": 0.8, "support": 3}
    assert result["per_class"]["b"]["f1"] == 0.5
    assert result["per_class"]["c"]["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert result["macro_f1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3, abs=1e-4)
    assert result["n"] == 6


def test_class_never_predicted_has_zero_f1_not_nan() -> None:
    matrix = confusion_matrix(np.array([0, 1]), np.array([0, 0]), 3)
    assert macro_f1(matrix) == pytest.approx((2 / 3 + 0.0) / 2)  # class 2 absent: not averaged
