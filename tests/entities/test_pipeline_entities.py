"""The consumer's batch step with entity resolution (`BatchProcessor.prepare`, no services):
mentions scored in the story's forward, ticker-field-only entities standing on the story's
sentiment, and one record's resolution failure dead-lettering only that record."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from monitor.entities.dictionary import load_dictionary
from monitor.entities.resolve import Resolver
from monitor.ingest.pipeline import BatchProcessor
from monitor.ingest.schema import Limits
from monitor.nlp.checkpoint import load_checkpoint
from monitor.nlp.classifier import Classifier
from monitor.settings import SHIPPED_ENTITY_DICTIONARY


def record(offset: int, **fields: Any) -> SimpleNamespace:
    value = {"id": f"s{offset}", "headline": "Quiet day", **fields}
    return SimpleNamespace(
        topic="news", partition=0, offset=offset, timestamp=int(time.time() * 1000),
        key=None, value=json.dumps(value).encode(),
    )  # fmt: skip


@pytest.fixture(scope="module")
def resolver() -> Resolver:
    return Resolver(load_dictionary(SHIPPED_ENTITY_DICTIONARY))


def processor(checkpoint: Path, resolver: Resolver | None) -> BatchProcessor:
    classifier = Classifier(load_checkpoint(checkpoint), device="cpu")
    return BatchProcessor(classifier, None, limits=Limits(), resolver=resolver)  # type: ignore[arg-type]


def test_entities_ride_on_the_story_row(entity_checkpoint: Path, resolver: Resolver) -> None:
    batch = processor(entity_checkpoint, resolver).prepare(
        [
            record(1, headline="Apple beats Microsoft as $MSFT slides", tickers=["AAPL", "JPM"]),
            record(2, headline="Pineapple prices and a target price"),
        ]
    )
    first, second = batch.rows
    assert second.entities == ()
    rows = {e.entity: e for e in first.entities}
    assert list(rows) == ["AAPL", "JPM", "MSFT"]
    apple, jpm, msft = rows["AAPL"], rows["JPM"], rows["MSFT"]
    assert (apple.mention, apple.span_start, apple.span_end, apple.matched_by) == (
        "Apple", 0, 5, "ticker",
    )  # fmt: skip
    assert apple.from_mention and msft.from_mention  # read at the mention, same forward
    assert (msft.matched_by, msft.mention) == ("cashtag", "Microsoft")
    # only in the tickers field: no span, the story's sentiment stands in
    assert (jpm.span_start, jpm.from_mention) == (None, False)
    assert (jpm.sentiment, jpm.score) == (
        first.labels["sentiment"],
        first.labels["sentiment_score"],
    )
    assert apple.sector == "Information Technology" and jpm.sector == "Financials"


def test_a_company_named_late_in_the_body_is_read_in_its_sentence(
    entity_checkpoint: Path, resolver: Resolver
) -> None:
    body = "Traders waited for the data from the central bank all morning. " * 6
    body += "Shares of Microsoft fell after the news."
    (row,) = (
        processor(entity_checkpoint, resolver)
        .prepare([record(1, headline="Apple rallies", body=body)])
        .rows
    )
    apple, msft = row.entities
    assert msft.entity == "MSFT" and msft.span_start is not None and msft.span_start > 380
    assert apple.from_mention and msft.from_mention  # past the 64 tokens, read in its sentence
    sentence = Classifier(load_checkpoint(entity_checkpoint), device="cpu").predict_normalized(
        ["Shares of Microsoft fell after the news."], mentions=[[(10, 19)]]
    )[0]
    assert msft.score == pytest.approx(sentence.entities[0].score, abs=1e-4)


def test_without_an_entity_head_the_story_sentiment_stands_in(
    tiny_checkpoint: Path, resolver: Resolver
) -> None:
    (row,) = (
        processor(tiny_checkpoint, resolver).prepare([record(1, headline="Apple rallies")]).rows
    )
    (apple,) = row.entities
    assert apple.span_start == 0 and not apple.from_mention
    assert apple.sentiment == row.labels["sentiment"]


def test_resolution_off_gives_no_entity_rows(tiny_checkpoint: Path) -> None:
    (row,) = processor(tiny_checkpoint, None).prepare([record(1, headline="Apple rallies")]).rows
    assert row.entities == ()


def test_a_resolution_failure_dead_letters_only_its_record(
    tiny_checkpoint: Path, resolver: Resolver, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = resolver.resolve

    def fragile(text: str, tickers: Any = None) -> Any:
        if "BOOM" in text:
            raise RuntimeError("matcher exploded")
        return real(text, tickers)

    monkeypatch.setattr(resolver, "resolve", fragile)
    batch = processor(tiny_checkpoint, resolver).prepare(
        [record(1, headline="Apple BOOM"), record(2, headline="Apple rallies")]
    )
    assert [r.external_id for r in batch.rows] == ["s2"]
    assert [e.entity for e in batch.rows[0].entities] == ["AAPL"]
    (dead,) = batch.rejects.rows
    assert dead.kafka_offset == 1 and "resolve failed: RuntimeError: matcher exploded" in dead.error
    assert batch.rejects.kinds == ["resolve_failed"]


def test_absurd_entity_strings_never_crash_the_batch(
    tiny_checkpoint: Path, resolver: Resolver
) -> None:
    batch = processor(tiny_checkpoint, resolver).prepare(
        [
            record(
                1, headline="Exxon Mobil Corp. beats Chevron", tickers=["\u0007" * 20, "A" * 32]
            ),
            record(2, headline="$" + "A" * 900, body="Apple " * 15_000 + "$MSFT " * 1000),
            record(3, headline="x", tickers=["A" * 33]),  # over the contract's bound: invalid
        ]
    )
    by_id = {r.external_id: r for r in batch.rows}
    assert [e.entity for e in by_id["s1"].entities] == ["XOM", "CVX"]
    assert len(by_id["s2"].entities) <= resolver.max_per_story
    assert [d.kafka_offset for d in batch.rejects.rows] == [3]
    assert "tickers" in batch.rejects.rows[0].error
