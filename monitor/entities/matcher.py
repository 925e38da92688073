"""Company names in text: every dictionary name and alias in one Aho-Corasick automaton
(pyahocorasick), so a story costs one pass over its text whatever the dictionary's size.

The rules, in the order they are applied to each raw hit:

1. Whole words only: a hit needs a non-word character (or the text's edge) on each side, so
   "Apple" is not found in "Pineapple" or "Applebee's". A possessive ("Apple's", "Apple’s") or
   a hyphenated compound ("Apple-made") still matches: the apostrophe and hyphen are not word
   characters.
2. Case as the dictionary writes it: a name matches as written ("Apple", "eBay"), in capitals
   ("APPLE", shouted headlines) or with each word capitalised ("Bank Of America", title-case
   headlines), never in lowercase prose: "apple pie", "a target price", "block trade" name
   nobody. This is the common-word rule; a name that is an ordinary word even capitalised
   ("Target", "Progressive", "News") is left out of the shipped aliases, so it needs its legal
   suffix (rule 3) or a cashtag/ticker field.
3. Legal suffixes: a name that the dictionary writes with a legal suffix ("Target Corporation",
   "Apple Inc.") matches with any legal suffix ("Target Corp.", "Target Inc"), and only with
   one; an alias ("Apple") matches bare or followed by a suffix ("Apple Inc."), and the mention
   then includes the suffix.
4. Longest match first: among overlapping hits the one starting first wins, and of those the
   longest ("Apple Hospitality REIT" beats "Apple"), so a span names one company.
5. One name, one company: a name two entries share belongs to the first one in the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ahocorasick

from monitor.entities.dictionary import EntityDictionary

LEGAL_SUFFIX = (
    r"Inc\.?|Incorporated|Corporation|Corp\.?|Company|Co\.|Companies|plc|PLC|Ltd\.?|Limited|"
    r"N\.V\.|S\.A\.|L\.P\.|LLC|Holdings|Group"
)
_STRIP = re.compile(rf"(?:,?\s+(?:(?:and|&)\s+)?(?:{LEGAL_SUFFIX}))+$")
# a suffix after a hit; the lookahead keeps "Co." from eating "Cola" and "Inc" from "Income"
_AFTER = re.compile(
    rf"(?:,?\s(?:(?:and|&)\s)?(?:{LEGAL_SUFFIX})(?![\w&]))+", re.IGNORECASE
)  # any case: "NEWS CORP" in a shouted headline


def strip_legal_suffix(name: str) -> str:
    """ "Apple Inc." -> "Apple", "Block, Inc." -> "Block", "Deere & Company" -> "Deere". A name
    that is all suffix is kept whole."""
    return _STRIP.sub("", name).rstrip(",").strip() or name


@dataclass(frozen=True)
class Match:
    """A company named in a text: its ticker, the text as it appears, and its span."""

    ticker: str
    mention: str
    start: int
    end: int


@dataclass(frozen=True)
class _Key:
    ticker: str
    length: int
    needs_suffix: bool


def _forms(name: str) -> set[str]:
    """The spellings rule 2 accepts: as written, in capitals, each word capitalised."""
    titled = " ".join(word[:1].upper() + word[1:] for word in name.split(" "))
    return {name, name.upper(), titled}


class NameMatcher:
    """Finds the dictionary's companies in normalised text (`find`)."""

    def __init__(self, dictionary: EntityDictionary) -> None:
        automaton = ahocorasick.Automaton()
        keys: dict[str, _Key] = {}
        for entry in dictionary.entries:
            for spelled, needs_suffix in _spellings(entry.name, entry.aliases):
                for form in _forms(spelled):
                    old = keys.get(form)
                    # rule 5: first entry wins; but a bare alias beats a suffix-only core
                    if old is None or (old.needs_suffix and not needs_suffix):
                        keys[form] = _Key(entry.ticker, len(form), needs_suffix)
        for form, key in keys.items():
            automaton.add_word(form, key)
        self._empty = not keys
        if keys:
            automaton.make_automaton()
        self._automaton = automaton

    def find(self, text: str) -> list[Match]:
        """The companies named in `text`, in order of appearance; overlapping hits resolved
        by rule 4. Every occurrence is returned (the caller keeps the first per ticker)."""
        if self._empty or not text:
            return []
        hits: list[tuple[int, int, str]] = []
        for last, key in self._automaton.iter(text):
            start, end = last + 1 - key.length, last + 1
            if not _whole_word(text, start, end):
                continue
            suffix = _AFTER.match(text, end)
            if suffix is not None:
                end = suffix.end()
            elif key.needs_suffix:
                continue
            hits.append((start, end, key.ticker))
        hits.sort(key=lambda h: (h[0], -h[1]))
        matches: list[Match] = []
        covered = 0
        for start, end, ticker in hits:
            if start >= covered:
                matches.append(Match(ticker, text[start:end], start, end))
                covered = end
        return matches


def _spellings(name: str, aliases: tuple[str, ...]) -> list[tuple[str, bool]]:
    """(spelling, needs a legal suffix) for an entry: its name, bare if it has no legal
    suffix, else its core needing one (rule 3); its aliases, bare."""
    core = strip_legal_suffix(name)
    spellings = [(core, core != name)]
    spellings += [(alias, False) for alias in aliases]
    return spellings


def _whole_word(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (_is_word(before) or _is_word(after))


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"
