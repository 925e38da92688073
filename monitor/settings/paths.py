"""Where the repository's files are: the shipped model, migrations, the dashboard app."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_CHECKPOINT = REPO_ROOT / "models" / "lstm-tfns.pt"
