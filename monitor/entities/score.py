"""The sentiment towards each company a story names, as the stream stores it.

One home for the rule the consumer and `monitor classify --companies` share: an entity with a
span in the text is read by the model's entity head at that mention (in the story's forward, or
in its own sentence when it lies past the tokens that forward reads: `Classifier.scores`); one
named only by the message's `tickers` field, or whose mention the model cannot read at all,
gets the story's sentiment, with `from_mention` False.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.entities.resolve import Resolved
from monitor.nlp.classifier import Prediction
from monitor.nlp.mentions import Span
from monitor.store.writes import EntityRow


def mention_spans(entities: Sequence[Resolved]) -> list[Span]:
    """The spans the model reads for `entities`, in order (entities without one are skipped:
    `entity_rows` gives them the story's sentiment)."""
    return [e.span for e in entities if e.span is not None]


def entity_rows(entities: Sequence[Resolved], prediction: Prediction) -> tuple[EntityRow, ...]:
    """One row per resolved entity; `prediction.entities` holds one score per `mention_spans`."""
    scores = iter(prediction.entities)
    rows = []
    for entity in entities:
        score = next(scores, None) if entity.span is not None else None
        if score is not None:
            sentiment, confidence, value = score.sentiment, score.confidence, score.score
            from_mention = score.from_mention
        else:
            sentiment, confidence = prediction.sentiment, prediction.sentiment_confidence
            value, from_mention = prediction.sentiment_score, False
        start, end = entity.span if entity.span is not None else (None, None)
        rows.append(
            EntityRow(
                entity=entity.entity,
                mention=entity.mention,
                span_start=start,
                span_end=end,
                matched_by=entity.matched_by,
                sector=entity.sector,
                sentiment=sentiment,
                confidence=confidence,
                score=value,
                from_mention=from_mention,
            )
        )
    return tuple(rows)
