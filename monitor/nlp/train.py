"""Multi-task training of NewsLSTM on the two labelled CSVs: seeded, early-stopped, reproducible.

`train(TrainConfig())` is what `make train` runs; its defaults produce the shipped checkpoint.
Both tasks share every batch: a sentiment text carries IGNORE_INDEX as its topic label and the
other way round, so each head only learns from the texts labelled for it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from monitor.nlp import data as nlp_data
from monitor.nlp.augment import AugmentConfig, augment_ids
from monitor.nlp.batching import (
    EncodedSet,
    encode_set,
    length_bucketed_batches,
    mean_macro_f1,
    predict,
    task_reports,
)
from monitor.nlp.checkpoint import Checkpoint, save_checkpoint, weights_digest
from monitor.nlp.classifier import pick_device
from monitor.nlp.metrics import plot_confusion
from monitor.nlp.model import (
    IGNORE_INDEX,
    LSTMConfig,
    NewsLSTM,
    NewsLSTMOutput,
    distillation_loss,
    multitask_loss,
)
from monitor.nlp.teacher import (
    TeacherConfig,
    TeacherOutput,
    ensemble_logits,
    fit_teacher,
    load_cached,
    load_weights,
    save_cached,
    save_weights,
    validate_teacher,
)
from monitor.nlp.text import normalize
from monitor.nlp.tokenizer import load_tokenizer, minilm_path
from monitor.settings import REPO_ROOT

MAX_CHECKPOINT_BYTES = 50 * 1024 * 1024


@dataclass
class TrainConfig:
    data_dir: Path = REPO_ROOT.parent / "shared" / "data"
    output: Path = REPO_ROOT / "models" / "lstm-tfns.pt"
    seed: int = 13
    epochs: int = 8
    patience: int = 2  # epochs without a better validation macro-F1 before stopping
    batch_size: int = 64
    lr: float = 3e-3
    embed_lr: float = 1e-3  # the pretrained embedding moves slower than the fresh layers
    freeze_embedding_epochs: int = 1  # train the LSTM on fixed MiniLM vectors first
    weight_decay: float = 0.01
    label_smoothing: float = 0.05
    class_weight_power: float = 0.5  # loss weight ∝ (1 / class frequency) ** power
    val_fraction: float = 0.15
    max_length: int = 64
    pretrained_embeddings: bool = True
    grad_clip: float = 1.0
    max_steps: int | None = None  # stop early after this many optimiser steps (tests, smoke runs)
    device: str = "auto"
    threads: int = 2  # fixed, not 'all cores': float sums (and so the weights) depend on it
    progress: bool = True
    model: LSTMConfig = field(default_factory=LSTMConfig)  # hidden 256, mean+max pooling
    distill: bool = True  # learn from a fine-tuned MiniLM teacher's soft labels too
    teacher: TeacherConfig = field(default_factory=lambda: TeacherConfig(members=2))
    teacher_cache: Path = REPO_ROOT / ".cache" / "teacher"
    distill_alpha: float = 0.5  # weight of the hard-label loss; the rest goes to the teacher's
    distill_temperature: float = 2.0
    augment: AugmentConfig = field(default_factory=lambda: AugmentConfig(copies=2))


@dataclass
class TrainResult:
    checkpoint: Path
    version: str
    metrics: dict[str, Any]
    history: list[dict[str, float]]
    seconds: float


def train(config: TrainConfig) -> TrainResult:
    """Train, early-stop on mean validation macro-F1, write checkpoint + metrics + plots."""
    started = time.monotonic()
    _seed_everything(config.seed, config.threads)
    device = pick_device(config.device)
    splits, names, data_hash = _load_splits(config)
    encoded = {key: encode_set(splits[key], max_length=config.max_length) for key in splits}
    train_set = EncodedSet.concat([encoded["sentiment/train"], encoded["topic/train"]])
    weights = {
        task: _class_weights(splits[f"{task}/train"].labels, len(names[task]), config)
        for task in names
    }
    teacher: TeacherOutput | None = None
    if config.distill:
        transfer = transfer_set(train_set, config)
        teacher = teacher_targets(
            config, train_set, transfer, encoded, names, weights, data_hash, device
        )
        train_set = transfer
    torch.manual_seed(config.seed)  # the same student whether the teacher was cached or not
    model = NewsLSTM(config.model)
    if config.pretrained_embeddings:
        _load_minilm_embeddings(model)
    model.to(device)
    loop = _Loop(config, model, train_set, device)
    if teacher is not None:
        loop.targets = (
            torch.from_numpy(teacher.topic_logits),
            torch.from_numpy(teacher.sentiment_logits),
        )
    loop.weights = {task: w.to(device) for task, w in weights.items()}
    history: list[dict[str, float]] = []
    best_state, best_score, stale = None, -1.0, 0
    for epoch in range(config.epochs):
        train_loss = loop.run_epoch(epoch)
        scores = _validate(model, encoded, names, device)
        score = mean_macro_f1(scores)
        history.append(_history_row(epoch, train_loss, score, scores))
        loop.show(
            epoch,
            train_loss,
            s_f1=scores["sentiment"]["macro_f1"],
            t_f1=scores["topic"]["macro_f1"],
        )
        if score > best_score:
            best_score, stale = score, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale += 1
        if stale >= config.patience or loop.out_of_steps:
            break
    loop.bar.close()
    assert best_state is not None  # at least one epoch ran
    model.load_state_dict(best_state)
    seconds = time.monotonic() - started
    return _write_outputs(
        model, config, encoded, names, data_hash, history, seconds, device, teacher
    )


class _Loop:
    """Optimiser, cosine schedule, progress bar and step count of one training run."""

    def __init__(
        self, config: TrainConfig, model: NewsLSTM, data: EncodedSet, device: torch.device
    ) -> None:
        self.config, self.model, self.data, self.device = config, model, data, device
        self.weights: dict[str, torch.Tensor] = {}
        self.targets: tuple[torch.Tensor, torch.Tensor] | None = None  # teacher topic, sentiment
        self.optimizer = _optimizer(model, config)
        total = config.epochs * math.ceil(len(data) / config.batch_size)
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total))
        )
        self.bar = tqdm(total=total, disable=not config.progress, unit="step")
        self.step = 0

    @property
    def out_of_steps(self) -> bool:
        return self.config.max_steps is not None and self.step >= self.config.max_steps

    def run_epoch(self, epoch: int) -> float:
        """One pass over the shuffled, length-bucketed batches; returns the mean training loss."""
        config, model = self.config, self.model
        model.embedding.weight.requires_grad_(epoch >= config.freeze_embedding_epochs)
        model.train()
        total, n = 0.0, 0
        for rows in length_bucketed_batches(
            self.data.lengths, config.batch_size, seed=config.seed + epoch
        ):
            ids, lengths, topic_y, sentiment_y = self.data.batch(rows, self.device)
            out = model(ids, lengths)
            loss = multitask_loss(
                out.topic_logits,
                out.sentiment_logits,
                topic_y,
                sentiment_y,
                topic_weight=self.weights["topic"],
                sentiment_weight=self.weights["sentiment"],
                label_smoothing=config.label_smoothing,
            )
            if self.targets is not None:
                loss = config.distill_alpha * loss + (1 - config.distill_alpha) * self._distill(
                    out, torch.as_tensor(rows)
                )
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            self.optimizer.step()
            self.schedule.step()
            total, n, self.step = total + loss.item(), n + 1, self.step + 1
            self.bar.update(1)
            self.show(epoch, total / n, refresh=False)
            if self.out_of_steps:
                break
        return total / max(n, 1)

    def _distill(self, out: NewsLSTMOutput, rows: torch.Tensor) -> torch.Tensor:
        """Both heads learn the teacher's distributions on every text, labelled for them or not."""
        assert self.targets is not None
        topic, sentiment = (t[rows].to(self.device) for t in self.targets)
        temperature = self.config.distill_temperature
        return distillation_loss(
            out.topic_logits, topic, temperature=temperature
        ) + distillation_loss(out.sentiment_logits, sentiment, temperature=temperature)

    def show(self, epoch: int, loss: float, refresh: bool = True, **scores: float) -> None:
        self.bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.3f}", **scores, refresh=refresh)


def _history_row(
    epoch: int, train_loss: float, score: float, scores: dict[str, dict[str, Any]]
) -> dict[str, float]:
    row = {"epoch": epoch + 1, "train_loss": round(train_loss, 4), "val_score": round(score, 4)}
    for task, result in scores.items():
        row[f"{task}_accuracy"] = result["accuracy"]
        row[f"{task}_macro_f1"] = result["macro_f1"]
    return row


def _seed_everything(seed: int, threads: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    if threads > 0:
        torch.set_num_threads(threads)


def _load_splits(
    config: TrainConfig,
) -> tuple[dict[str, nlp_data.Labelled], dict[str, tuple[str, ...]], str]:
    splits: dict[str, nlp_data.Labelled] = {}
    names: dict[str, tuple[str, ...]] = {}
    paths = []
    for task, filename in nlp_data.FILES.items():
        path = Path(config.data_dir) / filename
        names[task] = nlp_data.task_labels(task)
        full = nlp_data.read_csv(path, names[task])
        full = nlp_data.Labelled([normalize(t) for t in full.texts], full.labels)
        train_rows, valid_rows = nlp_data.stratified_split(
            full.labels, fraction=config.val_fraction, seed=config.seed
        )
        splits[f"{task}/train"] = _tag(full.subset(train_rows), task)
        splits[f"{task}/valid"] = _tag(full.subset(valid_rows), task)
        paths.append(path)
    return splits, names, nlp_data.data_hash(paths)


def _tag(labelled: nlp_data.Labelled, task: str) -> nlp_data.Labelled:
    """Give a task's texts the (topic, sentiment) label pair the loss expects."""
    ignore = np.full_like(labelled.labels, IGNORE_INDEX)
    pair = (labelled.labels, ignore) if task == "topic" else (ignore, labelled.labels)
    return nlp_data.Labelled(labelled.texts, np.stack(pair, axis=1))


def _load_minilm_embeddings(model: NewsLSTM) -> None:
    from safetensors import safe_open

    with safe_open(f"{minilm_path()}/model.safetensors", "pt") as handle:
        matrix = handle.get_tensor("embeddings.word_embeddings.weight")
    if tuple(matrix.shape) != tuple(model.embedding.weight.shape):
        raise ValueError(
            f"MiniLM embeddings are {tuple(matrix.shape)}, model wants "
            f"{tuple(model.embedding.weight.shape)}"
        )
    with torch.no_grad():
        model.embedding.weight.copy_(matrix.float())


def _class_weights(labels: np.ndarray, n: int, config: TrainConfig) -> torch.Tensor:
    """Inverse-frequency weights (tempered by `class_weight_power`), mean 1 over the classes."""
    task_labels = labels[labels != IGNORE_INDEX].ravel()
    counts = np.bincount(task_labels, minlength=n).astype(np.float64).clip(min=1)
    weights = (counts.sum() / counts) ** config.class_weight_power
    return torch.tensor(weights / weights.mean(), dtype=torch.float32)


def _optimizer(model: NewsLSTM, config: TrainConfig) -> torch.optim.Optimizer:
    embedding = [model.embedding.weight]
    rest = [p for name, p in model.named_parameters() if name != "embedding.weight"]
    return torch.optim.AdamW(
        [
            {"params": embedding, "lr": config.embed_lr, "weight_decay": 0.0},
            {"params": rest, "lr": config.lr, "weight_decay": config.weight_decay},
        ],
        fused=True,  # one kernel over the 30522×384 embedding: ~8× faster steps on CPU
    )


def transfer_set(train_set: EncodedSet, config: TrainConfig) -> EncodedSet:
    """The texts the student learns the teacher from: the training texts, then
    `config.augment.copies` augmented copies of each, which carry no hard label."""
    if config.augment.copies == 0:
        return train_set
    ids, lengths = augment_ids(
        train_set.input_ids,
        train_set.lengths,
        config.augment,
        mask_id=load_tokenizer().mask_token_id,
        seed=config.seed,
    )
    unlabelled = np.full((len(lengths), 2), IGNORE_INDEX, dtype=train_set.labels.dtype)
    return EncodedSet.concat([train_set, EncodedSet(ids, lengths, unlabelled)])


def teacher_targets(
    config: TrainConfig,
    labelled: EncodedSet,
    transfer: EncodedSet,
    encoded: dict[str, EncodedSet],
    names: dict[str, tuple[str, ...]],
    class_weights: dict[str, torch.Tensor],
    data_hash: str,
    device: torch.device,
) -> TeacherOutput:
    """The teachers' averaged logits on the transfer set, from the cache when present. Each
    member is fine-tuned on the `labelled` training rows only (never on validation rows), or
    reloaded when an earlier run with the same data and teacher settings saved it."""
    keys = [
        config.teacher.key(data_hash, TeacherConfig.member_seed(config.seed, m), config.max_length)
        for m in range(config.teacher.members)
    ]
    cache = Path(config.teacher_cache)
    targets_key = hashlib.sha256(f"{keys}:{asdict(config.augment)}".encode()).hexdigest()[:16]
    cached = load_cached(cache / f"targets-{targets_key}.pt")
    if cached is not None:
        return cached
    started = time.monotonic()
    valid_sets = {task: encoded[f"{task}/valid"] for task in names}
    teachers = []
    for member, key in enumerate(keys):
        teacher = load_weights(cache / f"teacher-{key}.pt", names)
        if teacher is None:
            teacher = fit_teacher(
                config.teacher,
                labelled,
                valid_sets,
                names,
                class_weights,
                seed=TeacherConfig.member_seed(config.seed, member),
                device=device,
                progress=config.progress,
            )
            save_weights(cache / f"teacher-{key}.pt", teacher)
        teachers.append(teacher)
    topic, sentiment = ensemble_logits(teachers, transfer, device)
    validation = validate_teacher(teachers, valid_sets, names, device)
    output = TeacherOutput(topic, sentiment, validation, time.monotonic() - started)
    save_cached(cache / f"targets-{targets_key}.pt", output)
    return output


def _validate(
    model: NewsLSTM,
    encoded: dict[str, EncodedSet],
    names: dict[str, tuple[str, ...]],
    device: torch.device,
) -> dict[str, dict[str, Any]]:
    valid_sets = {task: encoded[f"{task}/valid"] for task in names}
    return task_reports(lambda data: predict(model, data, device), valid_sets, names)


def _write_outputs(
    model: NewsLSTM,
    config: TrainConfig,
    encoded: dict[str, EncodedSet],
    names: dict[str, tuple[str, ...]],
    data_hash: str,
    history: list[dict[str, float]],
    seconds: float,
    device: torch.device,
    teacher: TeacherOutput | None,
) -> TrainResult:
    scores = _validate(model, encoded, names, device)
    model.cpu().eval()
    today = datetime.now(UTC).strftime("%Y%m%d")
    version = f"lstm-tfns-{today}-{weights_digest(model)}"
    metrics = {
        "validation": {
            t: {k: s[k] for k in ("accuracy", "macro_f1", "n")} for t, s in scores.items()
        },
        "val_score": round(mean_macro_f1(scores), 4),
        "best_epoch": max(history, key=lambda h: h["val_score"])["epoch"],
        "epochs_run": len(history),
        "train_seconds": round(seconds, 1),
    }
    if teacher is not None:
        metrics["teacher"] = {
            "validation": {
                t: {k: s[k] for k in ("accuracy", "macro_f1", "n")}
                for t, s in teacher.validation.items()
            },
            "transfer_texts": len(teacher.topic_logits),
            "seconds": round(teacher.seconds, 1),
        }
    train_config = _jsonable(asdict(config))
    output = Path(config.output)
    save_checkpoint(
        Checkpoint(
            model=model,
            version=version,
            topics=list(names["topic"]),
            sentiments=list(names["sentiment"]),
            max_length=config.max_length,
            metrics=metrics,
            data_hash=data_hash,
            extra={
                "train_config": train_config,
                "split": {"seed": config.seed, "fraction": config.val_fraction},
            },
        ),
        output,
    )
    size = output.stat().st_size
    if size > MAX_CHECKPOINT_BYTES:
        raise nlp_data.DataError(f"{output} is {size / 2**20:.1f} MiB, over the 50 MiB limit")
    stem = output.name.removesuffix(".pt")
    full = {
        "version": version,
        "data_hash": data_hash,
        "checkpoint_bytes": size,
        **metrics,
        "history": history,
        "train_config": train_config,
        "validation_report": scores,
    }
    output.with_name(f"{stem}.metrics.json").write_text(json.dumps(full, indent=2) + "\n")
    for task, score in scores.items():
        plot_confusion(
            np.array(score["confusion_matrix"]),
            names[task],
            f"{task} (validation, n={score['n']})",
            output.with_name(f"confusion_{task}.png"),
        )
    return TrainResult(output, version, metrics, history, seconds)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value
