"""The network only: embedding → BiLSTM (packed) → masked mean+max pooling → two heads."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

IGNORE_INDEX = -100  # label value of the head a training text has no label for


@dataclass
class LSTMConfig:
    vocab_size: int = 30522
    embed_dim: int = 384
    hidden_dim: int = 256
    num_layers: int = 1
    dropout: float = 0.3
    embed_dropout: float = 0.1
    n_topics: int = 20
    n_sentiments: int = 3
    pad_id: int = 0


@dataclass
class NewsLSTMOutput:
    topic_logits: torch.Tensor  # (B, n_topics)
    sentiment_logits: torch.Tensor  # (B, n_sentiments)
    loss: torch.Tensor | None = None


class NewsLSTM(nn.Module):
    """Multi-task BiLSTM: one encoder, a topic head (20) and a sentiment head (3)."""

    def __init__(self, config: LSTMConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = nn.Embedding(
            config.vocab_size, config.embed_dim, padding_idx=config.pad_id
        )
        self.embed_dropout = nn.Dropout(config.embed_dropout)
        self.lstm = nn.LSTM(
            config.embed_dim,
            config.hidden_dim,
            num_layers=config.num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        pooled = 4 * config.hidden_dim  # mean and max of the two directions
        self.dropout = nn.Dropout(config.dropout)
        self.topic_head = nn.Linear(pooled, config.n_topics)
        self.sentiment_head = nn.Linear(pooled, config.n_sentiments)

    def encode(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T) ids and (B,) true lengths → (B, 4H) pooled sentence vectors."""
        x = self.embed_dropout(self.embedding(input_ids))  # (B, T, E)
        packed = pack_padded_sequence(
            x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        out, _ = self.lstm(packed)
        h, _ = pad_packed_sequence(
            out, batch_first=True, total_length=input_ids.size(1)
        )  # (B,T,2H)
        mask = (torch.arange(h.size(1), device=h.device)[None, :] < lengths[:, None]).unsqueeze(-1)
        mean = (h * mask).sum(1) / mask.sum(1).clamp(min=1)  # (B, 2H)
        maxed = h.masked_fill(~mask, torch.finfo(h.dtype).min).amax(1)  # (B, 2H)
        return torch.cat([mean, maxed], dim=-1)  # (B, 4H)

    def forward(
        self,
        input_ids: torch.Tensor,
        lengths: torch.Tensor,
        topic_labels: torch.Tensor | None = None,
        sentiment_labels: torch.Tensor | None = None,
    ) -> NewsLSTMOutput:
        pooled = self.dropout(self.encode(input_ids, lengths))
        topic_logits = self.topic_head(pooled)
        sentiment_logits = self.sentiment_head(pooled)
        loss = None
        if topic_labels is not None and sentiment_labels is not None:
            loss = multitask_loss(topic_logits, sentiment_logits, topic_labels, sentiment_labels)
        return NewsLSTMOutput(topic_logits, sentiment_logits, loss)


def multitask_loss(
    topic_logits: torch.Tensor,
    sentiment_logits: torch.Tensor,
    topic_labels: torch.Tensor,
    sentiment_labels: torch.Tensor,
    *,
    topic_weight: torch.Tensor | None = None,
    sentiment_weight: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Sum of the two heads' cross-entropies. Each text has one of the two labels; the other is
    IGNORE_INDEX and adds no loss (a head with no labelled text in the batch adds zero)."""
    return masked_cross_entropy(
        topic_logits, topic_labels, weight=topic_weight, label_smoothing=label_smoothing
    ) + masked_cross_entropy(
        sentiment_logits, sentiment_labels, weight=sentiment_weight, label_smoothing=label_smoothing
    )


def masked_cross_entropy(
    logits: torch.Tensor,
    labels: torch.Tensor,
    *,
    weight: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    if (labels == IGNORE_INDEX).all():
        return logits.sum() * 0.0  # keeps the graph (and the device) without NaN from 0/0
    return F.cross_entropy(
        logits, labels, weight=weight, ignore_index=IGNORE_INDEX, label_smoothing=label_smoothing
    )


def distillation_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, *, temperature: float
) -> torch.Tensor:
    """KL(teacher ‖ student) between the temperature-softened distributions, times T² so the
    gradient scale does not change with T (Hinton et al., 2015)."""
    teacher = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    student = F.log_softmax(student_logits.float() / temperature, dim=-1)
    kl = F.kl_div(student, teacher, log_target=True, reduction="batchmean")
    return kl * temperature**2
