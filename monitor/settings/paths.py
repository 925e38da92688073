"""Where the monitor's own files are: the shipped model is package data (it ships in the wheel);
the repository root is only for a checkout's training data and benchmarks, never at run time."""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_DIR.parent  # a checkout's root: training data, benchmarks; never at run time
SHIPPED_CHECKPOINT = PACKAGE_DIR / "models" / "lstm-tfns.pt"  # package data: ships in the wheel
SHIPPED_ENTITY_DICTIONARY = PACKAGE_DIR / "entities" / "sp500.csv"  # package data: S&P 500
