"""The model registry: versions with their bundles, aliases and their history, training datasets; training jobs;
each prediction's challenger probability

Revision ID: 0015_registry
Revises: 0014_lever_settings
Create Date: 2026-12-06 19:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0015_registry"
down_revision = "0014_lever_settings"
branch_labels = None
depends_on = None


def _kinds(kinds: str) -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_constraint("ck_jobs_kind", type_="check")
        batch_op.create_check_constraint("ck_jobs_kind", f"kind IN ({kinds})")


def upgrade():
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("bundle", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("bundle_metadata", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_detail", sa.String(length=255), nullable=True),
        sa.Column("training_job_id", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('installation', 'hub', 'entrainement')", name="ck_model_versions_source"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version"),
    )
    op.create_table(
        "model_aliases",
        sa.Column("alias", sa.String(length=16), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("alias IN ('actif', 'challenger')", name="ck_model_aliases_alias"),
        sa.ForeignKeyConstraint(
            ["version_id"], ["model_versions.id"], name="fk_model_aliases_version_id_model_versions"
        ),
        sa.PrimaryKeyConstraint("alias"),
    )
    op.create_table(
        "model_alias_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=16), nullable=False),
        sa.Column("from_version_id", sa.Integer(), nullable=True),
        sa.Column("to_version_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=True),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["from_version_id"], ["model_versions.id"], name="fk_alias_events_from_model_versions"),
        sa.ForeignKeyConstraint(["to_version_id"], ["model_versions.id"], name="fk_alias_events_to_model_versions"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("model_alias_events", schema=None) as batch_op:
        batch_op.create_index("ix_model_alias_events_moved_at", ["moved_at", "id"], unique=False)
    op.create_table(
        "training_datasets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("leavers", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    # Nullable columns without a default: PostgreSQL adds them without rewriting the table (millions of rows).
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("challenger_proba", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("challenger_version", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_predictions_challenger",
            ["id"],
            unique=False,
            postgresql_where=sa.text("challenger_proba IS NOT NULL"),
            sqlite_where=sa.text("challenger_proba IS NOT NULL"),
        )
    _kinds("'lot', 'purge', 'training'")


def downgrade():
    op.execute("DELETE FROM jobs WHERE kind = 'training'")
    _kinds("'lot', 'purge'")
    with op.batch_alter_table("predictions", schema=None) as batch_op:
        batch_op.drop_index("ix_predictions_challenger")
        batch_op.drop_column("challenger_version")
        batch_op.drop_column("challenger_proba")
    op.drop_table("training_datasets")
    with op.batch_alter_table("model_alias_events", schema=None) as batch_op:
        batch_op.drop_index("ix_model_alias_events_moved_at")
    op.drop_table("model_alias_events")
    op.drop_table("model_aliases")
    op.drop_table("model_versions")
