"""`monitor classify`: ad-hoc labels for analysts and scripts, story-level and per entity.

Texts come from the command line, a file (CSV with a `text` column, or JSONL with the message
contract's fields: `headline` and `body` are read as the consumer reads them) or stdin (one text
per line). Entities come from `--entities`, or per row from an `entities` column/field (a list,
or names separated by commas). Texts go through the same normalisation as in the consumer, and
each entity is located in the normalised text (`mentions.locate`): one that does not occur is an
error naming it, never a silent guess.

`--companies` adds what the consumer would store for the story: the companies its entity
dictionary finds in the text (and a JSONL row's `tickers`), each scored by the same rule as the
stream (`monitor.entities.score`), so an analyst can check a story before it is streamed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from itertools import islice
from typing import Any

from monitor.entities.resolve import Resolver
from monitor.entities.score import entity_rows, mention_spans
from monitor.errors import MonitorError
from monitor.nlp.classifier import Classifier, Prediction
from monitor.nlp.mentions import EntityNotFoundError, locate
from monitor.nlp.text import model_text, normalize
from monitor.store.writes import EntityRow

CHUNK = 1024  # texts per call to the classifier: output streams for long files
TEXT_WIDTH = 72  # characters of text shown in the table


@dataclass(frozen=True)
class Item:
    """One text to label: where it came from (for errors), the text, the entities asked for,
    and the message's `tickers` field (JSONL rows; read only with `--companies`)."""

    origin: str
    text: str
    entities: tuple[str, ...]
    tickers: tuple[str, ...] = ()


@dataclass(frozen=True)
class Labelled:
    """An item's labels: the story's and the asked entities' (`prediction`), and the companies
    found for it (`--companies`: one `story_entities` row each, as the consumer stores them)."""

    item: Item
    prediction: Prediction
    companies: tuple[EntityRow, ...] | None = None  # None: not asked for


def split_entities(value: object) -> tuple[str, ...]:
    """A list of names, or names separated by commas; blanks dropped."""
    names = value if isinstance(value, list) else str(value or "").split(",")
    return tuple(name for name in (str(n).strip() for n in names) if name)


def items_from_texts(
    texts: Iterable[str], entities: tuple[str, ...], origin: str
) -> Iterator[Item]:
    for number, line in enumerate(texts, 1):
        text = line.rstrip("\r\n")
        if text.strip():
            yield Item(f"{origin} {number}", text, entities)


def items_from_stories(
    stories: Iterable[dict[str, Any]], entities: tuple[str, ...], origin: str
) -> Iterator[Item]:
    """Rows of `read_stories` (CSV `text` is already renamed `headline` there)."""
    for number, story in enumerate(stories, 1):
        headline = story.get("headline")
        if not isinstance(headline, str) or not headline.strip():
            raise MonitorError(f"{origin} row {number}: no text (a `text` or `headline` field)")
        body = story.get("body")
        text = model_text(headline, body if isinstance(body, str) else None)
        own = split_entities(story["entities"]) if "entities" in story else entities
        tickers = story.get("tickers")
        tickers = tuple(str(t) for t in tickers) if isinstance(tickers, list) else ()
        yield Item(f"{origin} row {number}", text, own, tickers)


def classify(
    classifier: Classifier, items: Iterable[Item], resolver: Resolver | None = None
) -> Iterator[Labelled]:
    """Label items in chunks, locating every entity first (a missing one stops the run before
    its chunk is printed, with the row and the entity named). With a `resolver`, the companies
    it finds are scored in the same forward as the asked entities."""
    iterator = iter(items)
    while chunk := list(islice(iterator, CHUNK)):
        texts = [normalize(item.text) for item in chunk]
        mentions, found = [], []
        for item, text in zip(chunk, texts, strict=True):
            try:
                asked = [locate(text, normalize(name)) for name in item.entities]
            except EntityNotFoundError as exc:
                raise EntityNotFoundError(exc.entity, text, where=item.origin) from None
            companies = resolver.resolve(text, item.tickers) if resolver is not None else []
            mentions.append(asked + mention_spans(companies))
            found.append(companies)
        predictions = classifier.predict_normalized(texts, mentions=mentions)
        for item, prediction, companies in zip(chunk, predictions, found, strict=True):
            n = len(item.entities)  # the asked entities' scores first, then the companies'
            of_companies = replace(prediction, entities=prediction.entities[n:])
            yield Labelled(
                item,
                replace(prediction, entities=prediction.entities[:n]),
                entity_rows(companies, of_companies) if resolver is not None else None,
            )


def as_json(labelled: Labelled) -> str:
    item, prediction = labelled.item, labelled.prediction
    row: dict[str, Any] = {
        "text": item.text,
        "topic": prediction.topic,
        "topic_confidence": prediction.topic_confidence,
        "sentiment": prediction.sentiment,
        "sentiment_confidence": prediction.sentiment_confidence,
        "sentiment_score": prediction.sentiment_score,
        "entities": [
            {
                "entity": name,
                "sentiment": score.sentiment,
                "confidence": score.confidence,
                "score": score.score,
                "from_mention": score.from_mention,
            }
            for name, score in zip(item.entities, prediction.entities, strict=True)
        ],
    }
    if labelled.companies is not None:  # the stored row, less its span in the text
        row["companies"] = [
            {k: v for k, v in asdict(c).items() if not k.startswith("span_")}
            for c in labelled.companies
        ]
    return json.dumps(row, ensure_ascii=False)


TABLE_HEADER = f"{'topic':<28}{'conf':>6}  {'sentiment':<10}{'conf':>6}{'score':>8}  text"


def as_rows(labelled: Labelled) -> list[str]:
    """The story's line of the table, then one indented line per entity asked for, then one
    per company found (`--companies`)."""
    item, prediction = labelled.item, labelled.prediction
    text = " ".join(item.text.split())
    if len(text) > TEXT_WIDTH:
        text = text[: TEXT_WIDTH - 1] + "…"
    lines = [
        f"{prediction.topic[:27]:<28}{prediction.topic_confidence:>6.2f}  "
        f"{prediction.sentiment:<10}{prediction.sentiment_confidence:>6.2f}"
        f"{prediction.sentiment_score:>+8.2f}  {text}"
    ]
    for name, score in zip(item.entities, prediction.entities, strict=True):
        lines.append(
            _entity_line(name, score.sentiment, score.confidence, score.score, score.from_mention)
        )
    for c in labelled.companies or ():
        name = c.entity if c.mention == c.entity else f"{c.entity} ({c.mention})"
        lines.append(_entity_line(name, c.sentiment, c.confidence, c.score, c.from_mention))
    return lines


def _entity_line(
    name: str, sentiment: str, confidence: float, score: float, from_mention: bool
) -> str:
    note = "" if from_mention else "  (story sentiment: mention not read)"
    return f"  ↳ {name[:24]:<24}{'':>6}  {sentiment:<10}{confidence:>6.2f}{score:>+8.2f}{note}"
