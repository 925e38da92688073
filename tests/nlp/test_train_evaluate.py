import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from monitor.nlp.augment import AugmentConfig
from monitor.nlp.checkpoint import load_checkpoint
from monitor.nlp.commands import evaluate_command
from monitor.nlp.data import DataError
from monitor.nlp.evaluate import evaluate
from monitor.nlp.train import train
from tests.nlp.conftest import tiny_config


def test_training_writes_loadable_checkpoint_and_metrics(trained: tuple[Path, Path]) -> None:
    path, _ = trained
    checkpoint = load_checkpoint(path)
    assert checkpoint.version.startswith("lstm-news-")
    assert len(checkpoint.data_hash) == 64
    assert checkpoint.model.config.hidden_dim == 8 and checkpoint.model.entity is not None
    split = checkpoint.extra["split"]
    assert (split["seed"], split["fraction"]) == (13, 0.15)
    assert len(split["sentfin_valid"]) == 3 * 3 + 2  # 3 of 18 per headline label, 2 of 12 mixed
    assert set(checkpoint.temperatures) == {"topic", "sentiment", "entity"}
    metrics = json.loads(path.with_name("tiny.metrics.json").read_text())
    assert metrics["version"] == checkpoint.version
    reports = {"tfns/sentiment", "tfns/topic", "sentfin/headline", "sentfin/entity"}
    assert set(metrics["validation"]) == reports
    assert metrics["validation"]["sentfin/entity"]["n"] == 3 * 3 + 2 * 2  # one or two each
    assert 0.0 <= metrics["validation"]["tfns/sentiment"]["accuracy"] <= 1.0
    assert set(metrics["calibration"]) == reports
    for name in reports:
        assert path.with_name(f"confusion_{name.replace('/', '_')}.png").stat().st_size > 1000
    teacher = metrics["teacher"]
    assert set(teacher["validation"]) == reports
    # labelled training stories: TFNS 30 + 60, SEntFiN 66 headlines less 11 held out
    n_train = 30 + 60 + 55
    assert teacher["transfer_texts"] == 2 * n_train + 20  # one augmented copy each, 20 Reuters
    assert teacher["transfer_mentions"] > 2 * (45 + 2 * 10)  # SEntFiN's, copies', candidates


def test_teacher_is_cached_and_not_fitted_again(
    trained: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, data_dir = trained
    cache = data_dir.parent / "cache"
    assert len(list(cache.glob("teacher-*.pt"))) == 2  # one file per ensemble member
    assert len(list(cache.glob("targets-*.pt"))) == 1

    def refit(*args: object, **kwargs: object) -> None:
        raise AssertionError("the cached teacher should have been used")

    monkeypatch.setattr("monitor.nlp.distill.fit_teacher", refit)
    result = train(tiny_config(data_dir, tmp_path / "cached.pt", cache))
    assert result.version == load_checkpoint(path).version  # same targets, same student
    # other augmentation settings: new targets from the saved teacher, still no refit
    other = tiny_config(data_dir, tmp_path / "other.pt", cache)
    train(replace(other, augment=AugmentConfig(copies=2)))
    assert len(list(cache.glob("targets-*.pt"))) == 2


def test_training_is_deterministic(trained: tuple[Path, Path], tmp_path: Path) -> None:
    path, data_dir = trained
    # a fresh cache: the teacher is fine-tuned again, so this checks the whole chain
    again = train(tiny_config(data_dir, tmp_path / "again.pt", tmp_path / "cache"))
    first = load_checkpoint(path).model.state_dict()
    second = load_checkpoint(again.checkpoint).model.state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_evaluate_scores_the_validation_split(trained: tuple[Path, Path]) -> None:
    path, data_dir = trained
    result = evaluate(path, data_dir / "tfns_sentiment_train.csv", "sentiment", split="validation")
    full = evaluate(path, data_dir / "tfns_sentiment_train.csv", "sentiment")
    assert 0 < result["n"] < full["n"]
    assert sum(row["support"] for row in full["per_class"].values()) == full["n"]
    assert {"accuracy", "macro_f1", "per_class", "confusion_matrix"} <= set(full)


def test_evaluate_rejects_unknown_labels_naming_them(trained: tuple[Path, Path], write_csv) -> None:
    path, _ = trained
    bad = write_csv("bad.csv", [("rates rise", "positive"), ("oil falls", "Bearish")])
    with pytest.raises(DataError, match="'Bearish'"):
        evaluate(path, bad, "sentiment")
    cli = CliRunner().invoke(
        evaluate_command, ["--checkpoint", str(path), "--data", str(bad), "--task", "sentiment"]
    )
    assert cli.exit_code == 1 and "'Bearish'" in cli.output


def test_evaluate_command_json_prints_one_object(trained: tuple[Path, Path]) -> None:
    path, data_dir = trained
    args = ["--checkpoint", str(path), "--data", str(data_dir / "tfns_topic_train.csv")]
    cli = CliRunner().invoke(evaluate_command, [*args, "--task", "topic", "--json"])
    assert cli.exit_code == 0, cli.output
    result = json.loads(cli.output)
    assert result["n"] == 80 and len(result["per_class"]) == 20


def test_domain_tokens_train_into_the_checkpoint_and_pick_the_reading(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    """Domain tokens (the default): every text carries [unused2] (tweets) or [unused3] (news)
    after [CLS]; the checkpoint remembers them, the classifier reads news by default, evaluate
    can say tweet, and a checkpoint trained without them ignores the domain."""
    from monitor.nlp.classifier import Classifier
    from monitor.nlp.tokenizer import domain_token_ids

    with_tokens, data_dir = trained
    checkpoint = load_checkpoint(with_tokens)
    tokens = domain_token_ids()
    assert checkpoint.domain_tokens == tokens and tokens["tweet"] != tokens["news"]
    assert Classifier(checkpoint, device="cpu").prefix == tokens["news"]
    assert Classifier(checkpoint, device="cpu", domain="tweet").prefix == tokens["tweet"]
    with pytest.raises(ValueError, match="unknown domain 'blog'"):
        Classifier(checkpoint, device="cpu", domain="blog")
    tweets = data_dir / "tfns_sentiment_train.csv"
    as_news = evaluate(with_tokens, tweets, "sentiment", split="validation")
    as_tweets = evaluate(with_tokens, tweets, "sentiment", split="validation", domain="tweet")
    assert as_tweets["n"] == as_news["n"]
    recorded = checkpoint.metrics["validation"]["tfns/sentiment"]
    assert as_tweets["accuracy"] == pytest.approx(recorded["accuracy"], abs=1e-6)

    config = tiny_config(data_dir, tmp_path / "plain.pt", tmp_path / "cache")
    config = replace(config, domain_tokens=False, teacher=replace(config.teacher, members=1))
    plain = load_checkpoint(train(config).checkpoint)
    assert plain.domain_tokens == {}
    assert Classifier(plain, device="cpu", domain="tweet").prefix is None
