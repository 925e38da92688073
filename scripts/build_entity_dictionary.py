"""Build the shipped entity dictionary, `monitor/entities/sp500.csv`, from the S&P 500
constituents list (`../shared/data/sp500_constituents.csv`, datasets/s-and-p-500-companies,
Open Data Commons PDDL: public domain).

    python scripts/build_entity_dictionary.py [SOURCE] [OUTPUT]

Per company: `ticker` (Symbol), `name` (Security without share-class or "(The)" notes),
`aliases` (the name without its legal suffix, a few well-known short names), `sector` (GICS
Sector). Share classes of one company (GOOGL/GOOG) share names: the first listed keeps them,
so a name always resolves to one key.

Common-word names. The matcher is case-sensitive (see `monitor.entities.matcher`), so "target"
or "block" in lowercase prose never fires. A name that is an ordinary word, a place or a
market term even when capitalised ("Target price raised", "Nasdaq falls", "News Corp") keeps
no bare alias, so it matches only with a legal suffix ("Target Corp", "Target Corporation"):
COMMON_WORDS lists them.
The story's `tickers` field and cashtags ($TGT) still resolve these companies.
"""

from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

from monitor.entities.matcher import strip_legal_suffix

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "sp500_constituents.csv"
OUTPUT = ROOT / "monitor" / "entities" / "sp500.csv"

HEADER = [
    "# S&P 500 entity dictionary for the news monitor, built by scripts/build_entity_dictionary.py",
    "# Source: S&P 500 constituents, datasets/s-and-p-500-companies (https://github.com/datasets/"
    "s-and-p-500-companies), snapshot of 2026-08-08; Open Data Commons PDDL (public domain).",
]

# Short names that are ordinary words, places or market terms even when capitalised.
COMMON_WORDS = {
    "Ball", "Block", "Booking", "Carnival", "Coherent", "Dover", "Everest", "Flex", "Mosaic",
    "Nasdaq", "News", "Principal", "Progressive", "Regions", "Southern", "Tapestry", "Target",
    "Travelers", "Waters", "Match", "Pool", "Gen", "Fox", "Cooper", "Hartford",
}  # fmt: skip
EXTRA_ALIASES = {
    "GOOGL": ["Google"],
    "META": ["Meta", "Facebook"],
    "BRK.B": ["Berkshire"],
    "JPM": ["JPMorgan", "JP Morgan", "J.P. Morgan"],
    "BAC": ["BofA"],
    "GS": ["Goldman"],
    "XOM": ["Exxon", "Exxon Mobil"],
    "LLY": ["Eli Lilly", "Lilly"],
    "KO": ["Coca-Cola"],
    "PG": ["P&G"],
    "JNJ": ["J&J"],
    "HD": ["Home Depot"],
    "DIS": ["Disney", "Walt Disney"],
    "TSLA": ["Tesla"],
    "NVDA": ["NVIDIA"],
    "BNY": ["Bank of New York Mellon"],
    "CSCO": ["Cisco Systems"],
    "UNH": ["UnitedHealth"],
    "WBD": ["Warner Bros"],
    "BMY": ["Bristol-Myers Squibb", "Bristol-Myers"],
    "MU": ["Micron"],
    "GE": ["General Electric"],
    "FDX": ["FedEx"],
    "SCHW": ["Charles Schwab", "Schwab"],
    "MCD": ["McDonald’s"],
    "ORLY": ["O'Reilly Automotive", "O'Reilly"],
    "TMUS": ["T-Mobile"],
    "CVS": ["CVS"],
    "HPE": ["HPE"],
}


def display_name(security: str) -> str:
    name = re.sub(r"\s*\(Class [A-Z]\)$", "", security.strip())
    if name.endswith(" (The)"):
        name = "The " + name.removesuffix(" (The)")
    if name == "Lilly (Eli)":
        name = "Eli Lilly and Company"
    return name


def aliases_for(ticker: str, name: str, taken: set[str]) -> list[str]:
    short = strip_legal_suffix(name.removeprefix("The "))
    names = [short] if short not in COMMON_WORDS else []
    names += EXTRA_ALIASES.get(ticker, [])
    kept = [a for a in dict.fromkeys(names) if a != name and a not in taken]
    taken.update(kept)
    return kept


def build(source: Path, output: Path) -> int:
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    taken: set[str] = set()
    out = []
    for row in rows:
        ticker, name = row["Symbol"].strip(), display_name(row["Security"])
        taken_before = name in taken
        aliases = aliases_for(ticker, name, taken)
        # a second share class: keeps its ticker, but its names resolve to the first class
        shown_name = name if not taken_before else row["Security"].strip()
        taken.add(name)
        out.append([ticker, shown_name, "|".join(aliases), row["GICS Sector"].strip()])
    with output.open("w", encoding="utf-8", newline="") as handle:
        handle.write("\n".join(HEADER) + "\n")
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["ticker", "name", "aliases", "sector"])
        writer.writerows(out)
    return len(out)


if __name__ == "__main__":
    args = sys.argv[1:]
    source = Path(args[0]) if args else SOURCE
    output = Path(args[1]) if len(args) > 1 else OUTPUT
    print(f"{build(source, output)} entries -> {output}")
