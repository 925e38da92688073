"""The demo feed: a day of synthetic wire headlines ending in a negative burst on one topic.

`monitor up` and the compose `producer` replay `demo_feed.jsonl` so a fresh install shows every
part working: a trailing day of background news across all 20 topics gives the spike detector
its baseline, a burst of ~40 bank-failure stories (bank shares crashing: topic Stock Movement) in
the last ten minutes
makes it fire, and a few corrections (same `source` + `id`, new headline) exercise updates.

Companies, brokers and people are fictional (and URLs use example.com) so the demo can never be
mistaken for real news. The file is generated from templates with a fixed seed; regenerate it
with `python -m monitor.ingest.demo --write` after changing this module (a test checks that the
committed file matches). Times are stored relative to a fixed anchor and shifted to "now" by
`load_demo_feed`, so a replay always looks current.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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

COMPANIES = (
    ("Northwind Semiconductor", "NWSC"), ("Halvorsen Energy", "HLVE"),
    ("Bluepeak Pharmaceuticals", "BLPK"), ("Ardent Motors", "ARDM"), ("Lumora Software", "LUMR"),
    ("Pinecrest Retail", "PNCR"), ("Silverline Airlines", "SLVA"), ("Orion Payments", "ORPY"),
    ("Keystone Industrial", "KYST"), ("Marisol Foods", "MRSL"), ("Vantage Cloud Systems", "VCLD"),
    ("Greyhaven Insurance", "GRYH"), ("Redwater Midstream", "RDWM"), ("Atlas Rail", "ATRL"),
    ("Brightwell Telecom", "BRWT"), ("Quillon Biotech", "QLLN"), ("Sterling Hollow Homes", "SHHM"),
    ("Cobalt Bay Logistics", "CBLG"), ("Everfield Brands", "EVFB"), ("Tidewater Robotics", "TDRB"),
)  # fmt: skip
BANKS = (
    ("Crescent Ridge Bancorp", "CRBK"), ("Lakeshore Savings", "LKSV"),
    ("First Cascade Bank", "FCSB"), ("Meridian Trust", "MDTR"), ("Eastgate Capital", "EGCP"),
)  # fmt: skip
MINERS = (
    ("Tessaract Mining", "TSMN"),
    ("Ironvale Resources", "IRVR"),
    ("Copperhead Metals", "CPHM"),
)
NEWCOS = ("Kestrel AI", "Plume Health", "Arcwise Energy", "Nimbus Freight", "Solace Games")
FIRMS = (
    "Barrow & Finch",
    "Kessler Securities",
    "Ridgeway Partners",
    "Tanaka Research",
    "Holm Bank",
)
PEOPLE = ("Dana Whitfield", "Rahul Menon", "Ingrid Solberg", "Marcus Obi", "Elena Vasquez")
COUNTRIES = ("Brazil", "South Korea", "Poland", "South Africa", "Turkey", "Indonesia")
CURRENCIES = ("Swiss franc", "Australian dollar", "Mexican peso", "Korean won", "Norwegian krone")
MONTHS = ("October", "November", "December")
QUARTERS = ("third-quarter", "fourth-quarter", "Q3", "Q4")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
INDEXES = ("S&P 500", "Nasdaq", "Dow", "Russell 2000", "Stoxx 600", "Nikkei", "FTSE 100")
REGIONS = ("European", "Asian", "Emerging-market", "Japanese", "Australian")
SECTORS = ("Retail", "Airline", "Chipmaker", "Regional bank", "Homebuilder", "Utility")
CENTRAL_BANKS = ("Fed", "ECB", "Bank of England", "Bank of Canada", "Swiss National Bank")
OFFICIALS = ("Fed governor", "Richmond Fed president", "ECB policymaker", "BoE deputy governor")

# {topic: (negative, neutral, positive) headline templates}
TEMPLATES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "Analyst Update": (
        ("{firm} downgrades {co} to sell, citing slowing demand",
         "{firm} slashes {co} price target to ${pt}, sees weak guidance ahead",
         "{co} cut to underperform at {firm} on margin worries",
         "{firm} turns bearish on {co}, warns consensus estimates are too high"),
        ("{firm} initiates coverage of {co} at neutral with ${pt} target",
         "{firm} reiterates hold on {co} ahead of earnings",
         "{firm} moves {co} price target to ${pt}, keeps equal-weight",
         "Analysts split on {co} after investor day"),
        ("{firm} upgrades {co} to buy, sees {big}% upside",
         "{co} raised to outperform at {firm} on strong order book",
         "{firm} lifts {co} price target to ${pt}, citing margin expansion",
         "{firm} adds {co} to its top picks for next year"),
    ),
    "Fed | Central Banks": (
        ("{official} warns inflation fight is 'far from over', signals more hikes",
         "{cb} hawks push back on rate-cut bets as core inflation sticks",
         "{cb} minutes show officials worried about sticky services inflation",
         "{cb} surprises with rate hike; bonds sell off"),
        ("{cb} holds rates steady, keeps door open to cuts later this year",
         "{cb} leaves key rate unchanged at {rate}%",
         "Fed's Beige Book finds activity little changed across most districts",
         "{official} says policy is 'in a good place', sees no rush to move"),
        ("{cb} signals cuts ahead as inflation cools; stocks rally",
         "{cb} cuts rates by 25 basis points, hints at more easing",
         "{cb} ends tightening cycle earlier than expected",
         "{official} says soft landing is within reach"),
    ),
    "Company | Product News": (
        ("{co} delays flagship product launch on supply problems",
         "{co} halts production at main plant after fire",
         "{co} suffers global outage, customers locked out for hours",
         "{co} to cut {n},000 jobs as demand slows"),
        ("{co} to hold investor day next month",
         "{co} opens new regional headquarters in Austin",
         "{co} unveils brand refresh and new logo",
         "{co} to present at industry conference next week"),
        ("{co} wins ${bn} billion multi-year government contract",
         "{co} launches next-generation platform to strong early demand",
         "{co} signs long-term supply deal with {co2}",
         "{co} expands into {n} new markets as sales accelerate"),
    ),
    "Treasuries | Corporate Debt": (
        ("Treasury yields jump as hot inflation data dashes rate-cut hopes",
         "{co} cut to junk by rating agency, bonds tumble",
         "Weak 10-year auction sends yields to highest in months",
         "{co} pulls ${bn} billion bond sale amid market turmoil"),
        ("{co} prices ${bn} billion of senior notes in three parts",
         "Treasury to auction $42 billion of 10-year notes",
         "U.S. yields little changed ahead of jobs report",
         "Two-year yield holds near {rate}% as traders await Fed"),
        ("{co} upgraded to investment grade; bond spreads tighten",
         "Strong demand for {co} debut green bond, orders top ${bn} billion",
         "Treasuries rally as inflation cools; 10-year yield falls to {rate}%",
         "{co} refinances debt at lower rates, extends maturities"),
    ),
    "Dividend": (
        ("{co} suspends dividend to preserve cash",
         "{co} cuts quarterly dividend by {big}%",
         "{co} skips payout as losses mount"),
        ("{co} declares quarterly dividend of ${div} per share",
         "{co} keeps dividend at ${div}, in line with prior quarter",
         "{co} sets record date for quarterly payout"),
        ("{co} raises quarterly dividend {pct}%, adds ${bn} billion buyback",
         "{co} hikes dividend for {n}th straight year",
         "{co} declares special dividend of ${div} per share"),
    ),
    "Earnings": (
        ("{co} misses {q} profit estimates, cuts full-year outlook",
         "{co} swings to {q} loss as costs soar",
         "{co} revenue falls short; shares sink after hours",
         "{co} warns of weaker {q} results on soft demand"),
        ("{co} {q} results in line with expectations, reaffirms guidance",
         "{co} to report {q} earnings after the bell Thursday",
         "{co} {q} EPS ${eps} vs. ${eps2} expected; revenue flat"),
        ("{co} beats {q} estimates and raises full-year forecast",
         "{co} {q} profit jumps {big}% on record sales",
         "{co} posts surprise {q} profit, shares surge"),
    ),
    "Energy | Oil": (
        ("Oil slumps {move}% as OPEC+ signals output increase",
         "Brent falls to six-month low on demand worries",
         "{co} cuts capital spending as crude prices slide",
         "U.S. crude stocks build unexpectedly, prices drop"),
        ("Oil steady as traders weigh supply risks against demand",
         "OPEC+ to meet next week to review output policy",
         "{co} completes planned refinery maintenance",
         "U.S. oil rig count unchanged at {rigs}"),
        ("Oil jumps {move}% after surprise inventory draw",
         "{co} announces major offshore discovery",
         "Natural gas prices rally on colder weather forecasts",
         "{co} lifts production guidance after strong quarter"),
    ),
    "Financials": (
        ("{bank} sets aside more for bad loans as commercial real estate sours",
         "{bank} trading revenue falls {pct}%, missing estimates",
         "{bank} net interest income misses as deposit costs climb"),
        ("{bank} keeps deposit rates unchanged",
         "{bank} completes annual stress test",
         "Bank lending flat in latest weekly Fed data"),
        ("{bank} profit beats as investment banking fees rebound",
         "{bank} passes stress test, plans bigger buyback",
         "{bank} deposits grow {pct}% as customers return"),
    ),
    "Currencies": (
        ("Yen slides to weakest in decades, raising intervention fears",
         "{cur} tumbles after central bank surprise",
         "Emerging-market currencies hit by risk-off wave",
         "{cur} slumps {move}% to {n}-month low"),
        ("Dollar steady ahead of Fed decision",
         "Euro little changed as traders await ECB",
         "{cur} trades in tight range ahead of inflation data",
         "Dollar edges up against the {cur} in quiet {day} trade"),
        ("Pound jumps to {n}-month high on strong wage data",
         "{cur} rallies as inflation surprise boosts rate bets",
         "Yuan firms after central bank sets stronger fixing",
         "{cur} gains {move}% as risk appetite returns"),
    ),
    "General News | Opinion": (
        ("Opinion: The market is ignoring a slow-motion credit crunch",
         "Column: Why the soft-landing story may be too good to be true",
         "Consumers grow gloomier as prices bite, {day} survey shows",
         "Opinion: The {index} rally rests on a handful of stocks, and that's a problem",
         "Commentary: {sector} stocks face a reckoning as costs climb"),
        ("What to watch in markets on {day}",
         "Five things to know before {day}'s opening bell",
         "Explainer: How a rate cut would ripple through mortgages",
         "Week ahead: jobs data and earnings from big retailers",
         "Morning briefing: {index} futures, oil and the dollar"),
        ("Opinion: Why this bull market still has room to run",
         "Column: The productivity boom is finally showing up in the data",
         "Small businesses turn more optimistic, {day} survey shows",
         "Commentary: {sector} stocks are set for a comeback year"),
    ),
    "Gold | Metals | Materials": (
        ("Copper slides as China demand worries mount",
         "Gold drops {move}% as dollar strengthens",
         "{miner} cuts output guidance after mine flooding",
         "Lithium prices extend slump; miners slash jobs"),
        ("Gold holds near ${gold} an ounce ahead of inflation data",
         "Aluminum steady as traders eye tariff talks",
         "{miner} to publish quarterly production report"),
        ("Gold hits record high as haven demand surges",
         "Copper rallies to {n}-month high on supply disruptions",
         "{miner} beats production forecast; shares rise"),
    ),
    "IPO": (
        ("{newco} postpones IPO, citing market volatility",
         "{newco} prices IPO below range; shares slip in debut",
         "{newco} slashes IPO valuation amid weak demand"),
        ("{newco} files for U.S. initial public offering",
         "{newco} sets IPO terms, seeks to raise up to ${bn} billion",
         "{newco} picks banks for planned listing"),
        ("{newco} shares soar {big}% in Nasdaq debut",
         "{newco} prices IPO above range on strong demand",
         "{newco} IPO oversubscribed several times, sources say"),
    ),
    "Legal | Regulation": (
        ("{co} hit with ${bn} billion antitrust lawsuit",
         "SEC charges {co} with misleading investors",
         "{co} faces Justice Department probe over pricing practices",
         "EU fines {co} {n}00 million euros over competition breaches"),
        ("Court sets hearing date in {co} patent dispute",
         "SEC proposes new disclosure rules for climate risk",
         "{co} says it is cooperating with regulator's information request"),
        ("Judge dismisses shareholder lawsuit against {co}",
         "{co} wins patent case against {co2}",
         "Regulators clear {co} acquisition of {co2}"),
    ),
    "M&A | Investments": (
        ("{co} deal for {co2} collapses after regulators object",
         "{co} shareholders reject proposed takeover",
         "{co} writes down value of {co2} acquisition"),
        ("{co} explores sale of consumer unit, sources say",
         "{co} in early talks to buy {co2}",
         "{co} completes previously announced acquisition of {co2}"),
        ("{co} agrees to buy {co2} for ${bn} billion in cash, a {big}% premium",
         "{co2} shares soar on takeover bid from {co}",
         "{co} takes ${bn} billion stake in {co2}"),
    ),
    "Macro": (
        ("U.S. job growth slows sharply; unemployment rate rises to {unemp}%",
         "Consumer prices rise more than expected in {month}",
         "{month} retail sales fall unexpectedly as shoppers pull back",
         "Factory activity contracts for {n}th straight month"),
        ("U.S. GDP grows {gdp}% annualized, in line with forecasts",
         "Weekly jobless claims little changed at {claims},000",
         "Euro zone inflation holds at {rate}% in {month}"),
        ("U.S. economy adds {jobs},000 jobs, beating forecasts",
         "{month} inflation cools more than expected, boosting rate-cut hopes",
         "Consumer confidence jumps to {n}-month high"),
    ),
    "Markets": (
        ("Stocks tumble as bond yields surge; {index} falls {move}%",
         "Wall Street ends sharply lower as tech sells off",
         "{region} shares slide to {n}-week low",
         "Volatility index jumps as investors flee risk",
         "{index} suffers worst day in {n} weeks"),
        ("Stocks open mixed ahead of Fed minutes",
         "{index} flat as investors await earnings",
         "{region} markets mixed in thin trade",
         "{index} futures little changed before {day}'s data"),
        ("{index} closes at record high",
         "Stocks rally as inflation data cheers investors",
         "{index} jumps {move}% led by chipmakers",
         "{region} shares climb to {n}-week high"),
    ),
    "Politics": (
        ("Government shutdown looms as budget talks stall",
         "New tariffs on {country} threaten to escalate trade dispute",
         "Political crisis in {country} rattles local markets",
         "{country} downgraded as fiscal standoff drags on"),
        ("Senate committee to vote on bank regulator nominee",
         "Lawmakers debate changes to capital gains tax",
         "{country} heads to the polls in closely watched election",
         "{country} finance minister to present budget on {day}"),
        ("Congress passes stopgap funding bill, averting shutdown",
         "Trade talks with {country} yield breakthrough; tariffs to be lowered",
         "Bipartisan infrastructure bill clears key vote",
         "{country} markets rally after decisive election result"),
    ),
    "Personnel Change": (
        ("{co} CEO {person} resigns abruptly; shares fall",
         "{co} CFO departs amid accounting review",
         "{co} ousts chief executive after string of losses"),
        ("{co} names {person} chief financial officer",
         "{co} appoints {person} to board of directors",
         "{co} to name new chair at annual meeting"),
        ("{co} shares rise after activist-backed CEO appointed",
         "{co} lures {person} from rival to lead turnaround",
         "Investors cheer {co} pick of {person} as CEO"),
    ),
    "Stock Commentary": (
        ("Why {co} stock could fall another {big}%",
         "{co}: red flags investors shouldn't ignore",
         "Three reasons to avoid {co} shares right now"),
        ("Is {co} stock a buy after its recent pullback?",
         "{co} vs. {co2}: which stock is the better bet?",
         "What to expect from {co} earnings next week"),
        ("{co} is a long-term winner hiding in plain sight",
         "Why {co} stock could double in the next five years",
         "{co} looks cheap after a strong quarter"),
    ),
    "Stock Movement": (
        ("{co} shares plunge {big}% after guidance cut",
         "{co} stock hits 52-week low",
         "{co} falls {pct}% in premarket trading"),
        ("{co} shares little changed after annual meeting",
         "{co} among most active stocks on Nasdaq",
         "{co} stock edges higher in light volume"),
        ("{co} shares jump {big}% to record high",
         "{co} stock soars after upbeat forecast",
         "{co} rises {pct}% in premarket on takeover talk"),
    ),
}  # fmt: skip

# The burst: a regional bank fails and its shares, then its peers', crash (all clearly negative).
# Worded as stock moves, as wires and the training data word them, so the shipped model files
# them under one topic and the detector sees a negative surge there.
FAILED_BANK = ("Harborview Financial", "HBVF")
BURST_TEMPLATES = (
    "Harborview Financial shares halted after {big}% plunge as depositors pull funds",
    "$HBVF -{big}% as Harborview Financial halts withdrawals",
    "Harborview Financial stock plunges {big}% after regulators seize the bank",
    "$HBVF shares crash {big}% after failed rescue talks",
    "Harborview Financial stock sinks {big}% as deposit outflows accelerate",
    "{bank} shares plunge {big}% in Harborview fallout",
    "{bank} stock sinks {big}% as bank selloff deepens",
    "{bank} shares crater {big}% premarket after Harborview failure",
    "{bank} falls {big}% as depositors flee regional lenders",
    "{bank} shares tumble {pct}% on contagion fears",
    "{bank} stock slides {pct}% after dividend cut to shore up capital",
    "{bank} drops {big}% as short sellers pile in after Harborview failure",
    "KBW bank index sinks {pct}%, worst day since 2023 crisis",
    "Bank stocks tumble as Harborview collapse sparks panic selling",
    "Regional bank stocks tumble as Harborview failure stokes contagion fears",
    "European bank shares fall {pct}% as U.S. lender failure stokes contagion fears",
)
NEGATIVE_BODY = (
    "The move deepened concerns among investors who had already been cutting exposure.",
    "Analysts said the outlook could worsen further if conditions do not improve soon.",
    "It was the latest sign of stress in a sector that had already been under pressure.",
)
NEUTRAL_BODY = (
    "Details were disclosed in a statement; officials declined to comment further.",
    "The figures were broadly in line with what analysts had expected.",
    "Investors are awaiting further information before taking positions.",
)
POSITIVE_BODY = (
    "Investors welcomed the news, and analysts said momentum could carry into next year.",
    "The result topped expectations and lifted sentiment across the sector.",
    "Management said demand remained strong across its main markets.",
)
BODIES = dict(zip(TONES, (NEGATIVE_BODY, NEUTRAL_BODY, POSITIVE_BODY), strict=True))


@dataclass
class DemoStory:
    """One line of the feed plus what it was generated as (tests check coverage and tone)."""

    record: dict[str, Any]
    topic: str
    tone: str
    sent_at: datetime  # position in the replay; a correction is sent after its original
    template: str = ""
    fill: dict[str, Any] = field(default_factory=dict)


def demo_feed_path() -> Path:
    """The committed JSONL feed next to this module."""
    return Path(__file__).with_name("demo_feed.jsonl")


def _fillers(rng: random.Random) -> dict[str, Any]:
    (co, tk), (co2, tk2) = rng.sample(COMPANIES, 2)
    bank, bank_tk = rng.choice(BANKS)
    miner, miner_tk = rng.choice(MINERS)
    eps = rng.uniform(0.2, 4.5)
    return {
        "co": co, "tk": tk, "co2": co2, "tk2": tk2, "bank": bank, "bank_tk": bank_tk,
        "miner": miner, "miner_tk": miner_tk, "newco": rng.choice(NEWCOS),
        "firm": rng.choice(FIRMS), "person": rng.choice(PEOPLE),
        "country": rng.choice(COUNTRIES), "cur": rng.choice(CURRENCIES),
        "month": rng.choice(MONTHS), "q": rng.choice(QUARTERS), "day": rng.choice(DAYS),
        "index": rng.choice(INDEXES), "region": rng.choice(REGIONS),
        "sector": rng.choice(SECTORS), "cb": rng.choice(CENTRAL_BANKS),
        "official": rng.choice(OFFICIALS),
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
    if "Harborview" in template:
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


def _rfc3339(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _story(
    rng: random.Random, seq: int, topic: str, tone: str, template: str, at: datetime
) -> DemoStory:
    fill = _fillers(rng)
    headline = template.format(**fill)
    record = _record(
        rng, seq, headline, tone, published_at=_rfc3339(at), tickers=_tickers(template, fill)
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


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def load_demo_feed(now: datetime | None = None) -> list[dict[str, Any]]:
    """The committed feed, every `published_at` shifted so the newest story is at `now`.

    Shifting keeps the spacing, so the background still forms a trailing day and the burst
    still falls inside the detector's recent window when the feed is replayed.
    """
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    with demo_feed_path().open(encoding="utf-8") as lines:
        records = [json.loads(line) for line in lines if line.strip()]
    newest = max(_parse_time(r["published_at"]) for r in records)
    shift = now - newest
    for record in records:
        record["published_at"] = _rfc3339(_parse_time(record["published_at"]) + shift)
    return records


def main(argv: list[str] | None = None) -> int:
    """`python -m monitor.ingest.demo [--write | --check]`: regenerate or verify the file."""
    parser = argparse.ArgumentParser(prog="python -m monitor.ingest.demo", description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite demo_feed.jsonl")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    stories = build_feed()
    text = render_feed(stories)
    path = demo_feed_path()
    if args.write:
        path.write_text(text, encoding="utf-8")
    elif args.check and (not path.exists() or path.read_text(encoding="utf-8") != text):
        print(f"{path} is stale: run python -m monitor.ingest.demo --write", file=sys.stderr)
        return 1
    burst = [s for s in stories if s.sent_at >= ANCHOR - BURST_SPAN and s.topic == BURST_TOPIC]
    print(f"{len(stories)} stories, burst: {len(burst)} x {BURST_TOPIC} in {BURST_SPAN}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
