"""Jobs of the job engine and their files; lines of a lot stored with the lot's id and line number

Revision ID: 0011_jobs
Revises: 0004_hardening
Create Date: 2026-12-04 08:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0011_jobs"
down_revision = "0004_hardening"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("phase", sa.String(16), nullable=True),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("api_key_name", sa.String(64), nullable=True),
        sa.Column("file_name", sa.String(255), nullable=True),
        sa.Column("file_bytes", sa.BigInteger(), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease", sa.String(32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("files_deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_jobs_user_id_users", ondelete="SET NULL"),
        sa.CheckConstraint(
            "status IN ('en_attente', 'en_cours', 'termine', 'echoue', 'annule')", name="ck_jobs_status"
        ),
        sa.CheckConstraint("kind IN ('lot')", name="ck_jobs_kind"),
    )
    op.create_index("ix_jobs_user_id_created_at", "jobs", ["user_id", "created_at"])
    op.create_index("ix_jobs_status_heartbeat_at", "jobs", ["status", "heartbeat_at"])
    op.create_table(
        "job_chunks",
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("role", sa.String(8), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("role IN ('upload', 'result', 'errors')", name="ck_chunks_role"),
    )
    with op.batch_alter_table("inputs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lot_id", sa.String(32), nullable=True))
        batch_op.add_column(sa.Column("lot_line", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_inputs_lot_id_jobs", "jobs", ["lot_id"], ["id"], ondelete="SET NULL")
        batch_op.create_unique_constraint("uq_inputs_lot_line", ["lot_id", "lot_line"])


def downgrade():
    with op.batch_alter_table("inputs", schema=None) as batch_op:
        batch_op.drop_constraint("uq_inputs_lot_line", type_="unique")
        batch_op.drop_constraint("fk_inputs_lot_id_jobs", type_="foreignkey")
        batch_op.drop_column("lot_line")
        batch_op.drop_column("lot_id")
    op.drop_table("job_chunks")
    op.drop_index("ix_jobs_status_heartbeat_at", table_name="jobs")
    op.drop_index("ix_jobs_user_id_created_at", table_name="jobs")
    op.drop_table("jobs")
