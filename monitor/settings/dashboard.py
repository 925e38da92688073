"""`MONITOR_DASHBOARD__*`: where the Streamlit dashboard listens and how often it refreshes."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DashboardSettings(BaseModel):
    url: str = Field("http://127.0.0.1:8501", description="public URL, used in alert links")
    host: str = "127.0.0.1"
    port: int = Field(8501, ge=0, le=65_535)
    refresh_s: float = Field(5.0, gt=0, description="live refresh period")
