"""The network only: embedding → BiLSTM (packed) → masked mean+max pooling → two story heads,
and an optional entity head that reads the same encoder states at an entity's mention.

Entity head (one encoder pass per story, whatever the number of entities): for each mention
(a token span [start, end) of one story in the batch) it concatenates
  - the mean and the max of the BiLSTM states over the span,
  - the forward state at the span's last token and the backward state at its first (the left
    and right context read up to the target, as in TD-LSTM, Tang et al. 2016),
  - an attention summary of the whole story, queried by the span (target-conditioned),
  - the story's pooled vector,
and maps them through a small MLP to the entity's sentiment.
"""

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
    entity_head: bool = False  # sentiment towards a mention (EntitySpans) from the same states
    entity_hidden: int = 256
    attention_dim: int = 128


@dataclass
class EntitySpans:
    """The mentions to score in a batch: mention m is tokens [spans[m, 0], spans[m, 1]) of
    story rows[m]. Several mentions may point at the same story."""

    rows: torch.Tensor  # (M,) int64, index into the batch
    spans: torch.Tensor  # (M, 2) int64, token positions, start < end <= that story's length

    def to(self, device: torch.device) -> EntitySpans:
        return EntitySpans(self.rows.to(device), self.spans.to(device))


@dataclass
class NewsLSTMOutput:
    topic_logits: torch.Tensor  # (B, n_topics)
    sentiment_logits: torch.Tensor  # (B, n_sentiments)
    loss: torch.Tensor | None = None
    entity_logits: torch.Tensor | None = None  # (M, n_sentiments) when mentions were given

    def heads(self) -> dict[str, torch.Tensor]:
        """The logits by head name ("entity" only when mentions were scored)."""
        heads = {"topic": self.topic_logits, "sentiment": self.sentiment_logits}
        if self.entity_logits is not None:
            heads["entity"] = self.entity_logits
        return heads


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
        self.entity: EntityHead | None = EntityHead(config) if config.entity_head else None

    def encode(self, input_ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, T) ids and (B,) true lengths → (B, 4H) pooled sentence vectors."""
        return self.pool(*self.states(input_ids, lengths))

    def states(
        self, input_ids: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """BiLSTM states (B, T, 2H), zero past each length, and the (B, T, 1) length mask."""
        x = self.embed_dropout(self.embedding(input_ids))  # (B, T, E)
        packed = pack_padded_sequence(
            x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        out, _ = self.lstm(packed)
        h, _ = pad_packed_sequence(
            out, batch_first=True, total_length=input_ids.size(1)
        )  # (B,T,2H)
        mask = (torch.arange(h.size(1), device=h.device)[None, :] < lengths[:, None]).unsqueeze(-1)
        return h, mask

    @staticmethod
    def pool(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Masked mean and max over time: (B, T, 2H) → (B, 4H)."""
        mean = (h * mask).sum(1) / mask.sum(1).clamp(min=1)  # (B, 2H)
        maxed = h.masked_fill(~mask, torch.finfo(h.dtype).min).amax(1)  # (B, 2H)
        return torch.cat([mean, maxed], dim=-1)  # (B, 4H)

    def forward(
        self,
        input_ids: torch.Tensor,
        lengths: torch.Tensor,
        topic_labels: torch.Tensor | None = None,
        sentiment_labels: torch.Tensor | None = None,
        *,
        mentions: EntitySpans | None = None,
    ) -> NewsLSTMOutput:
        h, mask = self.states(input_ids, lengths)
        pooled = self.dropout(self.pool(h, mask))
        topic_logits = self.topic_head(pooled)
        sentiment_logits = self.sentiment_head(pooled)
        entity_logits = None
        if mentions is not None:
            if self.entity is None:
                raise ValueError("this model has no entity head (LSTMConfig.entity_head)")
            entity_logits = self.entity(h, mask, pooled, mentions)
        loss = None
        if topic_labels is not None and sentiment_labels is not None:
            loss = multitask_loss(topic_logits, sentiment_logits, topic_labels, sentiment_labels)
        return NewsLSTMOutput(topic_logits, sentiment_logits, loss, entity_logits)


class EntityHead(nn.Module):
    """Sentiment towards a mention, read from the story's encoder states (no second pass)."""

    def __init__(self, config: LSTMConfig) -> None:
        super().__init__()
        width = 2 * config.hidden_dim  # one BiLSTM state
        self.hidden_dim = config.hidden_dim
        self.query = nn.Linear(2 * width, config.attention_dim)  # from the span's mean + max
        self.key = nn.Linear(width, config.attention_dim, bias=False)
        self.mlp = nn.Sequential(
            # span mean + max, the two edge states, attention summary, story vector (2 widths)
            nn.Linear(6 * width, config.entity_hidden),
            nn.GELU(),
            nn.Dropout(config.dropout),
            nn.Linear(config.entity_hidden, config.n_sentiments),
        )

    def forward(
        self, h: torch.Tensor, mask: torch.Tensor, pooled: torch.Tensor, mentions: EntitySpans
    ) -> torch.Tensor:
        """(B, T, 2H) states, (B, T, 1) mask, (B, 4H) pooled story vectors → (M, 3) logits.

        Nothing of size (M, T, 2H) is built: span states are gathered over the widest span
        only, keys are projected once per story, and the attention summary is one batched
        product per story over its mentions' weights (the consumer scores ~2 mentions a story,
        and copying every story's states per mention cost more than the head itself)."""
        rows, start, end = mentions.rows, mentions.spans[:, 0], mentions.spans[:, 1]
        width = int((end - start).max()) if len(rows) else 1
        index = start[:, None] + torch.arange(width, device=h.device)[None, :]  # (M, W)
        in_span = (index < end[:, None]).unsqueeze(-1)  # (M, W, 1)
        spans = h[rows[:, None], torch.minimum(index, end[:, None] - 1)]  # (M, W, 2H)
        span_mean = (spans * in_span).sum(1) / in_span.sum(1).clamp(min=1)  # (M, 2H)
        span_max = spans.masked_fill(~in_span, torch.finfo(spans.dtype).min).amax(1)  # (M, 2H)
        forward_last = h[rows, end - 1, : self.hidden_dim]  # left context + target
        backward_first = h[rows, start, self.hidden_dim :]  # right context + target
        query = self.query(torch.cat([span_mean, span_max], dim=-1))  # (M, A)
        keys = self.key(h)[rows]  # (M, T, A): A is a quarter of 2H
        scores = torch.einsum("mta,ma->mt", keys, query) / query.size(-1) ** 0.5
        valid = mask[rows].squeeze(-1)  # (M, T)
        # each tensor's own lowest value: under bf16 autocast the scores are bf16, h is not
        weights = scores.masked_fill(~valid, torch.finfo(scores.dtype).min).softmax(-1)
        attended = _per_story_sum(weights, h, rows)  # (M, 2H)
        features = torch.cat(
            [span_mean, span_max, forward_last, backward_first, attended, pooled[rows]], dim=-1
        )
        return self.mlp(features)


def _per_story_sum(weights: torch.Tensor, h: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """Σ_t weights[m, t] · h[rows[m], t] for every mention m, as one (B, K, T) × (B, T, D)
    product, K the most mentions of one story: each mention gets a slot in its story's row."""
    if not len(rows):
        return h.new_zeros((0, h.size(-1)))
    counts = torch.bincount(rows, minlength=h.size(0))
    ordered, order = torch.sort(rows, stable=True)
    first = torch.cumsum(counts, 0) - counts
    slot = torch.empty_like(rows)
    slot[order] = torch.arange(len(rows), device=rows.device) - first[ordered]
    grid = weights.new_zeros((h.size(0), int(counts.max()), h.size(1)))
    grid[rows, slot] = weights
    return torch.bmm(grid, h)[rows, slot]


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
