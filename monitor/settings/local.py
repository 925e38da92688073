"""`MONITOR_LOCAL__*`: `monitor up` only, where the all-in-one keeps its state and how it
replays the demo."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class LocalSettings(BaseModel):
    data_dir: Path = Field(Path("var"), description="embedded broker data, SQLite file, markers")
    replay_speed: float = Field(4.0, gt=0, description="demo's live tail, × real time")
    replay_live_minutes: float = Field(
        10.0, ge=0, description="minutes at the end of the demo feed replayed live"
    )
