"""Multi-task training of NewsLSTM on every labelled source: seeded, early-stopped, reproducible.

`train(TrainConfig())` is what `make train` runs; its defaults produce the shipped checkpoint.
All heads share every batch: a text carries IGNORE_INDEX for the labels it does not have (a
TFNS topic tweet has no sentiment label, a Reuters headline none at all), so each head learns
from the texts labelled for it, and, with distillation, from the teachers on every text.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from monitor.nlp import data as nlp_data
from monitor.nlp.augment import AugmentConfig
from monitor.nlp.batching import (
    Batch,
    EncodedSet,
    encode_set,
    hard_loss,
    length_bucketed_batches,
    predict,
    reports,
    validation_score,
)
from monitor.nlp.classifier import pick_device
from monitor.nlp.distill import (
    UnlabelledConfig,
    teacher_targets,
    transfer_key,
    transfer_set,
    unlabelled_stories,
)
from monitor.nlp.labels import SENTIMENTS, TOPICS
from monitor.nlp.model import IGNORE_INDEX, LSTMConfig, NewsLSTM, distillation_loss
from monitor.nlp.outputs import write_outputs
from monitor.nlp.sources import (
    REUTERS,
    SENTIMENT,
    TOPIC,
    Mentions,
    Stories,
    load_sources,
    source_domain,
)
from monitor.nlp.teacher import TeacherConfig, TeacherOutput
from monitor.nlp.tokenizer import domain_token_ids, minilm_path
from monitor.settings import REPO_ROOT, SHIPPED_CHECKPOINT

NAMES: dict[str, tuple[str, ...]] = {"topic": TOPICS, "sentiment": SENTIMENTS, "entity": SENTIMENTS}


@dataclass
class TrainConfig:
    data_dir: Path = REPO_ROOT.parent / "shared" / "data"
    output: Path = SHIPPED_CHECKPOINT
    seed: int = 13
    epochs: int = 6
    patience: int = 2  # epochs without a better validation score before stopping
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
    model: LSTMConfig = field(default_factory=lambda: LSTMConfig(entity_head=True))
    sentfin: bool = True  # train on the SEntFiN news headlines and entities too
    distill: bool = True  # learn from fine-tuned MiniLM teachers' soft labels too
    teacher: TeacherConfig = field(default_factory=lambda: TeacherConfig(members=2))
    teacher_cache: Path = REPO_ROOT / ".cache" / "teacher"
    distill_alpha: float = 0.5  # weight of the hard-label loss; the rest goes to the teachers'
    distill_temperature: float = 2.0
    augment: AugmentConfig = field(default_factory=lambda: AugmentConfig(copies=1))
    unlabelled: UnlabelledConfig = field(default_factory=lambda: UnlabelledConfig(texts=60_000))
    calibrate: bool = True  # fit a softmax temperature per head on validation
    # a domain token after [CLS] ([unused2] tweets, [unused3] news, and news in production):
    # the sources label the same event differently (MODEL.md, T6/T7); on in the shipped model
    domain_tokens: bool = True


@dataclass
class TrainResult:
    checkpoint: Path
    version: str
    metrics: dict[str, Any]
    history: list[dict[str, float]]
    seconds: float


def train(config: TrainConfig) -> TrainResult:
    """Train, early-stop on the mean validation macro-F1, write checkpoint + metrics + plots."""
    started = time.monotonic()
    _seed_everything(config.seed, config.threads)
    device = pick_device(config.device)
    sources = load_sources(
        Path(config.data_dir),
        fraction=config.val_fraction,
        seed=config.seed,
        sentfin=config.sentfin,
    )
    tokens = domain_token_ids() if config.domain_tokens else {}

    def encoded(key: str, stories: Stories) -> EncodedSet:
        prefix = tokens.get(source_domain(key))
        return encode_set(stories, max_length=config.max_length, prefix=prefix)

    valid_sets = {key: encoded(key, stories) for key, stories in sources.valid.items()}
    train_set = EncodedSet.concat([encoded(k, s) for k, s in sources.train.items()])
    weights = _class_weights(train_set, config)
    files = list(sources.files)
    data_hash = nlp_data.data_hash(sources.files) + ("+domain-tokens" if tokens else "")
    teacher: TeacherOutput | None = None
    if config.distill:
        unlabelled, unlabelled_hash = None, ""
        if config.unlabelled.texts:
            path = Path(config.data_dir) / REUTERS
            unlabelled = unlabelled_stories(path, config.unlabelled, seed=config.seed)
            unlabelled_hash = nlp_data.data_hash([path])
            files.append(path)
        transfer = transfer_set(
            train_set,
            config.augment,
            unlabelled,
            max_length=config.max_length,
            seed=config.seed,
            news_token=tokens.get("news"),
        )
        teacher = teacher_targets(
            config.teacher,
            Path(config.teacher_cache),
            train_set,
            transfer,
            valid_sets,
            NAMES,
            weights,
            data_hash=data_hash,
            seed=config.seed,
            max_length=config.max_length,
            transfer_key=transfer_key(config.augment, config.unlabelled, unlabelled_hash),
            device=device,
            progress=config.progress,
        )
        train_set = transfer
    torch.manual_seed(config.seed)  # the same student whether the teacher was cached or not
    model = NewsLSTM(config.model)
    if config.pretrained_embeddings:
        _load_minilm_embeddings(model)
    model.to(device)
    loop = _Loop(config, model, train_set, device)
    if teacher is not None:
        loop.targets = {head: torch.from_numpy(t) for head, t in teacher.logits.items()}
    loop.weights = {task: w.to(device) for task, w in weights.items()}
    history: list[dict[str, float]] = []
    best_state, best_score, stale = None, -1.0, 0
    for epoch in range(config.epochs):
        train_loss = loop.run_epoch(epoch)
        scores = reports(_outputs(model, valid_sets, device), valid_sets, NAMES)
        score = validation_score(scores)
        history.append(_history_row(epoch, train_loss, score, scores))
        loop.show(epoch, train_loss, score=f"{score:.4f}")
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
    return write_outputs(
        model,
        config,
        valid_sets=valid_sets,
        outputs=_outputs(model, valid_sets, device),
        names=NAMES,
        data_hash=nlp_data.data_hash(files),
        split={
            "seed": config.seed,
            "fraction": config.val_fraction,
            "sentfin_valid": sources.sentfin_valid,
        },
        history=history,
        seconds=time.monotonic() - started,
        teacher=teacher,
        unlocated=sources.unlocated,
    )


class _Loop:
    """Optimiser, cosine schedule, progress bar and step count of one training run."""

    def __init__(
        self, config: TrainConfig, model: NewsLSTM, data: EncodedSet, device: torch.device
    ) -> None:
        self.config, self.model, self.data, self.device = config, model, data, device
        self.weights: dict[str, torch.Tensor] = {}
        self.targets: dict[str, torch.Tensor] | None = None  # teacher logits by head
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
            batch = self.data.batch(rows, self.device)
            logits = model(batch.ids, batch.lengths, mentions=self._mentions(batch)).heads()
            loss = hard_loss(logits, batch, self.weights, config.label_smoothing)
            if self.targets is not None:
                soft = self._distill(logits, batch)
                loss = config.distill_alpha * loss + (1 - config.distill_alpha) * soft
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

    def _mentions(self, batch: Batch) -> Any:
        return batch.mentions if self.model.entity is not None else None

    def _distill(self, logits: dict[str, torch.Tensor], batch: Batch) -> torch.Tensor:
        """Every head learns the teachers' distributions on every text (and mention) it reads,
        labelled for it or not."""
        assert self.targets is not None
        loss = torch.zeros((), device=self.device)
        for head, student in logits.items():
            rows = batch.mention_rows if head == "entity" else batch.rows
            teacher = self.targets[head][torch.as_tensor(rows)].to(self.device)
            loss = loss + distillation_loss(
                student, teacher, temperature=self.config.distill_temperature
            )
        return loss

    def show(self, epoch: int, loss: float, refresh: bool = True, **scores: str) -> None:
        self.bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.3f}", **scores, refresh=refresh)


def _outputs(
    model: NewsLSTM, valid_sets: dict[str, EncodedSet], device: torch.device
) -> dict[str, dict[str, np.ndarray]]:
    if model.entity is None:  # score the story heads only
        valid_sets = {
            k: EncodedSet(v.input_ids, v.lengths, v.labels, Mentions.empty())
            for k, v in valid_sets.items()
        }
    return {key: predict(model, data, device) for key, data in valid_sets.items()}


def _history_row(
    epoch: int, train_loss: float, score: float, scores: dict[str, dict[str, Any]]
) -> dict[str, float]:
    row = {"epoch": epoch + 1, "train_loss": round(train_loss, 4), "val_score": round(score, 4)}
    for name, result in scores.items():
        row[f"{name}/accuracy"] = result["accuracy"]
        row[f"{name}/macro_f1"] = result["macro_f1"]
    return row


def _seed_everything(seed: int, threads: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    if threads > 0:
        torch.set_num_threads(threads)


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


def _class_weights(data: EncodedSet, config: TrainConfig) -> dict[str, torch.Tensor]:
    """Per head, inverse-frequency weights (tempered by `class_weight_power`), mean 1."""
    columns = {
        "topic": data.labels[:, TOPIC],
        "sentiment": data.labels[:, SENTIMENT],
        "entity": data.mentions.labels,
    }
    weights = {}
    for head, labels in columns.items():
        counts = np.bincount(labels[labels != IGNORE_INDEX], minlength=len(NAMES[head]))
        counts = counts.astype(np.float64).clip(min=1)
        w = (counts.sum() / counts) ** config.class_weight_power
        weights[head] = torch.tensor(w / w.mean(), dtype=torch.float32)
    return weights


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
