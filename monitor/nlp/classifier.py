"""Batched inference: a list of texts in, one Prediction per text out, in the same order.

The whole batch is tokenized in one call, sorted by length (less padding per forward), run under
`torch.inference_mode()` on the device chosen once at construction (`cuda` when present), with
autocast when `mixed_precision` is on (fp16 on a GPU, bf16 on a CPU: 2.3x fp32 on a CPU with
AVX-512 BF16, MODEL.md "Speed"), and put back in the caller's order. Entity
mentions are scored from the same forward as their story: k entities cost no extra pass. A
mention past the tokens that forward saw (a company named late in the body) is read in its own
sentence (`mentions.mention_window`), in one more forward for all such mentions of the call.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from monitor.errors import ConfigError
from monitor.nlp.checkpoint import Checkpoint, load_checkpoint, wordpiece
from monitor.nlp.mentions import Span, mention_window, token_span
from monitor.nlp.model import EntitySpans
from monitor.nlp.tokenizer import Offsets
from monitor.settings import ModelSettings


@dataclass(frozen=True)
class EntityScore:
    """The sentiment towards one mention. `from_mention` is False when it could not be read
    from the mention (the model has no entity head, or not even the mention's sentence fits
    the tokens the model reads): the story's sentiment stands in for it."""

    sentiment: str
    confidence: float
    score: float  # p(positive) - p(negative), in [-1, 1]
    probabilities: dict[str, float]
    from_mention: bool


@dataclass(frozen=True)
class Prediction:
    topic: str
    topic_confidence: float
    sentiment: str
    sentiment_confidence: float
    sentiment_score: float  # p(positive) - p(negative), in [-1, 1]
    probabilities: dict[str, dict[str, float]]
    entities: tuple[EntityScore, ...] = ()  # one per mention asked for, in the order given


@dataclass(frozen=True)
class Scores:
    """Calibrated probabilities on CPU, in input order: (N, n_topics), (N, n_sentiments), and
    per text one (n_sentiments,) row per mention, or None where the mention was not read."""

    topic: torch.Tensor
    sentiment: torch.Tensor
    entities: list[list[torch.Tensor | None]]


def pick_device(requested: str) -> torch.device:
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("MONITOR_MODEL__DEVICE", "cuda was asked for but no GPU is visible")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


class Classifier:
    def __init__(
        self,
        checkpoint: Checkpoint,
        *,
        device: str = "auto",
        batch_size: int = 256,
        max_length: int | None = None,
        quantize: bool = False,
        mixed_precision: bool = False,
        domain: str = "news",
    ) -> None:
        """`domain`: what the texts are ("news" in the stream; "tweet" to re-score TFNS), for
        checkpoints trained with domain tokens; others read every text the same way."""
        if checkpoint.domain_tokens and domain not in checkpoint.domain_tokens:
            known = ", ".join(sorted(checkpoint.domain_tokens))
            raise ValueError(f"unknown domain {domain!r}: this checkpoint knows {known}")
        self.prefix = checkpoint.domain_tokens.get(domain)
        self.version = checkpoint.version
        self.topics = checkpoint.topics
        self.sentiments = checkpoint.sentiments
        self.device = pick_device(device)
        self.batch_size = batch_size
        self.max_length = max_length or checkpoint.max_length
        self.tokenizer = wordpiece(checkpoint)
        self.mixed_precision = mixed_precision
        # bf16 on CPU (the int8 model already runs in its own kernels), fp16 on GPU
        self.quantized = quantize and self.device.type == "cpu"  # dynamic int8 is CPU-only
        self.autocast = mixed_precision and not self.quantized
        self.autocast_dtype = torch.float16 if self.device.type == "cuda" else torch.bfloat16
        self.temperatures = dict(checkpoint.temperatures)
        self.has_entity_head = checkpoint.model.entity is not None
        model = checkpoint.model.eval()
        if self.quantized:
            model = torch.ao.quantization.quantize_dynamic(
                model, {torch.nn.LSTM, torch.nn.Linear}, dtype=torch.qint8
            )
            self.version += "+int8"
        self.model = model.to(self.device)

    @property
    def precision(self) -> str:
        """What the forward computes in: "int8", "bf16", "fp16" or "fp32"."""
        if self.quantized:
            return "int8"
        if self.autocast:
            return "fp16" if self.autocast_dtype == torch.float16 else "bf16"
        return "fp32"

    @classmethod
    def from_settings(
        cls, settings: ModelSettings, *, checkpoint: Checkpoint | None = None, domain: str = "news"
    ) -> Classifier:
        """The model as MONITOR_MODEL__* configures it; `checkpoint`: settings.checkpoint
        already loaded by the caller."""
        return cls(
            checkpoint or load_checkpoint(settings.checkpoint),
            device=settings.device,
            batch_size=settings.batch_size,
            max_length=settings.max_length,
            quantize=settings.quantize,
            mixed_precision=settings.mixed_precision,
            domain=domain,
        )

    def predict_normalized(
        self,
        texts: list[str],
        timings: dict[str, float] | None = None,
        *,
        mentions: Sequence[Sequence[Span]] | None = None,
    ) -> list[Prediction]:
        """Labels for already-normalised texts; `timings` gets tokenize/model seconds.

        `mentions[i]` lists character spans [start, end) into `texts[i]` (see
        `monitor.nlp.mentions.locate`); `Prediction.entities` holds one EntityScore per span,
        in the same order."""
        if not texts:
            return []
        scores = self.scores(texts, mentions, timings)
        predictions = []
        for i, (topic_p, sentiment_p) in enumerate(
            zip(scores.topic.tolist(), scores.sentiment.tolist(), strict=True)
        ):
            story = _entity_score(self.sentiments, sentiment_p, from_mention=False)
            t = max(range(len(topic_p)), key=topic_p.__getitem__)
            entities = tuple(
                story
                if p is None
                else _entity_score(self.sentiments, p.tolist(), from_mention=True)
                for p in scores.entities[i]
            )
            predictions.append(
                Prediction(
                    topic=self.topics[t],
                    topic_confidence=round(topic_p[t], 5),
                    sentiment=story.sentiment,
                    sentiment_confidence=story.confidence,
                    sentiment_score=story.score,
                    probabilities={
                        "topic": {
                            n: round(p, 5) for n, p in zip(self.topics, topic_p, strict=True)
                        },
                        "sentiment": story.probabilities,
                    },
                    entities=entities,
                )
            )
        return predictions

    def probabilities(
        self, texts: list[str], timings: dict[str, float] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, n_topics) and (N, n_sentiments) calibrated probabilities on CPU, in input order."""
        scores = self.scores(texts, None, timings)
        return scores.topic, scores.sentiment

    def scores(
        self,
        texts: list[str],
        mentions: Sequence[Sequence[Span]] | None = None,
        timings: dict[str, float] | None = None,
        *,
        read_late: bool = True,
    ) -> Scores:
        """Every head's calibrated probabilities, one forward per batch of stories (and, with
        `read_late`, one more for the mentions past the tokens the first saw)."""
        if mentions is not None and len(mentions) != len(texts):
            raise ValueError(f"{len(mentions)} mention lists for {len(texts)} texts")
        started = time.perf_counter()
        spans: list[list[Span | None]] = [[] for _ in texts]
        if mentions is not None and self.has_entity_head and any(mentions):
            encoded, offsets = self.tokenizer.encode_with_offsets(
                texts, max_length=self.max_length, prefix=self.prefix
            )
            spans = _token_spans(offsets, mentions)
        else:
            encoded = self.tokenizer.encode(texts, max_length=self.max_length, prefix=self.prefix)
            if mentions is not None:  # no head to read them: the story's sentiment stands in
                spans = [[None] * len(m) for m in mentions]
        tokenized = time.perf_counter()
        order = torch.argsort(encoded.lengths, descending=True)
        topic_parts, sentiment_parts = [], []
        entities: list[list[torch.Tensor | None]] = [[None] * len(s) for s in spans]
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                rows = order[start : start + self.batch_size]
                lengths = encoded.lengths[rows]
                ids = encoded.input_ids[rows, : int(lengths.max())].to(
                    self.device, non_blocking=True
                )
                batch_mentions, owners = _batch_mentions(rows.tolist(), spans)
                with torch.autocast(
                    self.device.type, dtype=self.autocast_dtype, enabled=self.autocast
                ):
                    out = self.model(
                        ids,
                        lengths.to(self.device),
                        mentions=batch_mentions.to(self.device) if batch_mentions else None,
                    )
                topic_parts.append(self._calibrated(out.topic_logits, "topic"))
                sentiment_parts.append(self._calibrated(out.sentiment_logits, "sentiment"))
                if out.entity_logits is not None:
                    for (text, m), p in zip(
                        owners, self._calibrated(out.entity_logits, "entity"), strict=True
                    ):
                        entities[text][m] = p
        if read_late and mentions is not None and self.has_entity_head:
            self._read_late_mentions(texts, mentions, entities, spans)
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(len(order))
        if timings is not None:
            timings["tokenize"] = tokenized - started
            timings["model"] = time.perf_counter() - tokenized
        return Scores(
            torch.cat(topic_parts)[inverse], torch.cat(sentiment_parts)[inverse], entities
        )

    def _read_late_mentions(
        self,
        texts: list[str],
        mentions: Sequence[Sequence[Span]],
        entities: list[list[torch.Tensor | None]],
        spans: list[list[Span | None]],
    ) -> None:
        """Fill in the mentions the story's forward did not reach, each read in a window of
        its text (its sentence), all in one more batched call."""
        late = [(t, m) for t, row in enumerate(spans) for m, span in enumerate(row) if span is None]
        if not late:
            return
        windows = [mention_window(texts[t], mentions[t][m]) for t, m in late]
        inner = self.scores([w for w, _ in windows], [[s] for _, s in windows], read_late=False)
        for (t, m), row in zip(late, inner.entities, strict=True):
            entities[t][m] = row[0]  # None still when not even the window fits

    def _calibrated(self, logits: torch.Tensor, head: str) -> torch.Tensor:
        """Softmax of the logits divided by the head's fitted temperature (1 = as trained)."""
        return (logits.float() / self.temperatures.get(head, 1.0)).softmax(-1).cpu()


def _token_spans(
    offsets: list[Offsets], mentions: Sequence[Sequence[Span]]
) -> list[list[Span | None]]:
    return [
        [token_span(row_offsets, special, mention) for mention in text_mentions]
        for (row_offsets, special), text_mentions in zip(offsets, mentions, strict=True)
    ]


def _batch_mentions(
    rows: list[int], spans: list[list[Span | None]]
) -> tuple[EntitySpans | None, list[tuple[int, int]]]:
    """The readable mentions of a batch's stories as EntitySpans (row = position in the batch),
    and for each one its (text index, mention index) in the caller's lists."""
    batch_rows, batch_spans, owners = [], [], []
    for position, text in enumerate(rows):
        for m, span in enumerate(spans[text]):
            if span is not None:
                batch_rows.append(position)
                batch_spans.append(span)
                owners.append((text, m))
    if not owners:
        return None, owners
    return EntitySpans(torch.tensor(batch_rows), torch.tensor(batch_spans)), owners


def _entity_score(
    names: list[str], probabilities: list[float], *, from_mention: bool
) -> EntityScore:
    """Label, confidence, score (p(pos) - p(neg)) and rounded probabilities of one sentiment
    distribution: a mention's, or the story's standing in for a mention (from_mention=False)."""
    best = max(range(len(probabilities)), key=probabilities.__getitem__)
    by_name = dict(zip(names, probabilities, strict=True))
    return EntityScore(
        sentiment=names[best],
        confidence=round(probabilities[best], 5),
        score=round(by_name.get("positive", 0.0) - by_name.get("negative", 0.0), 5),
        probabilities={n: round(p, 5) for n, p in by_name.items()},
        from_mention=from_mention,
    )
