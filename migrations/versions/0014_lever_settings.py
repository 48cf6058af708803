"""The lever catalogue of « Que faire ? » as admins set it

Revision ID: 0014_lever_settings
Revises: 0013_outcome_summaries
Create Date: 2026-12-06 01:45:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0014_lever_settings"
down_revision = "0013_outcome_summaries"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "lever_settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("max_change", sa.Float(), nullable=False),
        sa.Column("step", sa.Float(), nullable=False),
        sa.Column("cost", sa.SmallInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade():
    op.drop_table("lever_settings")
