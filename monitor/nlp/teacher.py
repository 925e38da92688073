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
    Batch,
    EncodedSet,
    Heads,
    batched_outputs,
    hard_loss,
    length_bucketed_batches,
    reports,
    validation_score,
)
from monitor.nlp.model import IGNORE_INDEX
from monitor.nlp.sources import Mentions
from monitor.nlp.tokenizer import minilm_path, minilm_wordpiece


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
    """Teacher logits for the transfer set ("topic", "sentiment" per story, "entity" per
    mention, in the set's order) and the teachers' validation figures."""

    logits: Heads
    validation: dict[str, dict[str, Any]]
    seconds: float


class MiniLMTeacher(nn.Module):
    """all-MiniLM-L6-v2 (6 layers, 384-d) with mean pooling and a topic and a sentiment head,
    and an entity head that reads the states at the [unused0]/[unused1] markers put around the
    mention (entity-start pooling, after Baldini Soares et al. 2019, "Matching the Blanks")."""

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
        self.entity_head = nn.Linear(2 * width, n_sentiments)

    def forward(self, batch: Batch) -> dict[str, torch.Tensor]:
        ids, lengths = batch.ids, batch.lengths
        mask = torch.arange(ids.size(1), device=ids.device)[None, :] < lengths[:, None]
        hidden = self.encoder(input_ids=ids, attention_mask=mask.long()).last_hidden_state
        pooled = (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True).clamp(min=1)
        pooled = self.dropout(pooled)
        out = {"topic": self.topic_head(pooled), "sentiment": self.sentiment_head(pooled)}
        if batch.mentions is not None:  # marked rows: the span runs from marker to marker
            rows, spans = batch.mentions.rows, batch.mentions.spans
            ends = torch.cat([hidden[rows, spans[:, 0]], hidden[rows, spans[:, 1] - 1]], dim=-1)
            out["entity"] = self.entity_head(self.dropout(ends))
        return out


def marked(data: EncodedSet, markers: tuple[int, int]) -> EncodedSet:
    """One row per mention of `data`: its story with marker ids around the mention. The row's
    one mention spans the markers too, and carries the mention's label."""
    m = data.mentions
    ids = np.zeros((len(m), data.input_ids.size(1) + 2), dtype=np.int64)
    source = data.input_ids.numpy()
    lengths = data.lengths.numpy()[m.story] + 2
    for i, (story, (a, b)) in enumerate(zip(m.story, m.spans, strict=True)):
        row = source[story, : lengths[i] - 2]
        ids[i, : lengths[i]] = np.concatenate(
            [row[:a], [markers[0]], row[a:b], [markers[1]], row[b:]]
        )
    spans = np.stack([m.spans[:, 0], m.spans[:, 1] + 2], axis=1)
    no_story_label = np.full((len(m), 2), IGNORE_INDEX, dtype=np.int64)
    return EncodedSet(
        torch.from_numpy(ids),
        torch.from_numpy(lengths),
        no_story_label,
        Mentions(np.arange(len(m)), spans.reshape(-1, 2), m.labels.copy()),
    )


def teacher_view(data: EncodedSet, *, labelled_only: bool = False) -> EncodedSet:
    """What the teacher reads for a set: its stories (without mentions: the teacher reads an
    entity from a marked copy), then one marked row per mention, in the set's mention order.
    `labelled_only` keeps only the stories with a topic or sentiment label (for fine-tuning)."""
    keep = (data.labels != IGNORE_INDEX).any(1) if labelled_only else np.ones(len(data), bool)
    index = torch.from_numpy(np.flatnonzero(keep))
    stories = EncodedSet(
        data.input_ids[index], data.lengths[index], data.labels[keep], Mentions.empty()
    )
    if not len(data.mentions):
        return stories
    return EncodedSet.concat([stories, marked(data, marker_ids())])


def marker_ids() -> tuple[int, int]:
    """The ids of [unused0] and [unused1], free vocabulary slots used as mention markers."""
    tokenizer = minilm_wordpiece()
    return tokenizer.token_id("[unused0]"), tokenizer.token_id("[unused1]")


def load_cached(path: Path) -> TeacherOutput | None:
    if not path.is_file():
        return None
    payload = torch.load(path, map_location="cpu", weights_only=True)
    return TeacherOutput(
        {head: t.numpy() for head, t in payload["logits"].items()},
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
        "logits": {head: torch.from_numpy(a) for head, a in output.logits.items()},
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
    """Fine-tune the teacher on `train_set` (its labelled stories and its mentions, marked);
    return it at the epoch with the best mean validation macro-F1. Uses `config.threads` torch
    threads and restores the caller's count."""
    previous_threads = torch.get_num_threads()
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    try:
        data = teacher_view(train_set, labelled_only=True)
        return _fit(config, data, valid_sets, names, class_weights, seed, device, progress)
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
    heads = [model.topic_head, model.sentiment_head, model.entity_head]
    optimizer = torch.optim.AdamW(
        [
            {"params": model.encoder.parameters(), "lr": config.lr},
            {"params": [p for head in heads for p in head.parameters()], "lr": config.head_lr},
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
            batch = train_set.batch(rows, device)
            loss = hard_loss(model(batch), batch, weights, config.label_smoothing)
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
        score = validation_score(validation)
        bar.set_postfix(epoch=epoch + 1, loss=f"{running / max(n, 1):.3f}", score=f"{score:.4f}")
        if score > best_score:
            best_score = score
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if step >= total:
            break
    bar.close()
    assert best_state is not None  # at least one epoch ran
    model.load_state_dict(best_state)
    return model.eval()


def teacher_logits(
    models: list[MiniLMTeacher],
    data: EncodedSet,
    device: torch.device,
    batch_size: int = 128,
    progress: bool = False,
) -> Heads:
    """The members' logits on a set, averaged (the ensemble's targets are smoother and more
    accurate than any one member's): per story, and per mention for "entity"."""
    view = teacher_view(data)
    outputs = []
    for model in models:
        model.to(device).eval()

        def forward(batch: Batch, model: MiniLMTeacher = model) -> Heads:
            return {head: t.float().cpu().numpy() for head, t in model(batch).items()}

        heads = batched_outputs(
            forward, view, device, batch_size, progress="labelling" if progress else None
        )
        # the view's first len(data) rows are the stories; its mentions are the marked rows
        heads["topic"], heads["sentiment"] = (
            heads["topic"][: len(data)],
            heads["sentiment"][: len(data)],
        )
        outputs.append(heads)
    return {
        head: np.stack([o[head] for o in outputs]).astype(np.float64).mean(0).astype(np.float32)
        for head in outputs[0]
    }


def validate_teacher(
    models: list[MiniLMTeacher],
    valid_sets: dict[str, EncodedSet],
    names: dict[str, tuple[str, ...]],
    device: torch.device,
) -> dict[str, dict[str, Any]]:
    """The ensemble's validation reports."""
    outputs = {key: teacher_logits(models, data, device) for key, data in valid_sets.items()}
    return reports(outputs, valid_sets, names)
