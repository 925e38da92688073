from pathlib import Path

import numpy as np

from monitor.nlp.model import IGNORE_INDEX
from monitor.nlp.sources import SENTIMENT, load_sources, locate_loosely, text_key
from tests.nlp.conftest import RIVALRY_ROWS, SENTFIN_HEADLINE_ROWS, write_data_dir, write_rows


def test_sentfin_is_split_by_headline_across_both_files(tmp_path: Path) -> None:
    sources = load_sources(write_data_dir(tmp_path), fraction=0.15, seed=13)
    train, valid = sources.train["sentfin"], sources.valid["sentfin"]
    assert not set(train.texts) & set(valid.texts)
    assert len(train) + len(valid) == len(SENTFIN_HEADLINE_ROWS) + len(RIVALRY_ROWS)
    # every class of headline held out, the mixed (entity-only) headlines too
    held_labels = valid.labels[:, SENTIMENT]
    assert sorted(np.unique(held_labels).tolist()) == [IGNORE_INDEX, 0, 1, 2]
    assert sources.sentfin_valid == sorted(text_key(t) for t in valid.texts)
    # mentions follow their headline and point at the entity
    for part in (train, valid):
        for story, (start, end) in zip(part.mentions.story, part.mentions.spans, strict=True):
            assert part.texts[story][start:end] in {
                "Acme",
                "Globex",
                "Initech",
                "Umbrella",
                "Hooli",
                "Vandelay",
            }
    again = load_sources(tmp_path, fraction=0.15, seed=13)
    assert again.valid["sentfin"].texts == valid.texts
    other = load_sources(tmp_path, fraction=0.15, seed=14)
    assert other.valid["sentfin"].texts != valid.texts


def test_tfns_split_is_the_per_file_stratified_one(tmp_path: Path) -> None:
    from monitor.nlp.data import read_csv, stratified_split
    from monitor.nlp.labels import SENTIMENTS
    from monitor.nlp.text import normalize

    sources = load_sources(write_data_dir(tmp_path), fraction=0.15, seed=13)
    full = read_csv(tmp_path / "tfns_sentiment_train.csv", SENTIMENTS)
    _, valid_rows = stratified_split(full.labels, fraction=0.15, seed=13)
    expected = [normalize(full.texts[i]) for i in valid_rows]
    assert sources.valid["tfns/sentiment"].texts == expected


def test_unlocatable_entities_are_counted_and_left_out(tmp_path: Path) -> None:
    write_data_dir(tmp_path)
    rows = [
        ("HULs shares rise", "HUL", "positive"),
        ("Frank Russell deal done", "Frank Rusnegative", "neutral"),
    ]
    write_rows(tmp_path / "sentfin_entities.csv", rows, ("text", "entity", "label"))
    sources = load_sources(tmp_path, fraction=0.5, seed=1)
    assert sources.unlocated == 1
    mentions = sum(len(s.mentions) for s in (sources.train["sentfin"], sources.valid["sentfin"]))
    assert mentions == 1


def test_locate_loosely_accepts_a_possessive_without_apostrophe() -> None:
    assert locate_loosely("Two executives quit HULs trade division", "HUL") == (20, 23)
    assert locate_loosely("Nifty50 to find support", "nifty") == (0, 5)
    assert locate_loosely("TheAcme deal", "Acme") is None
    assert locate_loosely("Acme deal", "Acme") == (0, 4)
