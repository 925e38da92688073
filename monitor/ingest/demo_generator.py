"""Generates the demo feed, `demo_feed.jsonl`: a day of synthetic wire headlines ending in a
negative burst on one topic. A development tool: `monitor up` only reads the file
(`monitor.ingest.demo.load_demo_feed`).

A trailing day of background news across all 20 topics gives the spike detector its baseline,
a burst of ~40 bank-failure stories (bank shares crashing: topic Stock Movement) in the last
ten minutes makes it fire, and a few corrections (same `source` + `id`, new headline) exercise
updates. The words (fictional companies, brokers and people, example.com URLs, so the demo can
never be mistaken for real news) and the headline templates are data, in
`demo_templates.toml`; this module fills them with a fixed seed. Regenerate the file with
`python -m monitor.ingest.demo_generator --write` after changing either (a test checks that
the committed file matches). Times are stored relative to a fixed anchor and shifted to "now"
when the feed is loaded.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.ingest.demo import demo_feed_path, rfc3339
from monitor.nlp.labels import TOPICS

SEED = 20260115
ANCHOR = datetime(2026, 1, 15, 15, 0, tzinfo=UTC)  # the last story's time in the file
BACKGROUND_STORIES = 350
BACKGROUND_SPAN = timedelta(hours=24)
BURST_TOPIC = "Stock Movement"
BURST_STORIES = 42
BURST_SPAN = timedelta(minutes=10)
CORRECTIONS = 6
TONES = ("negative", "neutral", "positive")
SOURCES = (("newswire", 0.55), ("wire-b", 0.3), ("blog", 0.15))
DOMAINS = {
    "newswire": "newswire.example.com",
    "wire-b": "wireb.example.net",
    "blog": "blog.example.org",
}

_WORDS = tomllib.loads(Path(__file__).with_name("demo_templates.toml").read_text("utf-8"))
_NAMES: dict[str, list[Any]] = _WORDS["names"]
COMPANIES, BANKS, MINERS = _NAMES["companies"], _NAMES["banks"], _NAMES["miners"]
COMPANY_SECTORS: dict[str, str] = _WORDS["names"]["company_sectors"]
# {topic: (negative, neutral, positive) headline templates}
TEMPLATES: dict[str, tuple[list[str], ...]] = {
    topic: tuple(per_tone[tone] for tone in TONES)
    for topic, per_tone in _WORDS["templates"].items()
}
FAILED_BANK: list[str] = _WORDS["burst"]["failed_bank"]  # [name, ticker]
BURST_TEMPLATES: list[str] = _WORDS["burst"]["templates"]
BODIES: dict[str, list[str]] = _WORDS["bodies"]


@dataclass
class DemoStory:
    """One line of the feed plus what it was generated as (tests check coverage and tone)."""

    record: dict[str, Any]
    topic: str
    tone: str
    sent_at: datetime  # position in the replay; a correction is sent after its original
    template: str = ""
    fill: dict[str, Any] = field(default_factory=dict)


def write_demo_dictionary(base: Path, out: Path) -> Path:
    """`base` (an entity dictionary CSV) plus the demo feed's fictional listed companies, written
    to `out`: what `monitor up` resolves entities with unless MONITOR_ENTITIES__DICTIONARY is set,
    so the demo's companies get names, sectors and Company pages like real ones."""
    rows = [
        f"{ticker},{name},,{COMPANY_SECTORS[ticker]}" for name, ticker in COMPANIES + BANKS + MINERS
    ]
    text = base.read_text("utf-8").rstrip("\n")
    out.write_text(
        text + "\n# the demo feed's fictional companies (monitor up)\n" + "\n".join(rows) + "\n",
        "utf-8",
    )
    return out


def _fillers(rng: random.Random) -> dict[str, Any]:
    (co, tk), (co2, tk2) = rng.sample(COMPANIES, 2)
    bank, bank_tk = rng.choice(BANKS)
    miner, miner_tk = rng.choice(MINERS)
    eps = rng.uniform(0.2, 4.5)
    # One draw per name list, always in this order: the seed fixes the feed only if they do.
    names = {
        key: rng.choice(_NAMES[plural])
        for key, plural in (
            ("newco", "newcos"), ("firm", "firms"), ("person", "people"),
            ("country", "countries"), ("cur", "currencies"), ("month", "months"),
            ("q", "quarters"), ("day", "days"), ("index", "indexes"), ("region", "regions"),
            ("sector", "sectors"), ("cb", "central_banks"), ("official", "officials"),
        )
    }  # fmt: skip
    return {
        "co": co, "tk": tk, "co2": co2, "tk2": tk2, "bank": bank, "bank_tk": bank_tk,
        "miner": miner, "miner_tk": miner_tk, **names,
        "pct": f"{rng.uniform(1.1, 8.9):.1f}", "move": f"{rng.uniform(0.4, 2.9):.1f}",
        "big": rng.randrange(12, 46),
        "pt": rng.randrange(18, 420), "bn": f"{rng.uniform(0.5, 12):.1f}",
        "div": f"{rng.uniform(0.1, 1.6):.2f}", "eps": f"{eps:.2f}",
        "eps2": f"{eps * rng.uniform(0.97, 1.03):.2f}", "n": rng.randrange(4, 16),
        "rate": f"{rng.randrange(8, 20) * 0.25:.2f}", "unemp": f"{rng.uniform(4.1, 4.9):.1f}",
        "gdp": f"{rng.uniform(1.2, 3.4):.1f}", "claims": rng.randrange(205, 260),
        "jobs": rng.randrange(140, 320), "rigs": rng.randrange(470, 520),
        "gold": f"{rng.randrange(25, 34) * 100:,}", "cents": rng.randrange(8, 40),
    }  # fmt: skip


def _tickers(template: str, fill: dict[str, Any]) -> list[str]:
    keys = (("{co}", "tk"), ("{co2}", "tk2"), ("{bank}", "bank_tk"), ("{miner}", "miner_tk"))
    tickers = [fill[tk] for placeholder, tk in keys if placeholder in template]
    if FAILED_BANK[0].split()[0] in template:  # "Harborview"
        tickers.insert(0, FAILED_BANK[1])
    return tickers


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def _record(
    rng: random.Random, seq: int, headline: str, tone: str, **fields: Any
) -> dict[str, Any]:
    source = rng.choices([s for s, _ in SOURCES], [w for _, w in SOURCES])[0]
    story_id = {"newswire": f"nw-{seq:06d}", "wire-b": f"WB{seq:08d}", "blog": f"post-{seq}"}
    record: dict[str, Any] = {"id": story_id[source], "headline": headline}
    if rng.random() < 0.45:
        record["body"] = f"{_sentence(headline)} {rng.choice(BODIES[tone])}"
    url = f"https://{DOMAINS[source]}/story/{story_id[source]}/{_slug(headline)}"
    return {**record, "source": source, **fields, "url": url, "lang": "en"}


def _sentence(headline: str) -> str:
    return headline if headline.endswith((".", "?", "!")) else headline + "."


def _story(
    rng: random.Random, seq: int, topic: str, tone: str, template: str, at: datetime
) -> DemoStory:
    fill = _fillers(rng)
    headline = template.format(**fill)
    record = _record(
        rng, seq, headline, tone, published_at=rfc3339(at), tickers=_tickers(template, fill)
    )
    return DemoStory(record, topic, tone, sent_at=at, template=template, fill=fill)


def _unique(make: Callable[[], DemoStory], seen: set[str]) -> DemoStory:
    """Draw until the headline is new, ignoring figures at first: a wire that repeats "Gold
    drops 1.7%" as "Gold drops 6.2%" an hour later reads as fake. Falls back to exact text."""
    for attempt in range(2000):
        story = make()
        headline = story.record["headline"]
        gist = re.sub(r"[0-9.,]+", "#", headline)
        if headline not in seen and (gist not in seen or attempt >= 300):
            seen.update((headline, gist))
            return story
    raise RuntimeError("templates too few for a feed of unique headlines: add some")


def _background(rng: random.Random, seen: set[str]) -> list[DemoStory]:
    span_s = (BACKGROUND_SPAN - BURST_SPAN).total_seconds()
    start = ANCHOR - BACKGROUND_SPAN
    times = sorted(
        start + timedelta(seconds=rng.uniform(0, span_s)) for _ in range(BACKGROUND_STORIES)
    )
    # A few ordinary stories keep arriving during the burst, as they would on a real wire.
    times[-4:] = sorted(ANCHOR - timedelta(seconds=rng.uniform(30, 590)) for _ in range(4))
    # Every topic in turn (shuffled per round) so each gets a baseline of its own.
    topics: list[str] = []
    while len(topics) < BACKGROUND_STORIES:
        topics += rng.sample(TOPICS, len(TOPICS))
    stories = []
    for seq, (at, topic) in enumerate(zip(times, topics, strict=False), start=1):

        def make(at: datetime = at, topic: str = topic, seq: int = seq) -> DemoStory:
            tone = rng.choices(TONES, (0.3, 0.4, 0.3))[0]
            template = rng.choice(TEMPLATES[topic][TONES.index(tone)])
            return _story(rng, seq, topic, tone, template, at)

        stories.append(_unique(make, seen))
    return stories


def _burst(rng: random.Random, first_seq: int, seen: set[str]) -> list[DemoStory]:
    offsets = sorted(rng.uniform(0, BURST_SPAN.total_seconds()) for _ in range(BURST_STORIES - 1))
    times = [ANCHOR - BURST_SPAN + timedelta(seconds=s) for s in offsets] + [ANCHOR]
    stories = []
    for seq, at in enumerate(times, start=first_seq):

        def make(at: datetime = at, seq: int = seq) -> DemoStory:
            template = rng.choice(BURST_TEMPLATES)
            return _story(rng, seq, BURST_TOPIC, "negative", template, at)

        stories.append(_unique(make, seen))
    return stories


NUMBERS = ("pct", "big", "pt", "bn", "div", "eps", "eps2", "n", "rate", "unemp", "gdp", "claims")


def _corrections(rng: random.Random, stories: list[DemoStory]) -> list[DemoStory]:
    """Re-send a few stories later: fixed figures ("CORRECTED-") or an expanded update."""
    candidates = [s for s in stories if s.sent_at < ANCHOR - timedelta(hours=1)]
    out = []
    for original in sorted(rng.sample(candidates, CORRECTIONS), key=lambda s: s.sent_at):
        redrawn = _fillers(rng)
        fill = {**original.fill, **{key: redrawn[key] for key in NUMBERS}}
        old = original.record["headline"]
        headline = original.template.format(**fill)
        headline = f"CORRECTED-{headline}" if headline != old else f"UPDATE 1-{old}"
        note = "Corrects figures" if headline.startswith("CORRECTED") else "Adds details"
        record = {
            **original.record,
            "headline": headline,
            "body": f"{_sentence(headline)} ({note}.)",
        }
        sent_at = original.sent_at + timedelta(minutes=rng.uniform(5, 40))
        out.append(DemoStory(record, original.topic, original.tone, sent_at, original.template))
    return out


def build_feed() -> list[DemoStory]:
    """The whole feed in replay order; deterministic (fixed seed, fixed anchor time)."""
    rng = random.Random(SEED)
    seen: set[str] = set()
    background = _background(rng, seen)
    burst = _burst(rng, len(background) + 1, seen)
    stories = background + burst + _corrections(rng, background)
    # Stable sort: the last line is the burst's final story, exactly at ANCHOR.
    return sorted(stories, key=lambda s: s.sent_at)


def render_feed(stories: list[DemoStory]) -> str:
    """JSONL text of the feed, one compact object per line."""
    return "".join(json.dumps(s.record, ensure_ascii=False) + "\n" for s in stories)


def main(argv: list[str] | None = None) -> int:
    """`python -m monitor.ingest.demo_generator [--write | --check]`: regenerate or verify."""
    parser = argparse.ArgumentParser(
        prog="python -m monitor.ingest.demo_generator", description=__doc__
    )
    parser.add_argument("--write", action="store_true", help="rewrite demo_feed.jsonl")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    stories = build_feed()
    text = render_feed(stories)
    path = demo_feed_path()
    if args.write:
        path.write_text(text, encoding="utf-8")
    elif args.check and (not path.exists() or path.read_text(encoding="utf-8") != text):
        print(f"{path} is stale: python -m monitor.ingest.demo_generator --write", file=sys.stderr)
        return 1
    burst = [s for s in stories if s.sent_at >= ANCHOR - BURST_SPAN and s.topic == BURST_TOPIC]
    print(f"{len(stories)} stories, burst: {len(burst)} x {BURST_TOPIC} in {BURST_SPAN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
