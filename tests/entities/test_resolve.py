"""Resolution of one story: tickers field + cashtags + names merged into one row per key, with
its first span in the model text; absurd inputs bounded, never an exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.entities.dictionary import load_dictionary
from monitor.entities.resolve import Resolver, resolver_from_settings
from monitor.errors import ConfigError
from monitor.nlp.text import model_text
from monitor.settings import SHIPPED_ENTITY_DICTIONARY, EntitySettings

RESOLVER = Resolver(load_dictionary(SHIPPED_ENTITY_DICTIONARY))


@pytest.fixture(scope="module")
def resolver() -> Resolver:
    return RESOLVER


def test_field_cashtag_and_name_merge_into_one_row_per_key(resolver: Resolver) -> None:
    text = model_text("Apple beats Microsoft as $MSFT slides", "Analysts at JPMorgan said")
    rows = resolver.resolve(text, ["AAPL", "TSLA"])
    by_key = {r.entity: r for r in rows}
    assert [r.entity for r in rows] == ["AAPL", "TSLA", "MSFT", "JPM"]  # field first, then text
    apple = by_key["AAPL"]
    assert (apple.mention, apple.matched_by, apple.sector) == (
        "Apple",
        "ticker",
        "Information Technology",
    )
    assert apple.span is not None and text[slice(*apple.span)] == "Apple"
    # named in the field only: no span, the ticker as its mention
    assert (by_key["TSLA"].span, by_key["TSLA"].mention, by_key["TSLA"].matched_by) == (
        None,
        "TSLA",
        "ticker",
    )
    # named and cashtagged: the first mention's span, the stronger evidence
    msft = by_key["MSFT"]
    assert msft.matched_by == "cashtag" and msft.mention == "Microsoft"
    assert msft.span is not None and text[slice(*msft.span)] == "Microsoft"
    assert by_key["JPM"].matched_by == "name"


def test_cashtags_in_normalised_text(resolver: Resolver) -> None:
    text = model_text(
        "$NVDA and $brk.b rally; $aapl too; $ZZZQ unknown; $meme ignored; costs $5", None
    )
    rows = {r.entity: r for r in resolver.resolve(text)}
    assert set(rows) == {"NVDA", "BRK.B", "AAPL", "ZZZQ"}
    assert rows["ZZZQ"].sector is None and rows["ZZZQ"].matched_by == "cashtag"
    for row in rows.values():
        assert row.span is not None and text[slice(*row.span)].upper() == row.entity


def test_ticker_field_keys(resolver: Resolver) -> None:
    assert resolver.key("aapl") == "AAPL"
    assert resolver.key(" $msft ") == "MSFT"
    assert resolver.key("NASDAQ:TSLA") == "TSLA"
    assert resolver.key("BRK-B") == "BRK.B" and resolver.key("brk/b") == "BRK.B"
    assert resolver.key("XYZW") == "XYZW"  # unknown but ticker-like: its own key
    assert resolver.key("7203.T") == "7203.T"
    for junk in ("Apple Inc", "", "   ", "A" * 32, "AA\x00PL", "AAPL\nMSFT", "<script>", "ÄPFEL"):
        assert resolver.key(junk) is None, junk


def test_unknown_field_ticker_kept_without_sector(resolver: Resolver) -> None:
    (row,) = resolver.resolve(model_text("Quiet day", None), ["zzzq", "not a ticker"])
    assert (row.entity, row.sector, row.span, row.matched_by) == ("ZZZQ", None, None, "ticker")


def test_x_beats_y_names_both(resolver: Resolver) -> None:
    text = model_text("Alphabet beats Microsoft in cloud deal; Google wins", None)
    rows = resolver.resolve(text)
    assert [(r.entity, r.mention) for r in rows] == [("GOOGL", "Alphabet"), ("MSFT", "Microsoft")]


def test_absurd_inputs_are_bounded(resolver: Resolver) -> None:
    huge = "Apple " + "x" * 10_000 + " $MSFT " + "\x07\x1b" * 100 + " " + "$ABC " * 10_000
    text = model_text(huge[:1000], huge)
    rows = resolver.resolve(text, ["\x00" * 32, "A" * 32] * 32)
    assert len(rows) <= resolver.max_per_story
    assert all(len(r.mention) <= 256 and len(r.entity) <= 16 for r in rows)
    assert rows[0].entity == "AAPL"


def test_cap_per_story_keeps_field_then_text_order() -> None:
    capped = Resolver(load_dictionary(SHIPPED_ENTITY_DICTIONARY), max_per_story=2)
    text = model_text("Apple, Microsoft and Nvidia rally", None)
    assert [r.entity for r in capped.resolve(text, ["TSLA"])] == ["TSLA", "AAPL"]


def test_resolver_from_settings(tmp_path: Path) -> None:
    assert resolver_from_settings(EntitySettings(enabled=False)) is None
    assert resolver_from_settings(EntitySettings()) is not None
    with pytest.raises(ConfigError, match="MONITOR_ENTITIES__DICTIONARY"):
        resolver_from_settings(EntitySettings(dictionary=tmp_path / "missing.csv"))


def test_entity_settings_are_checked_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.settings import load_settings

    monkeypatch.setenv("MONITOR_ENTITIES__MAX_PER_STORY", "0")
    with pytest.raises(ConfigError, match="MONITOR_ENTITIES__MAX_PER_STORY"):
        load_settings()
    monkeypatch.setenv("MONITOR_ENTITIES__MAX_PER_STORY", "3")
    monkeypatch.setenv("MONITOR_ENTITIES__ENABLED", "false")
    settings = load_settings().entities
    assert (settings.max_per_story, settings.enabled) == (3, False)


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=400),
    tickers=st.lists(st.text(min_size=1, max_size=32), max_size=64),
)
def test_any_text_and_field_resolve_to_bounded_valid_rows(text: str, tickers: list[str]) -> None:
    resolver = RESOLVER  # a function-scoped fixture would be shared across examples anyway
    normalised = model_text("Apple " + text, "$MSFT " + text)
    rows = resolver.resolve(normalised, tickers)
    assert len(rows) <= resolver.max_per_story
    assert len({r.entity for r in rows}) == len(rows)
    for row in rows:
        assert 1 <= len(row.entity) <= 16 and row.matched_by in ("ticker", "cashtag", "name")
        if row.span is not None:
            start, end = row.span
            assert 0 <= start < end <= len(normalised)
            assert normalised[start:end] == row.mention
