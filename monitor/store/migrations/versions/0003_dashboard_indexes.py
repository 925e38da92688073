"""Dashboard indexes: covering indexes for the sentiment index and an ingested_at index.

The Overview aggregates (time bucket, topic, sentiment, score) over a time range of stories
joined to their current classification. With `published_at` + `id` in one index and the
current labels in another, PostgreSQL answers it from the two indexes alone (index-only scans)
instead of reading both tables. The Pipeline page counts stories per minute of `ingested_at`.
Measured with bench/bench_dashboard.py at 1M stories; see docs/dashboard.md.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stories", schema=None) as batch_op:
        # Same name and key, plus the id (SQLite indexes carry the rowid = id already).
        batch_op.drop_index("ix_stories_published_at")
        batch_op.create_index(
            "ix_stories_published_at", ["published_at"], unique=False, postgresql_include=["id"]
        )
        batch_op.create_index("ix_stories_ingested_at", ["ingested_at"], unique=False)
    with op.batch_alter_table("classifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_classifications_current_labels",
            ["story_id", "topic", "sentiment", "sentiment_score"],
            unique=False,
            postgresql_where=sa.text("is_current"),
            sqlite_where=sa.text("is_current"),
        )


def downgrade() -> None:
    with op.batch_alter_table("classifications", schema=None) as batch_op:
        batch_op.drop_index("ix_classifications_current_labels")
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_index("ix_stories_ingested_at")
        batch_op.drop_index("ix_stories_published_at")
        batch_op.create_index("ix_stories_published_at", ["published_at"], unique=False)
