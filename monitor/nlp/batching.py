"""Pre-tokenized data sets and length-bucketed batches: tokenize once, pad each batch only as far
as its longest text (on CPU an LSTM's cost is proportional to the padded length).

A set's entity mentions travel with their stories: a batch of stories carries the mentions of
exactly those stories, so the entity head trains and scores on the story's own encoder pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from monitor.nlp.mentions import token_span
from monitor.nlp.metrics import report
from monitor.nlp.model import (
    IGNORE_INDEX,
    EntitySpans,
    NewsLSTM,
    masked_cross_entropy,
    multitask_loss,
)
from monitor.nlp.sources import SENTIMENT, TOPIC, Mentions, Stories
from monitor.nlp.tokenizer import encode, encode_with_offsets

Heads = dict[str, np.ndarray]  # "topic" (N, 20), "sentiment" (N, 3), "entity" (M, 3)

# validation report name → (validation set, head scored)
REPORTS: dict[str, tuple[str, str]] = {
    "tfns/topic": ("tfns/topic", "topic"),
    "tfns/sentiment": ("tfns/sentiment", "sentiment"),
    "sentfin/headline": ("sentfin", "sentiment"),
    "sentfin/entity": ("sentfin", "entity"),
}


@dataclass(frozen=True)
class Batch:
    ids: torch.Tensor  # (B, T_batch)
    lengths: torch.Tensor  # (B,)
    topic: torch.Tensor  # (B,) labels, IGNORE_INDEX where none
    sentiment: torch.Tensor  # (B,)
    mentions: EntitySpans | None  # the batch's mentions (rows = positions in the batch)
    entity: torch.Tensor  # (M,) labels of those mentions
    rows: np.ndarray  # (B,) the stories' indices in the set
    mention_rows: np.ndarray  # (M,) the mentions' indices in the set's Mentions


@dataclass(frozen=True)
class EncodedSet:
    input_ids: torch.Tensor  # (N, T) padded to the longest text
    lengths: torch.Tensor  # (N,)
    labels: np.ndarray  # (N, 2): topic, sentiment (IGNORE_INDEX where a text has none)
    mentions: Mentions  # token spans

    def __len__(self) -> int:
        return int(self.lengths.numel())

    @staticmethod
    def concat(parts: list[EncodedSet]) -> EncodedSet:
        width = max(p.input_ids.size(1) for p in parts)
        ids = [
            torch.nn.functional.pad(p.input_ids, (0, width - p.input_ids.size(1))) for p in parts
        ]
        return EncodedSet(
            torch.cat(ids),
            torch.cat([p.lengths for p in parts]),
            np.concatenate([p.labels for p in parts]),
            Mentions.concat([p.mentions for p in parts], [len(p) for p in parts]),
        )

    @cached_property
    def _mention_index(self) -> tuple[np.ndarray, np.ndarray]:
        """Mentions sorted by story, and where each story's run starts (CSR)."""
        order = np.argsort(self.mentions.story, kind="stable")
        starts = np.searchsorted(self.mentions.story[order], np.arange(len(self) + 1))
        return order, starts

    def mentions_of(self, rows: np.ndarray) -> np.ndarray:
        """Indices of the mentions of stories `rows`, story by story."""
        order, starts = self._mention_index
        if not len(order):
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([order[starts[r] : starts[r + 1]] for r in rows] or [order[:0]])

    def batch(self, rows: np.ndarray, device: torch.device) -> Batch:
        index = torch.as_tensor(rows)
        lengths = self.lengths[index]
        ids = self.input_ids[index, : int(lengths.max())]
        labels = torch.as_tensor(self.labels[rows])
        mention_rows = self.mentions_of(rows)
        mentions = None
        if len(mention_rows):
            position = {int(r): i for i, r in enumerate(rows)}
            batch_rows = [position[int(s)] for s in self.mentions.story[mention_rows]]
            mentions = EntitySpans(
                torch.tensor(batch_rows), torch.as_tensor(self.mentions.spans[mention_rows])
            ).to(device)
        return Batch(
            ids.to(device),
            lengths.to(device),
            labels[:, TOPIC].to(device),
            labels[:, SENTIMENT].to(device),
            mentions,
            torch.as_tensor(self.mentions.labels[mention_rows]).to(device),
            np.asarray(rows),
            mention_rows,
        )


def encode_set(stories: Stories, *, max_length: int, prefix: int | None = None) -> EncodedSet:
    """Tokenize stories (with a domain token `prefix` after [CLS], if given); their mentions'
    character spans become token spans (a mention past the truncation point is dropped: the
    model never sees it)."""
    if not len(stories.mentions):
        encoded = encode(stories.texts, max_length=max_length, prefix=prefix)
        return EncodedSet(encoded.input_ids, encoded.lengths, stories.labels, stories.mentions)
    encoded, offsets = encode_with_offsets(stories.texts, max_length=max_length, prefix=prefix)
    m = stories.mentions
    spans = [
        token_span(offsets[s][0], offsets[s][1], (int(a), int(b)))
        for s, (a, b) in zip(m.story, m.spans, strict=True)
    ]
    keep = np.array([span is not None for span in spans], dtype=bool)
    token_spans = np.array([span for span in spans if span is not None], dtype=np.int64)
    mentions = Mentions(m.story[keep], token_spans.reshape(-1, 2), m.labels[keep])
    return EncodedSet(encoded.input_ids, encoded.lengths, stories.labels, mentions)


def hard_loss(
    logits: dict[str, torch.Tensor],
    batch: Batch,
    weights: dict[str, torch.Tensor],
    label_smoothing: float,
) -> torch.Tensor:
    """Each head's class-weighted cross-entropy over the stories (or mentions) labelled for it,
    summed; a head with no labelled row in the batch adds zero."""
    loss = multitask_loss(
        logits["topic"],
        logits["sentiment"],
        batch.topic,
        batch.sentiment,
        topic_weight=weights["topic"],
        sentiment_weight=weights["sentiment"],
        label_smoothing=label_smoothing,
    )
    if "entity" in logits:
        loss = loss + masked_cross_entropy(
            logits["entity"],
            batch.entity,
            weight=weights["entity"],
            label_smoothing=label_smoothing,
        )
    return loss


def length_bucketed_batches(
    lengths: torch.Tensor, batch_size: int, *, seed: int, pool: int = 50
) -> Iterator[np.ndarray]:
    """Shuffled batches of similar-length rows: shuffle, sort within pools of `pool` batches,
    cut into batches, shuffle the batches. Seeded, so an epoch's order is reproducible."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(lengths))
    lens = lengths.numpy()
    batches: list[np.ndarray] = []
    for start in range(0, len(order), batch_size * pool):
        chunk = order[start : start + batch_size * pool]
        chunk = chunk[np.argsort(lens[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    for i in rng.permutation(len(batches)):
        yield batches[i]


def predict(
    model: NewsLSTM, data: EncodedSet, device: torch.device, batch_size: int = 512
) -> Heads:
    """Every head's logits over the set, in the set's (and its mentions') order."""

    def forward(batch: Batch) -> Heads:
        out = model(batch.ids, batch.lengths, mentions=batch.mentions)
        return {name: t.float().cpu().numpy() for name, t in out.heads().items()}

    model.eval()
    return batched_outputs(forward, data, device, batch_size)


def batched_outputs(
    forward: Callable[[Batch], Heads],
    data: EncodedSet,
    device: torch.device,
    batch_size: int,
    *,
    progress: str | None = None,
) -> Heads:
    """Run `forward(batch)` over the set in batches of similar length (longest first, so little
    padding) and return its outputs in the set's order: per story, and per mention for
    "entity"."""
    order = np.argsort(-data.lengths.numpy(), kind="stable")
    parts: dict[str, list[np.ndarray]] = {}
    mention_order: list[np.ndarray] = []
    with torch.inference_mode():
        starts = range(0, len(order), batch_size)
        for start in tqdm(starts, desc=progress, disable=progress is None, unit="batch"):
            batch = data.batch(order[start : start + batch_size], device)
            for name, values in forward(batch).items():
                parts.setdefault(name, []).append(values)
            mention_order.append(batch.mention_rows)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    heads = {
        name: np.concatenate(values)[inverse] for name, values in parts.items() if name != "entity"
    }
    if "entity" in parts:
        by_batch = np.concatenate(mention_order)
        entity = np.concatenate(parts["entity"])
        heads["entity"] = np.empty_like(entity)
        heads["entity"][by_batch] = entity
    return heads


def head_labels(data: EncodedSet, head: str) -> np.ndarray:
    """The gold labels a head is scored on: per story, or per mention for "entity"."""
    if head == "entity":
        return data.mentions.labels
    return data.labels[:, TOPIC if head == "topic" else SENTIMENT]


def reports(
    outputs: dict[str, Heads],
    valid_sets: dict[str, EncodedSet],
    names: dict[str, tuple[str, ...]],
) -> dict[str, dict[str, Any]]:
    """Each validation report (REPORTS) from every set's head outputs (logits or
    probabilities: only the argmax counts), over the rows labelled for that head."""
    scores = {}
    for name, (set_name, head) in REPORTS.items():
        if set_name not in valid_sets or head not in outputs[set_name]:
            continue
        labels = head_labels(valid_sets[set_name], head)
        labelled = labels != IGNORE_INDEX
        predicted = outputs[set_name][head].argmax(-1)
        scores[name] = report(labels[labelled], predicted[labelled], names[head])
    return scores


def validation_score(scores: dict[str, dict[str, Any]]) -> float:
    """The model-selection score: the validation reports' macro-F1s, averaged."""
    return sum(s["macro_f1"] for s in scores.values()) / len(scores)
