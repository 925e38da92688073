"""Fuzz: 1,000+ malformed records of 60+ kinds (every kind that once stopped the monitor among
them) interleaved with 2,000 valid stories, through the real broker into one running
`monitor consume`. It never exits; every valid story is stored once and classified; every
malformed record is a dead letter with a non-empty reason within the cap; lag ends at 0; and
`monitor schedule --once` then runs clean over what was stored."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import cycle

import pytest

from monitor.ingest import kafka
from monitor.ingest.lag import consumer_lag
from monitor.ingest.schema import MAX_REASON_CHARS
from tests.ingest.conftest import Pipeline, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_VALID = 2_000
N_BAD = 1_200
YEAR_10000_MS = 253_402_300_800_000
MAX_BYTES = 800_000  # the consumer's limit: below the broker's 1 MiB, above 100k tickers
NOW = datetime.now(UTC)
DEEP = 10_000


def js(**fields: object) -> bytes:
    return json.dumps({"id": "x", "headline": "h", **fields}).encode()


def raw_story(text: str) -> bytes:
    return ('{"id": "x", "headline": "h", ' + text + "}").encode()


# kind -> (value, Kafka timestamp in ms or None for the producer's clock)
Malformed = Callable[[random.Random], tuple[bytes | None, int | None]]
KINDS: dict[str, Malformed] = {
    "random bytes": lambda r: (r.randbytes(r.randint(1, 400)), None),
    "truncated JSON": lambda r: (js(body="b" * 50)[: r.randint(1, 60)], None),
    "empty value": lambda r: (b"", None),
    "tombstone": lambda r: (None, None),
    "JSON null": lambda r: (b"null", None),
    "JSON array": lambda r: (b'["id", "headline"]', None),
    "JSON string": lambda r: (b'"a story"', None),
    "JSON number": lambda r: (b"42", None),
    "JSON true": lambda r: (b"true", None),
    "plain text": lambda r: (b"Fed holds rates", None),
    "latin-1 text": lambda r: (b'{"id": "x", "headline": "caf\xe9"}', None),
    "UTF-16 JSON": lambda r: ('{"id": "x", "headline": "h"}'.encode("utf-16"), None),
    "BOM then JSON": lambda r: (b"\xef\xbb\xbf" + js(), None),
    "NUL in headline": lambda r: (raw_story('"x2": 1, "headline": "a\\u0000b"'), None),
    "NUL in unknown field": lambda r: (raw_story('"note": "\\u0000"'), None),
    "NUL in a key": lambda r: (raw_story('"k\\u0000": 1'), None),
    "lone surrogate in headline": lambda r: (raw_story('"x2": 1, "headline": "\\ud800"'), None),
    "lone surrogate in a key": lambda r: (raw_story('"\\udfff": 1'), None),
    "10k-deep array": lambda r: (b"[" * DEEP + b"]" * DEEP, None),
    "10k-deep object": lambda r: (b'{"a":' * DEEP + b"1" + b"}" * DEEP, None),
    "10k-deep headline": lambda r: (
        b'{"id": "x", "headline": ' + b"[" * DEEP + b"]" * DEEP + b"}",
        None,
    ),
    "10k-deep unknown field": lambda r: (raw_story('"x2": ' + "[" * DEEP + "]" * DEEP), None),
    "33 levels deep": lambda r: (raw_story('"x2": ' + "[" * 33 + "]" * 33), None),
    "5,000-digit integer": lambda r: (raw_story('"n": ' + "7" * 5000), None),
    "5,000-digit headline": lambda r: (b'{"id": "x", "headline": ' + b"9" * 5000 + b"}", None),
    "integer past 64 bits": lambda r: (raw_story('"n": 18446744073709551616'), None),
    "float overflow": lambda r: (raw_story('"n": 1e400'), None),
    "negative float overflow": lambda r: (raw_story('"n": -1e400'), None),
    "NaN": lambda r: (raw_story('"n": NaN'), None),
    "Infinity": lambda r: (raw_story('"n": Infinity'), None),
    "year 1 with offset": lambda r: (js(published_at="0001-01-01T00:00:00+01:00"), None),
    "year 9999 with offset": lambda r: (js(published_at="9999-12-31T23:59:59-01:00"), None),
    "year 9999": lambda r: (js(published_at="9999-12-31T23:59:59Z"), None),
    "before 1990": lambda r: (js(published_at="1989-12-31T23:59:59Z"), None),
    "two days ahead": lambda r: (
        js(published_at=(NOW + timedelta(days=2)).isoformat()),
        None,
    ),
    "no UTC offset": lambda r: (js(published_at="2026-01-01T10:00:00"), None),
    "not a time": lambda r: (js(published_at="yesterday"), None),
    "time as number": lambda r: (js(published_at=1_700_000_000), None),
    "huge time string": lambda r: (js(published_at="2" * 100_000), None),
    "Kafka time in year 10000": lambda r: (js(), YEAR_10000_MS),
    "Kafka time 1970": lambda r: (js(), 1),
    "missing id": lambda r: (b'{"headline": "h"}', None),
    "missing headline": lambda r: (b'{"id": "x"}', None),
    "empty headline": lambda r: (js(headline=""), None),
    "blank headline": lambda r: (js(headline=" \n\t "), None),
    "headline too long": lambda r: (js(headline="h" * 1001), None),
    "id too long": lambda r: (js(id="i" * 257), None),
    "id as number": lambda r: (js(id=7), None),
    "id empty": lambda r: (js(id=""), None),
    "headline as list": lambda r: (js(headline=["h"]), None),
    "headline as object": lambda r: (js(headline={"text": "h"}), None),
    "headline as number": lambda r: (js(headline=3.5), None),
    "body as number": lambda r: (js(body=1), None),
    "body too long": lambda r: (js(body="b" * 100_001), None),
    "source empty": lambda r: (js(source=""), None),
    "source too long": lambda r: (js(source="s" * 129), None),
    "source as list": lambda r: (js(source=["a"]), None),
    "url as number": lambda r: (js(url=5), None),
    "url too long": lambda r: (js(url="https://x.test/" + "u" * 2100), None),
    "tickers as string": lambda r: (js(tickers="AAPL"), None),
    "100k integer tickers": lambda r: (js(tickers=list(range(100_000))), None),
    "65 tickers": lambda r: (js(tickers=["T"] * 65), None),
    "ticker too long": lambda r: (js(tickers=["T" * 33]), None),
    "empty ticker": lambda r: (js(tickers=[""]), None),
    "lang too long": lambda r: (js(lang="l" * 33), None),
    "lang as bool": lambda r: (js(lang=True), None),
    "duplicate key, last wrong": lambda r: (b'{"id": "x", "headline": "h", "id": 5}', None),
    "trailing garbage": lambda r: (js() + b" trailing", None),
    "raw newline in string": lambda r: (b'{"id": "x", "headline": "a\nb"}', None),
    "single quotes": lambda r: (b"{'id': 'x', 'headline': 'h'}", None),
    "oversize": lambda r: (js(body="b" * (MAX_BYTES + 1)), None),
}

HOSTILE_VALID = [
    "[Renew your session](https://evil.example/login) ![x](https://evil.example/x.png)",
    "<script>alert(1)</script> <img src=x onerror=alert(1)>",
    "Ölpreis fällt — 原油价格下跌 — النفط ينخفض 📉",
    "Zero\u200bwidth and combining e\u0301 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
]


def valid(i: int, rng: random.Random) -> tuple[bytes, int | None]:
    story: dict[str, object] = {
        "id": f"fuzz-{i}",
        "headline": f"{HOSTILE_VALID[i % len(HOSTILE_VALID)]} {i}"
        if i % 7 == 0
        else f"Company {i} shares {'fall' if i % 3 else 'rise'} after results",
        "source": rng.choice(["newswire", "wire-2", "csv"]),
    }
    if i % 2:
        story["published_at"] = (NOW - timedelta(minutes=rng.randint(0, 600))).isoformat()
    if i % 5 == 0:
        story.update(body="b " * 500, tickers=["AAPL", "MSFT"], url=f"https://news.test/{i}")
    if i % 11 == 0:
        story["desk"] = {"region": {"a": [1, 2.5, None, True, "x"] * 3}, "n": -(2**63)}
    return json.dumps(story, ensure_ascii=i % 2 == 0).encode(), None


def records() -> tuple[list[tuple[bytes, bytes | None, int | None]], dict[str, int]]:
    """(key, value, timestamp) in send order, and how many of each malformed kind."""
    rng = random.Random(20261126)
    kinds = cycle(KINDS.items())
    sent: dict[str, int] = {}
    out: list[tuple[bytes, bytes | None, int | None]] = []
    bad_every = N_VALID / N_BAD
    bad = 0
    for i in range(N_VALID):
        out.append((f"fuzz-{i}".encode(), *valid(i, rng)))
        while bad < (i + 1) / bad_every:
            name, make = next(kinds)
            if name == "oversize" and sent.get(name, 0) >= 3:
                name, make = next(kinds)  # three 800 kB records prove it; no need for more
            out.append((f"bad-{bad}".encode(), *make(rng)))
            sent[name] = sent.get(name, 0) + 1
            bad += 1
    return out, sent


def test_fuzzed_stream_never_stops_the_consumer(pipeline: Pipeline) -> None:
    stream, kinds = records()
    n_bad = sum(kinds.values())
    assert len(kinds) >= 50 and n_bad >= 1_000

    producer = kafka.make_producer(pipeline.kafka)
    sent = [
        producer.send(pipeline.topic, key=key, value=value, timestamp_ms=timestamp_ms)
        for key, value, timestamp_ms in stream
    ]
    producer.flush()
    for future in sent:
        future.get(timeout=60)  # every record is on the broker
    producer.close()

    consumer = pipeline.start_consumer(MONITOR_KAFKA__MAX_MESSAGE_BYTES=str(MAX_BYTES))

    def lag() -> int:
        return sum(consumer_lag(pipeline.bootstrap, pipeline.topic, pipeline.group).values())

    wait_until(lambda: lag() == 0, timeout_s=300, what="lag 0", logs=pipeline.logs)
    assert consumer.poll() is None, f"the consumer exited\n{pipeline.logs()}"

    scalar = pipeline.scalar
    assert scalar("SELECT count(*) FROM stories") == N_VALID
    assert scalar("SELECT count(DISTINCT external_id) FROM stories") == N_VALID
    assert scalar("SELECT max(version) FROM stories") == 1
    assert scalar("SELECT count(*) FROM classifications WHERE is_current") == N_VALID
    assert scalar("SELECT count(*) FROM dead_letters") == n_bad
    assert scalar("SELECT count(DISTINCT key) FROM dead_letters") == n_bad
    assert scalar("SELECT count(*) FROM dead_letters WHERE key NOT LIKE 'bad-%'") == 0
    assert scalar("SELECT min(length(error)) FROM dead_letters") > 0
    assert scalar("SELECT max(length(error)) FROM dead_letters") <= MAX_REASON_CHARS
    assert (
        scalar(
            "SELECT count(*) FROM stories WHERE published_at NOT BETWEEN '1990-01-01' "
            "AND now() + interval '1 day'"
        )
        == 0
    )

    schedule = subprocess.run(
        [sys.executable, "-m", "monitor", "schedule", "--once"],
        env=pipeline.env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert schedule.returncode == 0, schedule.stderr
    summary = json.loads(schedule.stdout.strip().splitlines()[-1])
    assert summary["rollup_hours"] >= 1 and summary["scopes_evaluated"] >= 1
    assert "Traceback" not in schedule.stderr
