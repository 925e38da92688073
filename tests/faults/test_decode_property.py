"""Property: for ANY bytes and ANY JSON value, `decode` returns a story inside the contract or
raises `InvalidMessage` with a bounded, non-empty reason — never anything else (no
RecursionError, ValueError, OverflowError...), which is what lets the consumer's one rule hold."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.errors import InvalidMessage
from monitor.ingest.schema import MAX_REASON_CHARS, Limits, NewsItem, decode

LIMITS = Limits(max_bytes=200_000)
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)
field_values = (
    json_values
    | st.text()
    | st.sampled_from(
        ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00", "2026-01-01T00:00:00Z", "", "\x00"]
    )
)
stories = st.fixed_dictionaries(
    {"id": st.text(max_size=300), "headline": st.text(max_size=1100)},
    optional={
        name: field_values
        for name in ("body", "source", "published_at", "url", "tickers", "lang", "extra_field")
    },
)


def check(value: bytes, timestamp_ms: int | None = None) -> None:
    try:
        item = decode(value, limits=LIMITS, timestamp_ms=timestamp_ms)
    except InvalidMessage as exc:
        assert 0 < len(exc.reason) <= MAX_REASON_CHARS
        assert exc.kind
        return
    assert isinstance(item, NewsItem)
    assert item.headline.strip() and item.id
    if item.published_at is not None:
        assert datetime(1990, 1, 1, tzinfo=UTC) <= item.published_at


@SETTINGS
@given(st.binary(max_size=2000))
def test_any_bytes(value: bytes) -> None:
    check(value)


@SETTINGS
@given(json_values)
def test_any_json(value: object) -> None:
    check(json.dumps(value).encode())


@SETTINGS
@given(stories, st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_any_story_shaped_object(story: dict, timestamp_ms: int) -> None:
    check(json.dumps(story).encode("utf-8", "surrogatepass"), timestamp_ms)


@SETTINGS
@given(st.integers(min_value=1, max_value=20_000), st.sampled_from(["[", '{"a":']))
def test_any_depth(depth: int, opener: str) -> None:
    closer = "]" if opener == "[" else "}"
    check(f'{{"id": "a", "headline": "h", "x": {opener * depth}1{closer * depth}}}'.encode())
