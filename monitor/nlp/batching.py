"""Pre-tokenized data sets and length-bucketed batches: tokenize once, pad each batch only as far
as its longest text (on CPU an LSTM's cost is proportional to the padded length)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from monitor.nlp.data import Labelled
from monitor.nlp.metrics import report
from monitor.nlp.model import NewsLSTM
from monitor.nlp.tokenizer import encode


@dataclass(frozen=True)
class EncodedSet:
    input_ids: torch.Tensor  # (N, T) padded to the longest text
    lengths: torch.Tensor  # (N,)
    labels: np.ndarray  # (N, 2): topic, sentiment (IGNORE_INDEX where a text has none)

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
        )

    def batch(
        self, rows: np.ndarray, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """ids (B, T_batch), lengths (B,), topic labels (B,), sentiment labels (B,)."""
        index = torch.as_tensor(rows)
        lengths = self.lengths[index]
        ids = self.input_ids[index, : int(lengths.max())]
        labels = torch.as_tensor(self.labels[rows])
        return ids.to(device), lengths.to(device), labels[:, 0].to(device), labels[:, 1].to(device)


def encode_set(labelled: Labelled, *, max_length: int) -> EncodedSet:
    encoded = encode(labelled.texts, max_length=max_length)
    return EncodedSet(encoded.input_ids, encoded.lengths, labelled.labels)


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
) -> tuple[np.ndarray, np.ndarray]:
    """(N, n_topics) and (N, n_sentiments) probabilities, in the set's order."""

    def forward(ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = model(ids, lengths)
        return out.topic_logits.float().softmax(-1), out.sentiment_logits.float().softmax(-1)

    model.eval()
    return batched_outputs(forward, data, device, batch_size)


def batched_outputs(
    forward: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    data: EncodedSet,
    device: torch.device,
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Run a two-headed `forward(ids, lengths)` over the set in batches of similar length
    (longest first, so little padding) and return both outputs in the set's order."""
    order = np.argsort(-data.lengths.numpy(), kind="stable")
    topic, sentiment = [], []
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            ids, lengths, _, _ = data.batch(order[start : start + batch_size], device)
            t, s = forward(ids, lengths)
            topic.append(t.float().cpu().numpy())
            sentiment.append(s.float().cpu().numpy())
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return np.concatenate(topic)[inverse], np.concatenate(sentiment)[inverse]


def task_reports(
    outputs: Callable[[EncodedSet], tuple[np.ndarray, np.ndarray]],
    valid_sets: dict[str, EncodedSet],
    names: dict[str, tuple[str, ...]],
) -> dict[str, dict[str, Any]]:
    """Each task's report on its own validation set, scored on the matching head of a
    two-headed `outputs(set)` (probabilities or logits: only the argmax counts)."""
    scores = {}
    for task, valid in valid_sets.items():
        topic, sentiment = outputs(valid)
        column, scored = (0, topic) if task == "topic" else (1, sentiment)
        scores[task] = report(valid.labels[:, column], scored.argmax(1), names[task])
    return scores


def mean_macro_f1(scores: dict[str, dict[str, Any]]) -> float:
    """The model-selection score: the tasks' validation macro-F1s, averaged."""
    return sum(s["macro_f1"] for s in scores.values()) / len(scores)
