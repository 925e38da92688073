"""Which companies one story names: the message's `tickers` field, cashtags (`$AAPL`) and the
dictionary's names found in the text, merged into one `Resolved` per entity key.

The text is the normalised model text (`monitor.nlp.text.model_text`), so every span is a
character span [start, end) into the text the classifier reads (`monitor.nlp.mentions`), and
the entity's sentiment comes from the same forward as the story's.

- Key: the ticker, upper-cased (`BRK-B` and `brk.b` are the dictionary's `BRK.B`). A ticker
  the dictionary does not know is kept as its own key with no sector, if it looks like a
  ticker (`TICKER_LIKE`); anything else in the field (a name, a sentence, control characters)
  is dropped: the field is kept on the story as sent, it just names no entity.
- Cashtags: `$` + 1-10 letters (normalised as "$ AAPL"); a lowercase one counts only when the
  dictionary knows it.
- Names: `monitor.entities.matcher` (whole words, case, legal suffixes, longest match).
- One row per key, with its first mention in the text (the key itself and span None when only
  the `tickers` field names it); `matched_by` is the strongest evidence: ticker field, then
  cashtag, then name. At most `max_per_story` rows: the field's tickers first, then the
  text's in order of appearance.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.entities.dictionary import EntityDictionary, load_dictionary
from monitor.entities.matcher import NameMatcher
from monitor.nlp.mentions import Span
from monitor.settings import EntitySettings

TICKER_LIKE = re.compile(r"[A-Z0-9]{1,8}(?:[.\-/][A-Z0-9]{1,3})?")  # AAPL, BRK.B, 7203.T
_EXCHANGE = re.compile(r"^(?:NYSE|NASDAQ|NYSEARCA|AMEX|BATS|OTC|LSE|TSX)\s*:\s*", re.IGNORECASE)
# normalised cashtags: "$ AAPL" (monitor.nlp.text); bounded, so a hostile text is one pass
_CASHTAG = re.compile(r"(?<!\w)\$ ([A-Za-z][A-Za-z.]{0,9})(?![A-Za-z])")
MAX_CASHTAGS = 64  # scanned per story; a story of 10,000 cashtags costs no more than this
MAX_MENTION_CHARS = 256  # story_entities.mention
MATCHED_BY = ("ticker", "cashtag", "name")  # strongest evidence first


@dataclass(frozen=True)
class Resolved:
    """One entity a story names: its key, first mention in the text (or the ticker as sent,
    span None, when only the `tickers` field names it), how it was found, its sector."""

    entity: str
    mention: str
    span: Span | None
    matched_by: str
    sector: str | None


class Resolver:
    """Resolves stories against one dictionary (build once: the automaton is built here)."""

    def __init__(self, dictionary: EntityDictionary, *, max_per_story: int = 16) -> None:
        self.dictionary = dictionary
        self.matcher = NameMatcher(dictionary)
        self.max_per_story = max_per_story

    def key(self, raw: str) -> str | None:
        """The entity key for a ticker as a producer sent it, or None if it is not one."""
        text = _EXCHANGE.sub("", raw.strip().lstrip("$")).upper()
        if not TICKER_LIKE.fullmatch(text):
            return None
        for candidate in (text, text.replace("-", ".").replace("/", ".")):
            if candidate in self.dictionary.by_ticker:
                return candidate
        return text

    def resolve(self, text: str, tickers: Sequence[str] | None = None) -> list[Resolved]:
        """The entities of one story: `text` is its normalised model text, `tickers` its
        message field."""
        field = dict.fromkeys(k for k in map(self.key, tickers or ()) if k is not None)
        mentions: dict[str, tuple[str, Span, str]] = {}  # key -> first (mention, span, how)
        for key, mention, span, how in sorted(self._in_text(text), key=lambda m: m[2]):
            mentions.setdefault(key, (mention, span, how))
            if how == "cashtag" and mentions[key][2] == "name":
                mentions[key] = (*mentions[key][:2], "cashtag")  # keep the earlier span
        order = list(field) + [k for k in mentions if k not in field]
        return [self._row(key, field, mentions) for key in order[: self.max_per_story]]

    def _in_text(self, text: str) -> list[tuple[str, str, Span, str]]:
        found: list[tuple[str, str, Span, str]] = []
        for i, match in enumerate(_CASHTAG.finditer(text)):
            if i >= MAX_CASHTAGS:
                break
            symbol = match.group(1).rstrip(".")
            key = symbol.upper()
            if (symbol == key and TICKER_LIKE.fullmatch(key)) or key in self.dictionary.by_ticker:
                start = match.start(1)
                found.append((key, symbol, (start, start + len(symbol)), "cashtag"))
        for name in self.matcher.find(text):
            found.append((name.ticker, name.mention, (name.start, name.end), "name"))
        return found

    def _row(
        self, key: str, field: dict[str, None], mentions: dict[str, tuple[str, Span, str]]
    ) -> Resolved:
        mention, span, how = mentions.get(key, (key, None, "ticker"))
        matched_by = "ticker" if key in field else how
        sector = self.dictionary.sector(key)
        return Resolved(key, mention[:MAX_MENTION_CHARS], span, matched_by, sector)


def resolver_from_settings(settings: EntitySettings) -> Resolver | None:
    """The consumer's resolver, or None when entity resolution is off. A bad dictionary is a
    ConfigError naming MONITOR_ENTITIES__DICTIONARY: start-up stops there."""
    if not settings.enabled:
        return None
    return Resolver(load_dictionary(settings.dictionary), max_per_story=settings.max_per_story)
