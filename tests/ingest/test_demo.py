"""The demo feed: valid per the message contract, a real burst, re-timed to "now" on load."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.entities.dictionary import load_dictionary
from monitor.entities.resolve import Resolver
from monitor.ingest import demo, schema
from monitor.ingest import demo_generator as generator
from monitor.nlp.labels import TOPICS
from monitor.settings.paths import SHIPPED_ENTITY_DICTIONARY


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return demo.demo_feed_path().read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def stories() -> list[generator.DemoStory]:
    return generator.build_feed()


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_committed_file_is_what_the_generator_writes(
    lines: list[str], stories: list[generator.DemoStory]
) -> None:
    """Deterministic, and regenerated after the last change to the templates."""
    assert "\n".join(lines) + "\n" == generator.render_feed(stories)
    assert 300 <= len(lines) <= 500


def test_every_line_follows_the_message_contract(lines: list[str]) -> None:
    for number, line in enumerate(lines, start=1):
        record = json.loads(line)
        assert isinstance(record, dict), number
        assert isinstance(record["id"], str) and 1 <= len(record["id"]) <= 256, number
        assert isinstance(record["headline"], str), number
        assert 1 <= len(record["headline"].strip()) <= 1000, number
        assert record["source"] in {"newswire", "wire-b", "blog"}, number
        assert _time(record["published_at"]).tzinfo is not None, number
        assert record["published_at"].endswith("Z"), number
        assert record["url"].startswith("https://"), number
        assert all(isinstance(t, str) and t.isupper() for t in record["tickers"]), number
        assert record["lang"] == "en"
        assert isinstance(record.get("body", ""), str)


def test_all_topics_have_a_baseline_and_tones_are_mixed(stories: list[generator.DemoStory]) -> None:
    background = [s for s in stories if s.sent_at < generator.ANCHOR - generator.BURST_SPAN]
    per_topic = Counter(s.topic for s in background)
    assert set(per_topic) == set(TOPICS)
    assert min(per_topic.values()) >= 10
    tones = Counter(s.tone for s in background)
    for tone in ("negative", "neutral", "positive"):
        assert 0.2 <= tones[tone] / len(background) <= 0.5, tones


def test_the_feed_ends_with_a_negative_burst_on_one_topic(
    lines: list[str], stories: list[generator.DemoStory]
) -> None:
    last = max(_time(json.loads(line)["published_at"]) for line in lines)
    assert _time(json.loads(lines[-1])["published_at"]) == last
    recent = [s for s in stories if s.sent_at > last - timedelta(minutes=10, seconds=1)]
    burst = [s for s in recent if s.topic == generator.BURST_TOPIC]
    assert len(burst) >= 35
    assert all(s.tone == "negative" for s in burst)
    assert len(burst) / len(recent) >= 0.8
    # Before the burst the same topic looked ordinary, so the rise is a spike, not the norm.
    earlier = [s for s in stories if s.topic == generator.BURST_TOPIC and s not in recent]
    assert sum(s.tone == "negative" for s in earlier) / len(earlier) < 0.5


def test_corrections_resend_an_id_with_a_new_headline(lines: list[str]) -> None:
    first: dict[tuple[str, str], str] = {}
    corrections = 0
    for line in lines:
        record = json.loads(line)
        key = (record["source"], record["id"])
        if key in first:
            assert record["headline"] != first[key]
            corrections += 1
        else:
            first[key] = record["headline"]
    assert corrections == generator.CORRECTIONS


def test_headlines_read_like_a_wire_not_a_loop(lines: list[str]) -> None:
    headlines = [json.loads(line)["headline"] for line in lines]
    assert len(set(headlines)) == len(headlines)
    assert not any("{" in h or "}" in h for h in headlines)


def test_load_retimes_so_the_last_story_is_now(lines: list[str]) -> None:
    now = datetime(2030, 6, 1, 12, 30, 15, tzinfo=UTC)
    records = demo.load_demo_feed(now)
    times = [_time(r["published_at"]) for r in records]
    assert len(records) == len(lines)
    assert max(times) == now and times[-1] == now
    original = [_time(json.loads(line)["published_at"]) for line in lines]
    assert max(times) - min(times) == max(original) - min(original)  # spacing is kept
    assert max(times) - min(times) >= timedelta(hours=23)


def test_load_defaults_to_the_current_time_and_accepts_naive_utc() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    newest = max(_time(r["published_at"]) for r in demo.load_demo_feed())
    assert before <= newest <= datetime.now(UTC)
    naive = datetime(2030, 1, 1, 9, 0)
    assert demo.load_demo_feed(naive)[-1]["published_at"] == "2030-01-01T09:00:00Z"


def test_main_check_passes_on_the_committed_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert generator.main(["--check"]) == 0
    assert "Stock Movement" in capsys.readouterr().out


def test_every_line_passes_the_consumers_decoder(lines: list[str]) -> None:
    """The same check the consumer applies, so the demo never feeds the dead-letter table."""
    for line in lines:
        item = schema.decode(line.encode())
        assert item.headline


def test_monitor_up_resolves_the_demo_companies_like_real_ones(tmp_path: Path) -> None:
    """`monitor up`'s dictionary is the configured one plus the demo's fictional companies, so
    a demo headline naming one resolves to its ticker and sector (and S&P names still do)."""
    path = generator.write_demo_dictionary(SHIPPED_ENTITY_DICTIONARY, tmp_path / "entities.csv")
    dictionary = load_dictionary(path)
    tickers = {t for _, t in generator.COMPANIES + generator.BANKS + generator.MINERS}
    assert tickers <= {entry.ticker for entry in dictionary.entries}
    assert dictionary.sector("NWSC") == "Information Technology"
    assert dictionary.name("AAPL") is not None
    found = Resolver(dictionary).resolve("Northwind Semiconductor beats Apple on margins")
    assert [(r.entity, r.matched_by) for r in found] == [("NWSC", "name"), ("AAPL", "name")]
