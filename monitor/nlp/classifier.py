"""Batched inference: a list of texts in, one Prediction per text out, in the same order.

The whole batch is tokenized in one call, sorted by length (less padding per forward), run under
`torch.inference_mode()` on the device chosen once at construction (`cuda` with fp16 autocast
when present), and put back in the caller's order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from monitor.errors import ConfigError
from monitor.nlp.checkpoint import Checkpoint, load_checkpoint
from monitor.nlp.text import normalize
from monitor.nlp.tokenizer import encode
from monitor.settings import ModelSettings


@dataclass(frozen=True)
class Prediction:
    topic: str
    topic_confidence: float
    sentiment: str
    sentiment_confidence: float
    sentiment_score: float  # p(positive) - p(negative), in [-1, 1]
    probabilities: dict[str, dict[str, float]]


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
        mixed_precision: bool = True,
    ) -> None:
        self.version = checkpoint.version
        self.topics = checkpoint.topics
        self.sentiments = checkpoint.sentiments
        self.device = pick_device(device)
        self.batch_size = batch_size
        self.max_length = max_length or checkpoint.max_length
        self.autocast = mixed_precision and self.device.type == "cuda"  # fp16 only pays on GPU
        model = checkpoint.model.eval()
        if quantize and self.device.type == "cpu":
            model = torch.ao.quantization.quantize_dynamic(
                model, {torch.nn.LSTM, torch.nn.Linear}, dtype=torch.qint8
            )
            self.version += "+int8"
        self.model = model.to(self.device)

    @classmethod
    def from_settings(cls, settings: ModelSettings) -> Classifier:
        return cls(
            load_checkpoint(settings.checkpoint),
            device=settings.device,
            batch_size=settings.batch_size,
            max_length=settings.max_length,
            quantize=settings.quantize,
        )

    def predict_texts(self, texts: list[str]) -> list[Prediction]:
        """Labels for raw texts (normalised here, as in training)."""
        return self.predict_normalized([normalize(t) for t in texts])

    def predict_normalized(
        self, texts: list[str], timings: dict[str, float] | None = None
    ) -> list[Prediction]:
        """Labels for already-normalised texts; `timings` gets tokenize/model seconds."""
        if not texts:
            return []
        topic_p, sentiment_p = self.probabilities(texts, timings)
        return [
            self._prediction(t, s)
            for t, s in zip(topic_p.tolist(), sentiment_p.tolist(), strict=True)
        ]

    def probabilities(
        self, texts: list[str], timings: dict[str, float] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(N, n_topics) and (N, n_sentiments) softmax probabilities on CPU, in input order."""
        started = time.perf_counter()
        encoded = encode(texts, max_length=self.max_length)
        tokenized = time.perf_counter()
        order = torch.argsort(encoded.lengths, descending=True)
        topic_parts, sentiment_parts = [], []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                rows = order[start : start + self.batch_size]
                lengths = encoded.lengths[rows]
                ids = encoded.input_ids[rows, : int(lengths.max())].to(
                    self.device, non_blocking=True
                )
                with torch.autocast(
                    "cuda", dtype=torch.float16, enabled=self.device.type == "cuda"
                ):
                    out = self.model(ids, lengths.to(self.device))
                topic_parts.append(out.topic_logits.float().softmax(-1).cpu())
                sentiment_parts.append(out.sentiment_logits.float().softmax(-1).cpu())
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(len(order))
        if timings is not None:
            timings["tokenize"] = tokenized - started
            timings["model"] = time.perf_counter() - tokenized
        return torch.cat(topic_parts)[inverse], torch.cat(sentiment_parts)[inverse]

    def _prediction(self, topic_p: list[float], sentiment_p: list[float]) -> Prediction:
        t = max(range(len(topic_p)), key=topic_p.__getitem__)
        s = max(range(len(sentiment_p)), key=sentiment_p.__getitem__)
        by_name = dict(zip(self.sentiments, sentiment_p, strict=True))
        return Prediction(
            topic=self.topics[t],
            topic_confidence=round(topic_p[t], 5),
            sentiment=self.sentiments[s],
            sentiment_confidence=round(sentiment_p[s], 5),
            sentiment_score=round(by_name.get("positive", 0.0) - by_name.get("negative", 0.0), 5),
            probabilities={
                "topic": {n: round(p, 5) for n, p in zip(self.topics, topic_p, strict=True)},
                "sentiment": {n: round(p, 5) for n, p in by_name.items()},
            },
        )
