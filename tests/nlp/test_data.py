from pathlib import Path

import numpy as np
import pytest

from monitor.nlp.data import DataError, data_hash, read_csv, stratified_split
from monitor.nlp.labels import SENTIMENTS


def test_split_is_seeded_stratified_and_disjoint() -> None:
    labels = np.array([0] * 100 + [1] * 40 + [2] * 10 + [3] * 2)
    train, valid = stratified_split(labels, fraction=0.2, seed=7)
    again_train, again_valid = stratified_split(labels, fraction=0.2, seed=7)
    assert np.array_equal(valid, again_valid) and np.array_equal(train, again_train)
    assert not set(train) & set(valid)
    assert len(train) + len(valid) == len(labels)
    assert np.bincount(labels[valid]).tolist() == [20, 8, 2, 1]  # every class, rare ones too
    _, other_valid = stratified_split(labels, fraction=0.2, seed=8)
    assert not np.array_equal(valid, other_valid)


def test_read_csv_maps_labels(write_csv) -> None:
    path = write_csv("s.csv", [("up", "positive"), ("down", "negative")])
    data = read_csv(path, SENTIMENTS)
    assert data.texts == ["up", "down"]
    assert data.labels.tolist() == [2, 0]


def test_read_csv_names_every_unknown_label(write_csv) -> None:
    path = write_csv("s.csv", [("a", "positive"), ("b", "Bullish"), ("c", "meh")])
    with pytest.raises(DataError, match="'Bullish', 'meh'"):
        read_csv(path, SENTIMENTS)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no data file"):
        read_csv(tmp_path / "nope.csv", SENTIMENTS)


def test_data_hash_changes_with_content(write_csv) -> None:
    path = write_csv("s.csv", [("a", "positive")])
    first = data_hash([path])
    write_csv("s.csv", [("a", "negative")])
    assert data_hash([path]) != first and len(first) == 64
