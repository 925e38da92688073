"""`monitor alerts silence add|list|expire` against a real database."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy.orm import Session, sessionmaker

from monitor.cli import cli

pytestmark = pytest.mark.integration


@pytest.fixture
def run(pg_url: str, clean_db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MONITOR_DATABASE__URL", pg_url)

    def invoke(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(cli, ["alerts", "silence", *args])
        return result.exit_code, result.output

    return invoke


def test_add_list_expire(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run(
        "add",
        "--scope",
        "Energy | Oil",
        "--duration",
        "90m",
        "--author",
        "alice",
        "--reason",
        "OPEC meeting",
    )
    assert code == 0, out
    assert out.startswith("created silence #1 [active] scope = Energy | Oil")
    assert "by alice · OPEC meeting" in out
    code, out = run(
        "add",
        "--match",
        "Macro*",
        "--until",
        "2099-01-01T00:00Z",
        "--author",
        "bob",
        "--reason",
        "CPI",
    )
    assert code == 0 and "scope ~ Macro*" in out and "2099-01-01 00:00 UTC" in out

    code, out = run("list")
    assert code == 0 and out.count("\n") == 2 and out.startswith("#1 [active]")
    code, out = run("expire", "1", "--author", "carol")
    assert code == 0 and "expired by carol" in out
    code, out = run("list", "--all", "--json")
    states = {row["id"]: row["state"] for row in map(json.loads, out.splitlines())}
    assert states == {1: "expired", 2: "active"}


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--author", "a", "--reason", "r"], "exactly one of --scope or --match"),
        (
            ["--scope", "x", "--until", "2001-01-01T00:00Z", "--author", "a", "--reason", "r"],
            "in the future",
        ),
        (
            ["--scope", "x", "--duration", "soon", "--author", "a", "--reason", "r"],
            "not a duration",
        ),
        (
            ["--scope", "x", "--until", "tomorrow", "--author", "a", "--reason", "r"],
            "is not a time",
        ),
    ],
)
def test_bad_silences_are_refused_with_the_reason(run, args: list[str], problem: str) -> None:  # type: ignore[no-untyped-def]
    code, out = run("add", *args)
    assert code == 2 and problem in out
    assert run("list")[1].strip() == "no active or pending silences"


def test_expiring_an_unknown_silence(run) -> None:  # type: ignore[no-untyped-def]
    code, out = run("expire", "999", "--author", "carol")
    assert code == 2 and "there is no silence #999" in out
