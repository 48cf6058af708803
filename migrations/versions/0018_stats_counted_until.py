"""The daily stats also hold today so far: the instant up to which the day after the last whole one is counted

Revision ID: 0018_stats_counted_until
Revises: 0017_known_outcome_counts
Create Date: 2026-12-07 17:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0018_stats_counted_until"
down_revision = "0017_known_outcome_counts"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("stats_refreshes") as batch:
        batch.add_column(sa.Column("counted_until", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("stats_refreshes") as batch:
        batch.drop_column("counted_until")
