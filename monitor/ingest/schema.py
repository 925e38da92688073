"""The message contract of topic `news` (docs/design.md): bytes in, a NewsItem or a reason.

Everything that can be wrong with a record is decided here, in one place, and reported as an
`InvalidMessage` whose text is stored with the dead letter.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.errors import InvalidMessage

KNOWN_FIELDS = {"id", "headline", "body", "source", "published_at", "url", "tickers", "lang"}


class NewsItem(BaseModel):
    """One story as sent by a producer; unknown fields are kept in `extra`."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=256)
    headline: str = Field(min_length=1, max_length=1000)
    body: str | None = None
    source: str = Field("unknown", min_length=1, max_length=128)
    published_at: datetime | None = None
    url: str | None = None
    tickers: list[str] | None = None
    lang: str | None = Field(None, max_length=32)
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("headline")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("headline is blank")
        return value

    @field_validator("published_at", mode="before")
    @classmethod
    def _rfc3339(cls, value: object) -> object:
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("must be an RFC 3339 string")
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(f"{value!r} is not an RFC 3339 time") from None
        if parsed.tzinfo is None:
            raise ValueError(f"{value!r} has no UTC offset")
        return parsed.astimezone(UTC)


def decode(value: bytes | None, *, max_bytes: int) -> NewsItem:
    """Parse and validate one record value; raise InvalidMessage with a readable reason."""
    if value is None:
        raise InvalidMessage("empty record: no value (tombstone)", "empty")
    if len(value) > max_bytes:
        raise InvalidMessage(f"oversize: {len(value)} bytes > limit of {max_bytes}", "oversize")
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidMessage(f"not UTF-8: {exc.reason} at byte {exc.start}", "not_utf8") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidMessage(
            f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", "not_json"
        ) from None
    if not isinstance(data, dict):
        raise InvalidMessage(f"not a JSON object: got {type(data).__name__}", "not_object")
    problem = _unstorable_text(data)
    if problem:
        raise InvalidMessage(problem, "unstorable_text")
    known = {k: v for k, v in data.items() if k in KNOWN_FIELDS}
    extra = {k: v for k, v in data.items() if k not in KNOWN_FIELDS}
    try:
        return NewsItem(**known, extra=extra)
    except ValidationError as exc:
        raise InvalidMessage(_describe(exc), "invalid_fields") from None


def _unstorable_text(value: object) -> str | None:
    """PostgreSQL text/JSONB can't hold NUL or lone surrogates (both legal as JSON escapes)."""
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character (\\u0000), which the database cannot store"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains a lone UTF-16 surrogate escape, which is not valid Unicode text"
        return None
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for item in items:
        problem = _unstorable_text(item)
        if problem:
            return problem
    if isinstance(value, dict):
        return next(filter(None, (_unstorable_text(k) for k in value)), None)
    return None


def _describe(exc: ValidationError) -> str:
    """`field: problem; field: problem` — short enough to read in the dashboard."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "message"
        problem = error["msg"]
        if error["type"] == "missing":
            problem = "required field is missing"
        parts.append(f"{where}: {problem}")
    return "invalid fields: " + "; ".join(parts)
