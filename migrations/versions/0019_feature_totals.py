"""The daily feature stats summed over every whole day counted, for the drift page's « all » window

Revision ID: 0019_feature_totals
Revises: 0018_stats_counted_until
Create Date: 2026-12-07 23:10:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0019_feature_totals"
down_revision = "0018_stats_counted_until"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "input_feature_totals",
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("feature", sa.String(length=64), nullable=False),
        sa.Column("bin", sa.String(length=64), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("source", "feature", "bin"),
    )


def downgrade():
    op.drop_table("input_feature_totals")
