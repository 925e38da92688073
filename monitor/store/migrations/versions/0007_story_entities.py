"""Add story_entities (the companies a story names, with the sentiment towards each), their
hourly rollup entity_hourly, and the scope kind and signal of an alert (topic share, entity share,
entity volume). See docs/design.md ("Data model") and docs/alerts.md.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "story_entities",
        sa.Column("story_id", BigId, nullable=False),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("mention", sa.String(length=256), nullable=False),
        sa.Column("span_start", sa.Integer(), nullable=True),
        sa.Column("span_end", sa.Integer(), nullable=True),
        sa.Column("matched_by", sa.String(length=16), nullable=False),
        sa.Column("sector", sa.String(length=64), nullable=True),
        sa.Column("sentiment", sa.String(length=16), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("from_mention", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_story_entities_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("story_id", "entity", name=op.f("pk_story_entities")),
    )
    op.create_index("ix_story_entities_entity", "story_entities", ["entity", "story_id"])
    op.create_table(
        "entity_hourly",
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sector", sa.String(length=64), nullable=True),
        sa.Column("stories", sa.Integer(), nullable=False),
        sa.Column("negative", sa.Integer(), nullable=False),
        sa.Column("neutral", sa.Integer(), nullable=False),
        sa.Column("positive", sa.Integer(), nullable=False),
        sa.Column("score_sum", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("entity", "hour", name=op.f("pk_entity_hourly")),
    )
    op.create_index("ix_entity_hourly_hour", "entity_hourly", ["hour"])
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(
            sa.Column("scope_kind", sa.String(length=16), nullable=False, server_default="topic")
        )
        batch.add_column(
            sa.Column("signal", sa.String(length=16), nullable=False, server_default="share")
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("signal")
        batch.drop_column("scope_kind")
    op.drop_index("ix_entity_hourly_hour", table_name="entity_hourly")
    op.drop_table("entity_hourly")
    op.drop_index("ix_story_entities_entity", table_name="story_entities")
    op.drop_table("story_entities")
