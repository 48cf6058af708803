"""Purges run on the job engine: a job's kind may be « purge »

Revision ID: 0012_purge_jobs
Revises: 0011_jobs
Create Date: 2026-12-06 01:00:00

"""

from alembic import op

revision = "0012_purge_jobs"
down_revision = "0011_jobs"
branch_labels = None
depends_on = None


def _kinds(kinds: str) -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint("ck_jobs_kind", type_="check")
        batch_op.create_check_constraint("ck_jobs_kind", f"kind IN ({kinds})")


def upgrade():
    _kinds("'lot', 'purge'")


def downgrade():
    op.execute("DELETE FROM jobs WHERE kind = 'purge'")
    _kinds("'lot'")
