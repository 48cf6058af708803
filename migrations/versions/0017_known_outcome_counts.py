"""How many employees have a known outcome (the « Modèles » page's source « issues »), counted off the page

Revision ID: 0017_known_outcome_counts
Revises: 0016_team_view
Create Date: 2026-12-07 15:15:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0017_known_outcome_counts"
down_revision = "0016_team_view"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "known_outcome_counts",
        sa.Column("kinds", sa.String(255), primary_key=True),
        sa.Column("employees", sa.Integer, nullable=False),
        sa.Column("leavers", sa.Integer, nullable=False),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade():
    op.drop_table("known_outcome_counts")
