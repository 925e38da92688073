"""`MONITOR_ENTITIES__*`: entity resolution in the consumer (which companies a story names)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from monitor.settings.paths import SHIPPED_ENTITY_DICTIONARY


class EntitySettings(BaseModel):
    enabled: bool = Field(True, description="resolve the companies each story names")
    dictionary: Path = Field(
        SHIPPED_ENTITY_DICTIONARY,
        description="entity dictionary CSV (ticker,name[,aliases][,sector]); default: S&P 500",
    )
    max_per_story: int = Field(
        16, ge=1, le=256, description="entities kept per story (ticker field first, then text)"
    )
