"""The entity dictionary: which companies the monitor knows, by ticker, name, aliases and sector.

A UTF-8 CSV with a header row (lines starting with `#` are comments): `ticker` and `name` are
required, `aliases` (`|`-separated other names the text may use, e.g. the name without its
legal suffix) and `sector` optional; other columns are ignored. The ticker is the entity's key
everywhere (story_entities, entity_hourly, alerts, the Company page). The shipped default,
`sp500.csv`, is built from the S&P 500 constituents by `scripts/build_entity_dictionary.py`.

Anything wrong with the file (missing, unreadable, not UTF-8, no ticker/name column, an empty
or duplicate ticker, an overlong value) is a ConfigError naming `MONITOR_ENTITIES__DICTIONARY`,
so start-up stops with one line saying which row is wrong.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError

SETTING = "MONITOR_ENTITIES__DICTIONARY"
REQUIRED = ("ticker", "name")
MAX_ENTRIES = 100_000
MAX_TICKER_CHARS = 16  # the key column holds 64; a ticker (BRK.B, 7203.T) is far shorter
MAX_NAME_CHARS = 256  # a mention is stored in 256 characters
MAX_SECTOR_CHARS = 64
MAX_ALIASES = 32
TICKER = re.compile(r"[A-Z0-9][A-Z0-9.\-]{0,15}")  # what a key may be, once upper-cased
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
Bad = Callable[[str], ConfigError]  # a row's problem as the error that names its line


@dataclass(frozen=True)
class Entry:
    """One company: its ticker (the key), display name, other names, and sector (or None)."""

    ticker: str
    name: str
    aliases: tuple[str, ...] = ()
    sector: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """Every surface name the matcher looks for: the name, then the aliases."""
        return (self.name, *(a for a in self.aliases if a != self.name))


@dataclass(frozen=True)
class EntityDictionary:
    """The loaded dictionary: entries in file order, looked up by ticker."""

    entries: tuple[Entry, ...]
    source: str = ""
    by_ticker: dict[str, Entry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_ticker", {e.ticker: e for e in self.entries})

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, ticker: object) -> bool:
        return isinstance(ticker, str) and ticker.upper() in self.by_ticker

    def get(self, ticker: str) -> Entry | None:
        return self.by_ticker.get(ticker.upper())

    def sector(self, ticker: str) -> str | None:
        """The ticker's sector, or None (not in the dictionary, or no sector given)."""
        entry = self.get(ticker)
        return entry.sector if entry else None

    def name(self, ticker: str) -> str | None:
        """The ticker's display name, or None when the dictionary does not know it."""
        entry = self.get(ticker)
        return entry.name if entry else None

    def sectors(self) -> list[str]:
        return sorted({e.sector for e in self.entries if e.sector})

    def search(self, query: str, limit: int = 10) -> list[Entry]:
        """Entries for a search box: exact ticker first, then tickers starting with the query,
        then names/aliases starting with it, then names/aliases containing it (case-insensitive,
        file order within each rank)."""
        q = " ".join(query.split()).lower()[:MAX_NAME_CHARS]
        if not q or limit <= 0:
            return []
        ranked: list[tuple[int, int, Entry]] = []
        for position, entry in enumerate(self.entries):
            rank = _rank(entry, q)
            if rank is not None:
                ranked.append((rank, position, entry))
        ranked.sort(key=lambda r: (r[0], r[1]))
        return [entry for _, _, entry in ranked[:limit]]


def _rank(entry: Entry, q: str) -> int | None:
    ticker = entry.ticker.lower()
    names = [n.lower() for n in entry.names]
    if ticker == q:
        return 0
    if ticker.startswith(q):
        return 1
    if any(n.startswith(q) for n in names):
        return 2
    if any(q in n for n in names):
        return 3
    return None


def load_dictionary(path: Path | str) -> EntityDictionary:
    """Read and check a dictionary CSV; any problem is a ConfigError naming the setting."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            # comment lines become blank ones (skipped), so line numbers stay the file's
            lines = ("\n" if line.startswith("#") else line for line in handle)
            entries = _parse(csv.reader(lines), path)
    except FileNotFoundError:
        raise ConfigError(SETTING, f"{path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(SETTING, f"{path} is a directory, not a CSV file") from None
    except PermissionError:
        raise ConfigError(SETTING, f"{path} is not readable (permission denied)") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(SETTING, f"{path} is not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise ConfigError(SETTING, f"{path} is not a readable CSV file ({exc})") from None
    except OSError as exc:
        raise ConfigError(SETTING, f"{path} cannot be read ({exc.strerror or exc})") from None
    return EntityDictionary(tuple(entries), source=str(path))


def _parse(reader: Any, path: Path) -> list[Entry]:
    rows = ((reader.line_num, row) for row in reader if any(cell.strip() for cell in row))
    header = [h.strip().lower() for h in next(rows, (0, []))[1]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        found = ", ".join(header) if header else "no header"
        raise ConfigError(SETTING, f"{path} has no {' or '.join(missing)} column (found: {found})")
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for line, cells in rows:

        def bad(problem: str, line: int = line) -> ConfigError:
            return ConfigError(SETTING, f"{path} line {line}: {problem}")

        if len(cells) > len(header):
            raise bad("more fields than the header has columns")
        row = dict(zip(header, cells, strict=False))
        if len(entries) >= MAX_ENTRIES:
            raise bad(f"more than {MAX_ENTRIES} entries")
        ticker = _clean(row.get("ticker"), "ticker", MAX_TICKER_CHARS, bad).upper()
        if not ticker:
            raise bad("empty ticker")
        if not TICKER.fullmatch(ticker):
            raise bad(f"ticker {ticker!r} is not a ticker (letters, digits, '.', '-')")
        if ticker in seen:
            raise bad(f"duplicate ticker {ticker!r} (first on line {seen[ticker]})")
        seen[ticker] = line
        name = _clean(row.get("name"), "name", MAX_NAME_CHARS, bad)
        if not name:
            raise bad(f"empty name for {ticker}")
        aliases = _aliases(row.get("aliases"), bad)
        sector = _clean(row.get("sector"), "sector", MAX_SECTOR_CHARS, bad) or None
        entries.append(Entry(ticker, name, aliases, sector))
    if not entries:
        raise ConfigError(SETTING, f"{path} has no entries")
    return entries


def _clean(value: str | None, column: str, limit: int, bad: Bad) -> str:
    text = " ".join((value or "").split())
    if _CONTROL.search(text) or len(text) > limit:
        raise bad(f"{column} is over {limit} characters or has control characters")
    return text


def _aliases(value: str | None, bad: Bad) -> tuple[str, ...]:
    aliases = [_clean(a, "alias", MAX_NAME_CHARS, bad) for a in (value or "").split("|")]
    kept = tuple(dict.fromkeys(a for a in aliases if a))
    if len(kept) > MAX_ALIASES:
        raise bad(f"more than {MAX_ALIASES} aliases")
    return kept


@lru_cache(maxsize=4)
def _cached(path: Path, mtime_ns: int) -> EntityDictionary:
    return load_dictionary(path)


def default_dictionary(path: Path | None = None) -> EntityDictionary:
    """The configured dictionary (`MONITOR_ENTITIES__DICTIONARY`, default the shipped S&P 500
    one), loaded once per file version: the dashboard and the CLI call this freely."""
    if path is None:
        from monitor.settings import load_settings

        path = load_settings().entities.dictionary
    path = Path(path)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        return load_dictionary(path)  # raises the ConfigError that says why
    return _cached(path, mtime)
