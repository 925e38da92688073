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
        (b"[" * 4_000 + b"]" * 4_000, "nested deeper than 32 levels"),
        (b'{"id": "a", "headline": ' + b"[" * 40 + b"]" * 40 + b"}", "nested deeper than"),
        (b'{"id": "a", "headline": "h", "n": ' + b"1" * 5000 + b"}", "64-bit range"),
        (b'{"id": "a", "headline": "h", "n": 1e400}', "too large to store"),
        (b'{"id": "a", "headline": "h", "n": NaN}', "NaN is not a number"),
        (encode({"id": "a", "headline": "h", "published_at": "9999-12-31T23:59:59Z"}), "outside"),
        (
            encode({"id": "a", "headline": "h", "published_at": "0001-01-01T00:00:00+01:00"}),
            "outside the representable range",
        ),
        (encode({"id": "a", "headline": "h", "tickers": ["T"] * 65}), "at most 64 items"),
        (encode({"id": "a", "headline": "h", "tickers": ["T" * 33]}), "tickers.0"),
        (encode({"id": "a", "headline": "h", "url": "u" * 2049}), "url: String should have"),
    ],
)
def test_malformed_records_get_readable_reasons(value: bytes | None, reason: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode(value, limits=LIMITS)
    assert reason in caught.value.reason


def test_a_long_list_of_wrong_items_is_one_short_reason() -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode(encode({"id": "a", "headline": "h", "tickers": list(range(60))}), limits=LIMITS)
    assert caught.value.reason.endswith("and 57 more")
    assert len(caught.value.reason) < 300


def test_the_kafka_time_stands_in_for_published_at_within_the_range() -> None:
    item = decode(encode({"id": "a", "headline": "h"}), timestamp_ms=1_767_225_600_000)
    assert item.published_at == datetime(2026, 1, 1, tzinfo=UTC)
    for timestamp_ms in (253_402_300_800_000, 0):  # year 10000; 1970
        with pytest.raises(InvalidMessage, match="record timestamp"):
            decode(encode({"id": "a", "headline": "h"}), timestamp_ms=timestamp_ms)
