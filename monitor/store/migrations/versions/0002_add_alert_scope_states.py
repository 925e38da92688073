"""Add alert_scope_states: the detector's per-scope persistence/hysteresis/cooldown memory.

Kept in the database so that a scheduler restart neither forgets a half-confirmed spike nor
shortens a cooldown.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 10:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_scope_states",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("above", sa.Integer(), nullable=False),
        sa.Column("below", sa.Integer(), nullable=False),
        sa.Column("cooldown_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_evaluated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_statistic", sa.Float(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_alert_scope_states")),
    )


def downgrade() -> None:
    op.drop_table("alert_scope_states")
