"""The entity dictionary: the shipped S&P 500 file, lookups, and every way a file can be bad
(each a ConfigError naming MONITOR_ENTITIES__DICTIONARY and the line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.entities.dictionary import SETTING, default_dictionary, load_dictionary
from monitor.errors import ConfigError
from monitor.settings import SHIPPED_ENTITY_DICTIONARY, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "entities.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_dictionary_has_the_sp500_with_sectors_and_short_names() -> None:
    d = load_dictionary(SHIPPED_ENTITY_DICTIONARY)
    assert len(d) == 503
    assert d.name("AAPL") == "Apple Inc." and "Apple" in d.get("AAPL").aliases  # type: ignore[union-attr]
    assert d.sector("aapl") == "Information Technology"
    assert d.sector("JPM") == "Financials"
    assert d.sector("NOPE") is None and d.name("NOPE") is None
    assert "BRK.B" in d
    assert len(d.sectors()) == 11
    assert all(e.sector for e in d.entries)


def test_search_ranks_exact_ticker_then_prefixes_then_substrings() -> None:
    d = load_dictionary(SHIPPED_ENTITY_DICTIONARY)
    assert d.search("aapl", 5)[0].ticker == "AAPL"
    tickers = [e.ticker for e in d.search("apple", 5)]
    assert tickers[0] == "AAPL"
    assert [e.ticker for e in d.search("goog", 2)] == ["GOOG", "GOOGL"]
    assert [e.ticker for e in d.search("google", 3)] == ["GOOGL"]
    assert d.search("", 5) == [] and d.search("zzzzqqq", 5) == []
    assert len(d.search("a", 3)) == 3


def test_operator_dictionary_with_optional_columns_and_comments(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# my desk's names\nName,Ticker,Extra\nAcme Corp.,acme,x\n\nGlobex,GBX,\n",
    )
    d = load_dictionary(path)
    assert [(e.ticker, e.name, e.aliases, e.sector) for e in d.entries] == [
        ("ACME", "Acme Corp.", (), None),
        ("GBX", "Globex", (), None),
    ]


def test_default_dictionary_follows_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "ticker,name,aliases,sector\nACME,Acme Inc.,Acme|ACME Co,Industrials\n")
    monkeypatch.setenv(SETTING, str(path))
    d = default_dictionary()
    assert d.sector("ACME") == "Industrials" and d.get("ACME").aliases == ("Acme", "ACME Co")  # type: ignore[union-attr]
    assert default_dictionary() is d  # loaded once per file version
    monkeypatch.delenv(SETTING)
    assert len(default_dictionary()) == 503
    assert load_settings().entities.dictionary == SHIPPED_ENTITY_DICTIONARY


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "no ticker or name column"),
        ("symbol,company\nAAPL,Apple\n", "no ticker or name column"),
        ("ticker,sector\nAAPL,IT\n", "no name column"),
        ("ticker,name\n", "has no entries"),
        ("ticker,name\n,Apple\n", "line 2: empty ticker"),
        ("ticker,name\nAAPL,Apple\nMSFT,Microsoft\naapl,Apple again\n", "line 4: duplicate ticker"),
        ("ticker,name\nAAPL,\n", "line 2: empty name"),
        ("ticker,name\nAA PL,Apple\n", "is not a ticker"),
        ("ticker,name\n" + "A" * 40 + ",Apple\n", "ticker is over 16 characters"),
        ("ticker,name\nAAPL,Apple,extra\n", "more fields than the header"),
        ("ticker,name\nAAPL,App\x01le\n", "control characters"),
        ("ticker,name,sector\nAAPL,Apple," + "x" * 100 + "\n", "sector is over 64"),
    ],
)
def test_malformed_dictionary_is_one_config_error_naming_the_setting(
    tmp_path: Path, content: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_dictionary(write(tmp_path, content))
    message = str(caught.value)
    assert caught.value.setting == SETTING
    assert problem in message, message
    assert "\n" not in message


def test_missing_unreadable_and_binary_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_dictionary(tmp_path / "nope.csv")
    with pytest.raises(ConfigError, match="is a directory"):
        load_dictionary(tmp_path)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"ticker,name\nAAPL,\xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_dictionary(binary)
    locked = write(tmp_path, "ticker,name\nAAPL,Apple\n")

    def refuse(*_: object, **__: object) -> None:  # root reads a chmod 0 file: simulate
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(ConfigError, match="not readable"):
        load_dictionary(locked)
