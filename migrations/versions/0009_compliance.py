"""Compliance: append-only access journal (triggers), settings, employee flags, HR decisions

Revision ID: 0009_compliance
Revises: 0003_idempotency
Create Date: 2026-12-03 15:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0009_compliance"
down_revision = "0007_outcomes"
branch_labels = None
depends_on = None

# UPDATE is always refused; DELETE only of entries older than 6 months (the journal's shortest retention), which
# only `retention apply` asks for. Kept as text here: a migration does not import application code.
POSTGRES_FUNCTION = """
CREATE FUNCTION access_journal_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'DELETE' AND OLD.created_at < now() - interval '6 months' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'access_journal is append-only: % refused', TG_OP;
END
$$ LANGUAGE plpgsql
"""
POSTGRES_TRIGGER = (
    "CREATE TRIGGER access_journal_append_only BEFORE UPDATE OR DELETE ON access_journal "
    "FOR EACH ROW EXECUTE FUNCTION access_journal_append_only()"
)
SQLITE_TRIGGERS = (
    "CREATE TRIGGER access_journal_no_update BEFORE UPDATE ON access_journal "
    "BEGIN SELECT RAISE(ABORT, 'access_journal is append-only: UPDATE refused'); END",
    "CREATE TRIGGER access_journal_no_delete BEFORE DELETE ON access_journal "
    "WHEN OLD.created_at >= datetime('now', '-6 months') "
    "BEGIN SELECT RAISE(ABORT, 'access_journal is append-only: DELETE refused'); END",
)


def upgrade():
    op.create_table(
        "access_journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("employee_key", sa.String(length=64), nullable=True),
        sa.Column("input_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("seq"),
    )
    with op.batch_alter_table("access_journal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_journal_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_journal_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_journal_employee_key"), ["employee_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_access_journal_user_id"), ["user_id"], unique=False)
    op.create_table(
        "compliance_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "employee_flags",
        sa.Column("employee_key", sa.String(length=64), nullable=False),
        sa.Column("legal_hold", sa.Boolean(), nullable=False),
        sa.Column("objection", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("employee_key"),
    )
    op.create_table(
        "evaluation_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("input_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("follows_model", sa.Boolean(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "action IN ('aucune_action', 'entretien', 'action_retention')", name="ck_evaluation_decisions_action"
        ),
        sa.ForeignKeyConstraint(
            ["input_id"], ["inputs.id"], name="fk_evaluation_decisions_input_id_inputs", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_evaluation_decisions_user_id_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("evaluation_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evaluation_decisions_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_evaluation_decisions_input_id"), ["input_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS access_journal_append_only ON access_journal")
        op.execute("DROP FUNCTION IF EXISTS access_journal_append_only()")
    op.drop_table("evaluation_decisions")
    op.drop_table("employee_flags")
    op.drop_table("compliance_settings")
    op.drop_table("access_journal")
