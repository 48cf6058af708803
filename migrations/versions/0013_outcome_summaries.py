"""Monthly summaries of outcomes for « Performance réelle » (a cache forgotten when departures or predictions change)

Revision ID: 0013_outcome_summaries
Revises: 0012_purge_jobs
Create Date: 2026-12-06 01:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0013_outcome_summaries"
down_revision = "0012_purge_jobs"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "outcome_summaries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("horizon", sa.SmallInteger(), nullable=False),
        sa.Column("kinds", sa.String(length=255), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("mature", sa.Boolean(), nullable=False),
        sa.Column("valid_on", sa.Date(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("model_version", "horizon", "kinds", "month", name="uq_outcome_summaries_key"),
    )
    with op.batch_alter_table("outcome_summaries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outcome_summaries_month"), ["month"], unique=False)


def downgrade():
    with op.batch_alter_table("outcome_summaries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcome_summaries_month"))
    op.drop_table("outcome_summaries")
