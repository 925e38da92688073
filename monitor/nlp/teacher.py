"""A fine-tuned MiniLM teacher whose soft labels the BiLSTM learns from (knowledge distillation).

Why: 9.5k sentiment and 17k topic labels are few for an LSTM, and each text carries only one of
the two labels. A transformer fine-tuned on the same training rows gives, for *every* training
text, a full probability distribution over both label sets: the topic texts get sentiment targets
and the other way round, and the targets say how close the other classes were. The student
(the shipped LSTM) stays small and fast; the teacher is only used while training, and is never
shipped. It sees the training rows only: the validation split stays unseen by both.

The fine-tuned teachers and their logits on the transfer set are cached (keyed by the data hash
and the settings), so re-running `monitor train` with other student settings does not fine-tune
again.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from monitor.nlp.batching import (
    EncodedSet,
    batched_outputs,
    length_bucketed_batches,
    mean_macro_f1,
    task_reports,
)
from monitor.nlp.model import multitask_loss
from monitor.nlp.tokenizer import minilm_path


@dataclass(frozen=True)
class TeacherConfig:
    epochs: int = 3
    batch_size: int = 32
    lr: float = 1e-4  # small (6-layer, 384-d) encoders want a higher rate than BERT-base
    head_lr: float = 1e-3
    warmup_fraction: float = 0.06
    weight_decay: float = 0.01
    label_smoothing: float = 0.0
    threads: int = 2
    max_steps: int | None = None  # tests and smoke runs
    members: int = 1  # teachers fine-tuned with different seeds; their logits are averaged

    def key(self, data_hash: str, seed: int, max_length: int) -> str:
        """Cache key of one member's weights: changes whenever the data or anything that
        shapes the fine-tuning changes (not `members`, so adding members reuses the others)."""
        settings = {k: v for k, v in asdict(self).items() if k != "members"}
        payload = json.dumps(
            {"config": settings, "data": data_hash, "seed": seed, "max_length": max_length},
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @staticmethod
    def member_seed(seed: int, member: int) -> int:
        return seed + 7919 * member  # member 0 is the plain seed


@dataclass
class TeacherOutput:
    """Teacher logits for the transfer texts (in the order given) and its validation figures."""

    topic_logits: np.ndarray  # (N, n_topics) float32
    sentiment_logits: np.ndarray  # (N, n_sentiments) float32
    validation: dict[str, dict[str, Any]]
    seconds: float


class MiniLMTeacher(nn.Module):
    """all-MiniLM-L6-v2 (6 layers, 384-d) with mean pooling and a topic and a sentiment head."""

    def __init__(self, n_topics: int, n_sentiments: int) -> None:
        super().__init__()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from transformers import BertModel
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()  # not a warning: the unused pooler is left out on purpose
        self.encoder = BertModel.from_pretrained(minilm_path(), add_pooling_layer=False)
        width = self.encoder.config.hidden_size
        self.dropout = nn.Dropout(0.1)
        self.topic_head = nn.Linear(width, n_topics)
        self.sentiment_head = nn.Linear(width, n_sentiments)

    def forward(
        self, input_ids: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        mask = torch.arange(input_ids.size(1), device=input_ids.device)[None, :] < lengths[:, None]
        hidden = self.encoder(input_ids=input_ids, attention_mask=mask.long()).last_hidden_state
        pooled = (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        pooled = self.dropout(pooled)
        return self.topic_head(pooled), self.sentiment_head(pooled)


def load_cached(path: Path) -> TeacherOutput | None:
    if not path.is_file():
        return None
    payload = torch.load(path, map_location="cpu", weights_only=True)
    return TeacherOutput(
        payload["topic_logits"].numpy(),
        payload["sentiment_logits"].numpy(),
        json.loads(payload["validation"]),
        float(payload["seconds"]),
    )


def save_weights(path: Path, model: MiniLMTeacher) -> None:
    """The fine-tuned teacher itself, so new transfer texts can be labelled without refitting."""
    _save_atomically(model.state_dict(), path)


def load_weights(path: Path, names: dict[str, tuple[str, ...]]) -> MiniLMTeacher | None:
    if not path.is_file():
        return None
    model = MiniLMTeacher(len(names["topic"]), len(names["sentiment"]))
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def save_cached(path: Path, output: TeacherOutput) -> None:
    payload = {
        "topic_logits": torch.from_numpy(output.topic_logits),
        "sentiment_logits": torch.from_numpy(output.sentiment_logits),
        "validation": json.dumps(output.validation),
        "seconds": output.seconds,
    }
    _save_atomically(payload, path)


def _save_atomically(payload: object, path: Path) -> None:
    """Write then rename: an interrupted run never leaves a half-written file in the cache
    (a later run would trust it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)


def fit_teacher(
    config: TeacherConfig,
    train_set: EncodedSet,
    valid_sets: dict[str, EncodedSet],
    names: dict[str, tuple[str, ...]],
    class_weights: dict[str, torch.Tensor],
    *,
    seed: int,
    device: torch.device,
    progress: bool = True,
) -> MiniLMTeacher:
    """Fine-tune the teacher on `train_set`; return it at the epoch with the best mean
    validation macro-F1. Uses `config.threads` torch threads and restores the caller's count."""
    previous_threads = torch.get_num_threads()
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    try:
        return _fit(config, train_set, valid_sets, names, class_weights, seed, device, progress)
    finally:
        torch.set_num_threads(previous_threads)


def _fit(
    config: TeacherConfig,
    train_set: EncodedSet,
    valid_sets: dict[str, EncodedSet],
    names: dict[str, tuple[str, ...]],
    class_weights: dict[str, torch.Tensor],
    seed: int,
    device: torch.device,
    progress: bool,
) -> MiniLMTeacher:
    torch.manual_seed(seed)
    model = MiniLMTeacher(len(names["topic"]), len(names["sentiment"])).to(device)
    optimizer = torch.optim.AdamW(
        [
            {"params": model.encoder.parameters(), "lr": config.lr},
            {
                "params": [*model.topic_head.parameters(), *model.sentiment_head.parameters()],
                "lr": config.head_lr,
            },
        ],
        weight_decay=config.weight_decay,
    )
    total = config.epochs * math.ceil(len(train_set) / config.batch_size)
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    warmup = max(1, int(config.warmup_fraction * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(total - warmup, 1)))
    )
    weights = {task: w.to(device) for task, w in class_weights.items()}
    bar = tqdm(total=total, disable=not progress, unit="step", desc="teacher")
    best_score, best_state = -1.0, None
    step = 0
    for epoch in range(config.epochs):
        model.train()
        running, n = 0.0, 0
        for rows in length_bucketed_batches(
            train_set.lengths, config.batch_size, seed=seed + 1000 + epoch
        ):
            ids, lengths, topic_y, sentiment_y = train_set.batch(rows, device)
            topic_logits, sentiment_logits = model(ids, lengths)
            loss = multitask_loss(
                topic_logits,
                sentiment_logits,
                topic_y,
                sentiment_y,
                topic_weight=weights["topic"],
                sentiment_weight=weights["sentiment"],
                label_smoothing=config.label_smoothing,
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            running, n, step = running + loss.item(), n + 1, step + 1
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{running / n:.3f}", refresh=False)
            if step >= total:
                break
        validation = validate_teacher([model], valid_sets, names, device)
        score = mean_macro_f1(validation)
        bar.set_postfix(
            epoch=epoch + 1,
            loss=f"{running / max(n, 1):.3f}",
            s_f1=validation["sentiment"]["macro_f1"],
            t_f1=validation["topic"]["macro_f1"],
        )
        if score > best_score:
            best_score = score
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if step >= total:
            break
    bar.close()
    assert best_state is not None  # at least one epoch ran
    model.load_state_dict(best_state)
    return model.eval()


def logits(
    model: MiniLMTeacher, data: EncodedSet, device: torch.device, batch_size: int = 128
) -> tuple[np.ndarray, np.ndarray]:
    """Raw (N, n_topics) and (N, n_sentiments) logits in the set's order (eval mode)."""
    model.eval()
    return batched_outputs(model, data, device, batch_size)


def ensemble_logits(
    models: list[MiniLMTeacher], data: EncodedSet, device: torch.device
) -> tuple[np.ndarray, np.ndarray]:
    """The members' logits averaged: the ensemble's targets are smoother and more accurate
    than any one member's."""
    outputs = [logits(model.to(device), data, device) for model in models]
    topic = np.stack([t for t, _ in outputs]).astype(np.float64).mean(axis=0)
    sentiment = np.stack([s for _, s in outputs]).astype(np.float64).mean(axis=0)
    return topic.astype(np.float32), sentiment.astype(np.float32)


def validate_teacher(
    models: list[MiniLMTeacher],
    valid_sets: dict[str, EncodedSet],
    names: dict[str, tuple[str, ...]],
    device: torch.device,
) -> dict[str, dict[str, Any]]:
    """The ensemble's report per task on its validation set."""
    return task_reports(lambda data: ensemble_logits(models, data, device), valid_sets, names)
