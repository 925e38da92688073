"""Logging set-up: one line per event, JSON for log shippers or a compact form for people.

Call sites log with context as `extra=` fields rather than formatting it into the message
(`log.info("batch done", extra={"records": 128, "partition": 3})`), so the JSON form stays
queryable and the human form still shows the values as `key=value`.
"""

from __future__ import annotations

import json as jsonlib
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from monitor.errors import ConfigError

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RESERVED = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}

_HANDLER_NAME = "monitor"

# Every log line is bounded: a message may quote what a producer sent (a reason, an error
# text), and one record must not be able to write megabytes to the log.
MAX_MESSAGE_CHARS = 2000
MAX_TRACEBACK_CHARS = 8000

# Libraries whose INFO output is per-connection chatter: kept at WARNING unless we ask for DEBUG.
_NOISY = ("kafka", "urllib3", "httpx", "httpcore", "alembic", "apscheduler.executors")


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RESERVED and not k.startswith("_")}


def _timestamp(record: logging.LogRecord) -> str:
    stamp = datetime.fromtimestamp(record.created, tz=UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "msg", ...extra}`; tracebacks go in `exc` to stay one line."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": bounded(record.getMessage()),
        }
        for key, value in _extras(record).items():
            event.setdefault(key, value if isinstance(value, int | float) else bounded(value))
        if record.exc_info:
            event["exc"] = _traceback(self, record)
        if record.stack_info:
            event["stack"] = self.formatStack(record.stack_info)
        return jsonlib.dumps(event, default=str, ensure_ascii=False)


class HumanFormatter(logging.Formatter):
    """`10:09:49.123 INFO  monitor.ingest: batch done records=128 partition=3`."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, tz=UTC).strftime("%H:%M:%S.%f")[:-3]
        line = f"{stamp} {record.levelname:<5} {record.name}: {bounded(record.getMessage())}"
        fields = " ".join(f"{k}={_human_value(v)}" for k, v in _extras(record).items())
        if fields:
            line = f"{line} {fields}"
        if record.exc_info:
            line = f"{line}\n{_traceback(self, record)}"
        return line


def bounded(value: Any, limit: int = MAX_MESSAGE_CHARS, *, keep_end: bool = False) -> str:
    """`value` as text of about `limit` characters at most; a traceback keeps its end."""
    text = str(value)
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    if keep_end:
        return f"[{cut} characters cut]…{text[-limit:]}"
    return f"{text[:limit]}…[{cut} characters cut]"


def _traceback(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    assert record.exc_info
    return bounded(formatter.formatException(record.exc_info), MAX_TRACEBACK_CHARS, keep_end=True)


def _human_value(value: Any) -> str:
    text = bounded(value)
    return repr(text) if (" " in text or not text) else text


def configure_logging(level: str, json: bool, stream: TextIO | None = None) -> None:
    """Route all logging to `stream` (stderr) in one format; safe to call more than once."""
    numeric = logging.getLevelName(level.strip().upper())
    if not isinstance(numeric, int):
        raise ConfigError("MONITOR_LOG_LEVEL", f"unknown level {level!r}")
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if json else HumanFormatter())
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    # Replace only our own handler, so a second call doesn't double lines and test harnesses
    # (pytest's caplog) keep theirs.
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in _NOISY:
        quiet = numeric if numeric <= logging.DEBUG else max(numeric, logging.WARNING)
        logging.getLogger(name).setLevel(quiet)
    logging.captureWarnings(True)
