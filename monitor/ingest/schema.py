"""The message contract of topic `news` (docs/design.md, README "Message contract"): bytes
in, a validated NewsItem or a reason.

Everything that can be wrong with a record is decided here, in one place, and reported as an
`InvalidMessage` whose text is stored with the dead letter. Every value is bounded, so nothing a
producer sends can make a later step (the model, the database, the rollup, the detector, a log
line) fail or grow without limit: sizes, string lengths, list lengths, nesting depth, numbers
and times all have limits, each named below and listed in the README.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.errors import InvalidMessage
from monitor.settings import ContractSettings

KNOWN_FIELDS = {"id", "headline", "body", "source", "published_at", "url", "tickers", "lang"}

MAX_DEPTH = 32  # nesting of objects/arrays anywhere in the message
MAX_INT = 2**63 - 1  # integers anywhere in the message: a 64-bit signed range
MAX_BODY_CHARS = 100_000
MAX_URL_CHARS = 2048
MAX_TICKERS = 64
MAX_TICKER_CHARS = 32
MAX_ERRORS_SHOWN = 3  # of a validation failure's errors, the first few make the reason
SHOWN_VALUE_CHARS = 40  # a value quoted in a reason is cut to this
MAX_REASON_CHARS = 1024  # a dead letter's reason (the raw bytes beside it keep the rest)
NO_TIMESTAMP = -1  # Kafka's "this record has no timestamp"

Ticker = Annotated[str, Field(min_length=1, max_length=MAX_TICKER_CHARS)]


@dataclass(frozen=True)
class Limits:
    """The contract's configurable bounds (settings), and the clock `published_at` is
    checked against."""

    max_bytes: int = 1_000_000
    contract: ContractSettings = field(default_factory=ContractSettings)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def check_time(self, moment: datetime, what: str) -> datetime:
        earliest, latest = self.contract.published_window(self.clock())
        if not earliest <= moment <= latest:
            raise InvalidMessage(
                f"{what} {_iso(moment)} is outside the accepted range "
                f"{_iso(earliest)} .. {_iso(latest)}",
                "out_of_range",
            )
        return moment


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class NewsItem(BaseModel):
    """One story as sent by a producer; unknown fields are kept in `extra`."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=256)
    headline: str = Field(min_length=1, max_length=1000)
    body: str | None = Field(None, max_length=MAX_BODY_CHARS)
    source: str = Field("unknown", min_length=1, max_length=128)
    published_at: datetime | None = None
    url: str | None = Field(None, max_length=MAX_URL_CHARS)
    tickers: list[Ticker] | None = Field(None, max_length=MAX_TICKERS)
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
            raise ValueError(f"{shown(value)} is not an RFC 3339 time") from None
        if parsed.tzinfo is None:
            raise ValueError(f"{shown(value)} has no UTC offset")
        try:
            return parsed.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00:00+01:00 is before year 1 in UTC
            raise ValueError(f"{shown(value)} is outside the representable range") from None


def decode(
    value: bytes | None, *, limits: Limits | None = None, timestamp_ms: int | None = None
) -> NewsItem:
    """Parse and validate one record value; raise InvalidMessage with a readable reason.

    `timestamp_ms` (the Kafka record's time) stands in for a missing `published_at`; it is held
    to the same range, so a broker's clock cannot put a story where `published_at` may not go.
    """
    limits = limits or Limits()
    if value is None:
        raise InvalidMessage("empty record: no value (tombstone)", "empty")
    if len(value) > limits.max_bytes:
        raise InvalidMessage(
            f"oversize: {len(value)} bytes > limit of {limits.max_bytes}", "oversize"
        )
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidMessage(f"not UTF-8: {exc.reason} at byte {exc.start}", "not_utf8") from None
    data = _parse(text)
    if not isinstance(data, dict):
        raise InvalidMessage(f"not a JSON object: got {type(data).__name__}", "not_object")
    problem = _unstorable_text(data)
    if problem:
        raise InvalidMessage(problem, "unstorable_text")
    known = {k: v for k, v in data.items() if k in KNOWN_FIELDS}
    extra = {k: v for k, v in data.items() if k not in KNOWN_FIELDS}
    try:
        item = NewsItem(**known, extra=extra)
    except ValidationError as exc:
        raise InvalidMessage(_describe(exc), "invalid_fields") from None
    if item.published_at is not None:
        limits.check_time(item.published_at, "published_at")
    elif timestamp_ms is not None:
        item = item.model_copy(update={"published_at": kafka_time(timestamp_ms, limits)})
    return item


def kafka_time(timestamp_ms: int, limits: Limits) -> datetime:
    """The record's broker timestamp as a time inside the contract's range (the time it is
    read when the record has none: Kafka's -1)."""
    if timestamp_ms == NO_TIMESTAMP:
        return limits.clock()
    try:
        moment = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidMessage(
            f"no published_at, and the record timestamp {timestamp_ms} ms is not a usable time",
            "out_of_range",
        ) from None
    return limits.check_time(moment, "no published_at, and the record timestamp")


def _parse(text: str) -> Any:
    """`json.loads` with the contract's bounds on depth and numbers checked first or as it
    goes, so hostile JSON is a reason, never a RecursionError or ValueError."""
    if _too_deep(text):
        raise InvalidMessage(f"nested deeper than {MAX_DEPTH} levels", "too_deep")
    try:
        return json.loads(
            text,
            parse_int=_bounded_int,
            parse_float=_finite_float,
            parse_constant=_no_constant,
        )
    except json.JSONDecodeError as exc:
        raise InvalidMessage(
            f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}", "not_json"
        ) from None
    except (RecursionError, ValueError) as exc:  # belt and braces: the scan should prevent it
        reason = f"not JSON the contract accepts: {shown(str(exc))}"
        raise InvalidMessage(reason, "not_json") from None


# An escape pair (so an escaped quote is not a quote), a quote, or a bracket.
_JSON_STRUCTURE = re.compile(r'\\.|["\[\]{}]', re.DOTALL)


def _too_deep(text: str) -> bool:
    """Whether arrays/objects nest deeper than MAX_DEPTH outside strings, scanning no further
    than needed (and not at all when there are too few brackets to get there)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    depth = 0
    in_string = False
    for match in _JSON_STRUCTURE.finditer(text):
        token = match.group()
        if token == '"':
            in_string = not in_string
        elif in_string or token[0] == "\\":
            continue
        elif token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return True
        else:
            depth -= 1
    return False


def _bounded_int(digits: str) -> int:
    if len(digits) > 20 or not -MAX_INT - 1 <= (number := int(digits)) <= MAX_INT:
        raise InvalidMessage(
            f"integer {shown(digits)} is outside the 64-bit range the contract accepts",
            "out_of_range",
        )
    return number


def _finite_float(digits: str) -> float:
    number = float(digits)
    if not math.isfinite(number):
        raise InvalidMessage(f"number {shown(digits)} is too large to store", "out_of_range")
    return number


def _no_constant(name: str) -> float:
    raise InvalidMessage(f"{name} is not a number JSON allows", "not_json")


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
    """`field: problem; field: problem` — the first few, short enough to read in the
    dashboard (a list of 100,000 wrong items is one reason, not 100,000)."""
    errors = exc.errors(include_input=False, include_url=False)
    parts = []
    for error in errors[:MAX_ERRORS_SHOWN]:
        where = ".".join(str(p) for p in error["loc"]) or "message"
        problem = error["msg"]
        if error["type"] == "missing":
            problem = "required field is missing"
        parts.append(f"{where}: {problem}")
    more = len(errors) - MAX_ERRORS_SHOWN
    if more > 0:
        parts.append(f"and {more} more")
    return "invalid fields: " + "; ".join(parts)


def shown(value: str, limit: int = SHOWN_VALUE_CHARS) -> str:
    """A producer's value quoted in a reason: repr'd, and cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")  # not whitespace, not printable


def bounded_reason(reason: str, limit: int = MAX_REASON_CHARS) -> str:
    """A dead letter's reason as the database and a log line can hold it: one line, no NUL,
    valid Unicode, at most `limit` characters (an exception's text may quote anything)."""
    text = " ".join(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", reason).split())
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    text = text or "unknown reason"
    return text if len(text) <= limit else f"{text[: limit - 1]}…"
