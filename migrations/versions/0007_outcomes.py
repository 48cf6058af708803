"""Departures recorded by HR, and the append-only history of their changes

Revision ID: 0007_outcomes
Revises: 0003_idempotency
Create Date: 2026-12-03 15:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0007_outcomes"
down_revision = "0003_idempotency"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "departures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employee_ref", sa.String(length=32), nullable=False),
        sa.Column("departure_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("source IN ('form', 'csv', 'api')", name="ck_departures_source"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("employee_ref", "departure_date", "kind", name="uq_departures_ref_date_kind"),
    )
    op.create_table(
        "departure_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("departure_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("employee_ref", sa.String(length=32), nullable=False),
        sa.Column("departure_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("previous", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("api_key_name", sa.String(length=64), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('creation', 'correction', 'suppression')", name="ck_departure_changes_action"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_departure_changes_user_id_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("departure_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_departure_changes_departure_id"), ["departure_id"], unique=False)


def downgrade():
    with op.batch_alter_table("departure_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_departure_changes_departure_id"))
    op.drop_table("departure_changes")
    op.drop_table("departures")
