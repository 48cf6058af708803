"""The lever catalogue of « Que faire ? » as admins set it, and the proposals HR marked « action engagée »

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
    op.create_table(
        "engaged_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("input_id", sa.Integer(), nullable=False),
        sa.Column("levers", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("proba_before", sa.Float(), nullable=False),
        sa.Column("proba_after", sa.Float(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["input_id"], ["inputs.id"], name="fk_engaged_actions_input_id_inputs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_engaged_actions_user_id_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("engaged_actions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_engaged_actions_input_id"), ["input_id"], unique=False)


def downgrade():
    with op.batch_alter_table("engaged_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engaged_actions_input_id"))
    op.drop_table("engaged_actions")
    op.drop_table("lever_settings")
