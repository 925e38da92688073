"""The message contract: what is accepted, and the reason stored for what is not."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from monitor.errors import InvalidMessage
from monitor.ingest.schema import Limits, decode

LIMIT = 10_000
LIMITS = Limits(max_bytes=LIMIT)


def encode(obj: object) -> bytes:
    return json.dumps(obj).encode()


def test_minimal_story_gets_defaults() -> None:
    item = decode(encode({"id": "a1", "headline": "Fed holds rates"}), limits=LIMITS)
    assert (item.id, item.headline, item.source, item.published_at) == (
        "a1",
        "Fed holds rates",
        "unknown",
        None,
    )


def test_full_story_keeps_unknown_fields() -> None:
    item = decode(
        encode(
            {
                "id": "a1",
                "headline": "h",
                "body": "b",
                "source": "newswire",
                "published_at": "2026-03-01T09:30:00-05:00",
                "url": "https://x.test/1",
                "tickers": ["AAPL"],
                "lang": "en",
                "desk": {"region": "US"},
            }
        ),
        limits=LIMITS,
    )
    assert item.published_at == datetime(2026, 3, 1, 14, 30, tzinfo=UTC)
    assert item.tickers == ["AAPL"]
    assert item.extra == {"desk": {"region": "US"}}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "tombstone"),
        (b"x" * (LIMIT + 1), "oversize"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a JSON object: got list"),
        (b'"just a string"', "not a JSON object: got str"),
        (encode({"id": "a"}), "headline: required field is missing"),
        (encode({"headline": "h"}), "id: required field is missing"),
        (encode({"id": "a", "headline": ""}), "headline: String should have at least 1"),
        (encode({"id": "a", "headline": "   "}), "headline is blank"),
        (encode({"id": 7, "headline": "h"}), "id: Input should be a valid string"),
        (encode({"id": "a", "headline": ["h"]}), "headline: Input should be a valid string"),
        (encode({"id": "a", "headline": "h", "tickers": "AAPL"}), "tickers"),
        (encode({"id": "a", "headline": "h" * 1001}), "headline: String should have at most"),
        (encode({"id": "a" * 257, "headline": "h"}), "id: String should have at most"),
        (encode({"id": "a", "headline": "h", "published_at": "soon"}), "not an RFC 3339 time"),
        (encode({"id": "a", "headline": "h", "published_at": "2026-01-01T10:00:00"}), "no UTC"),
        (encode({"id": "a", "headline": "h\u0000"}), "NUL character"),
        (b'{"id": "a", "headline": "h", "x": "\\ud800"}', "surrogate"),
    ],
)
def test_malformed_records_get_readable_reasons(value: bytes | None, reason: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode(value, limits=LIMITS)
    assert reason in caught.value.reason
