"""Company names in text: whole words, case, possessives, legal suffixes, longest match."""

from __future__ import annotations

import pytest

from monitor.entities.dictionary import EntityDictionary, Entry, load_dictionary
from monitor.entities.matcher import NameMatcher, strip_legal_suffix
from monitor.settings import SHIPPED_ENTITY_DICTIONARY

SMALL = EntityDictionary(
    (
        Entry("AAPL", "Apple Inc.", ("Apple",)),
        Entry("APLE", "Apple Hospitality REIT", ("Apple Hospitality",)),
        Entry("TGT", "Target Corporation"),  # a common word: no bare alias
        Entry("BAC", "Bank of America"),
        Entry("EBAY", "eBay Inc.", ("eBay",)),
        Entry("MMM", "3M"),
        Entry("KO", "The Coca-Cola Company", ("Coca-Cola",)),
        Entry("DE", "Deere & Company", ("Deere",)),
        Entry("DUP", "Apple Inc. (Class B)", ("Apple",)),  # a second class: names go to AAPL
    )
)


@pytest.fixture(scope="module")
def small() -> NameMatcher:
    return NameMatcher(SMALL)


def found(matcher: NameMatcher, text: str) -> list[tuple[str, str]]:
    return [(m.ticker, m.mention) for m in matcher.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Apple beats estimates", [("AAPL", "Apple")]),
        ("Pineapple prices and Applebee's", []),  # whole words only
        ("apple pie and a target price", []),  # lowercase prose names nobody
        ("Apple's iPhone; Apple’s Mac", [("AAPL", "Apple"), ("AAPL", "Apple")]),  # possessives
        ("Apple-made chips", [("AAPL", "Apple")]),
        ("Apple Inc. said", [("AAPL", "Apple Inc.")]),  # the suffix joins the mention
        ("Apple, Inc. said", [("AAPL", "Apple, Inc.")]),
        ("APPLE SHARES SINK", [("AAPL", "APPLE")]),  # shouted headline
        ("Apple Hospitality REIT buys hotels", [("APLE", "Apple Hospitality REIT")]),
        ("Apple Hospitality buys; Apple sells", [("APLE", "Apple Hospitality"), ("AAPL", "Apple")]),
        ("Target raised; Target Corp. cut", [("TGT", "Target Corp.")]),  # needs its suffix
        ("TARGET CORP misses", [("TGT", "TARGET CORP")]),
        ("Target Inc profit", [("TGT", "Target Inc")]),  # any legal suffix
        (
            "Bank of America and Bank Of America",
            [("BAC", "Bank of America"), ("BAC", "Bank Of America")],
        ),  # title case
        ("eBay rises", [("EBAY", "eBay")]),
        ("raised $3m from 3M", [("MMM", "3M")]),  # "3m" is not 3M
        (
            "Coca-Cola Co. and Coca-Cola Company and The Coca-Cola Company",
            [("KO", "Coca-Cola Co."), ("KO", "Coca-Cola Company"), ("KO", "The Coca-Cola Company")],
        ),
        ("Deere & Co. and Deere & Company", [("DE", "Deere & Co."), ("DE", "Deere & Company")]),
        ("Apple Income Fund", [("AAPL", "Apple")]),  # "Inc" is not a prefix match of "Income"
        ("", []),
    ],
)
def test_matching_rules(small: NameMatcher, text: str, expected: list[tuple[str, str]]) -> None:
    assert found(small, text) == expected


def test_spans_point_at_the_mention(small: NameMatcher) -> None:
    text = "Shares of Apple Inc. rose while Target Corp fell"
    for m in small.find(text):
        assert text[m.start : m.end] == m.mention


def test_strip_legal_suffix() -> None:
    assert strip_legal_suffix("Apple Inc.") == "Apple"
    assert strip_legal_suffix("Block, Inc.") == "Block"
    assert strip_legal_suffix("Deere & Company") == "Deere"
    assert strip_legal_suffix("Eli Lilly and Company") == "Eli Lilly"
    assert strip_legal_suffix("Johnson & Johnson") == "Johnson & Johnson"
    assert strip_legal_suffix("Inc.") == "Inc."


def test_shipped_dictionary_on_x_beats_y_headlines() -> None:
    matcher = NameMatcher(load_dictionary(SHIPPED_ENTITY_DICTIONARY))
    assert [m.ticker for m in matcher.find("Microsoft beats Alphabet as Google ads slow")] == [
        "MSFT",
        "GOOGL",
        "GOOGL",
    ]
    assert [m.ticker for m in matcher.find("JPMorgan's profit tops Goldman Sachs")] == [
        "JPM",
        "GS",
    ]
    # common words and market terms stay quiet; their legal names do not
    assert matcher.find("Nasdaq falls as Target price cut; Progressive policy; News at 10") == []
    assert [m.ticker for m in matcher.find("Target Corp. and News Corp slump")] == ["TGT", "NWSA"]
