"""Add sentiment_hourly (stories per hour x topic x sentiment) and rollup_state (its watermark).

The Overview reads complete hours of ranges longer than a day from `sentiment_hourly` instead of
aggregating up to ~230k stories per load; `monitor schedule` keeps it current
(`monitor.store.rollup.refresh_sentiment_hourly`), off the ingestion path. See docs/dashboard.md.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 11:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sentiment_hourly",
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("stories", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("neutral", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("hour", "topic", name=op.f("pk_sentiment_hourly")),
    )
    op.create_table(
        "rollup_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sweep_hour", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_rollup_state")),
    )


def downgrade() -> None:
    op.drop_table("rollup_state")
    op.drop_table("sentiment_hourly")
