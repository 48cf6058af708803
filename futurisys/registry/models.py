"""The registry's tables: model versions (immutable bundles), aliases and their append-only history, datasets."""

from __future__ import annotations

import sqlalchemy as sa

from futurisys.extensions import db
from futurisys.storage.models import utcnow

#: The aliases a version can hold: the one served, and the one scored in the shadow.
ACTIVE, CHALLENGER = "actif", "challenger"
ALIASES = (ACTIVE, CHALLENGER)
#: Where a version came from.
SOURCES = {"installation": "Installation", "hub": "Hugging Face Hub", "entrainement": "Entraînement"}


class ModelVersion(db.Model):
    """One model bundle, stored whole (a zip of its files) with its digest: never modified once written."""

    __tablename__ = "model_versions"
    id = sa.Column(sa.Integer, primary_key=True)
    version = sa.Column(sa.String(64), nullable=False, unique=True)
    sha256 = sa.Column(sa.String(64), nullable=False)
    bundle = sa.Column(sa.LargeBinary, nullable=False)
    size = sa.Column(sa.Integer, nullable=False)
    # The bundle's metadata.json, readable by the pages without unpacking the bundle.
    bundle_metadata = sa.Column(sa.JSON, nullable=False)
    source = sa.Column(sa.String(16), nullable=False)
    source_detail = sa.Column(sa.String(255), nullable=True)  # the Hub revision, the datasets trained on
    training_job_id = sa.Column(sa.String(32), nullable=True)
    created_by = sa.Column(sa.String(64), nullable=True)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    __table_args__ = (
        sa.CheckConstraint(f"source IN ({', '.join(repr(s) for s in SOURCES)})", name="ck_model_versions_source"),
    )


class ModelAlias(db.Model):
    """Which version an alias points at now (a challenger may be unset)."""

    __tablename__ = "model_aliases"
    alias = sa.Column(sa.String(16), primary_key=True)
    version_id = sa.Column(
        sa.Integer,
        sa.ForeignKey("model_versions.id", name="fk_model_aliases_version_id_model_versions"),
        nullable=True,
        index=True,
    )
    moved_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    __table_args__ = (sa.CheckConstraint(f"alias IN {ALIASES!r}", name="ck_model_aliases_alias"),)


class AliasEvent(db.Model):
    """One move of an alias: who, when, from which version to which, why, and the warnings confirmed (append-only)."""

    __tablename__ = "model_alias_events"
    id = sa.Column(sa.Integer, primary_key=True)
    alias = sa.Column(sa.String(16), nullable=False)
    from_version_id = sa.Column(
        sa.Integer,
        sa.ForeignKey("model_versions.id", name="fk_alias_events_from_model_versions"),
        nullable=True,
        index=True,
    )
    to_version_id = sa.Column(
        sa.Integer,
        sa.ForeignKey("model_versions.id", name="fk_alias_events_to_model_versions"),
        nullable=True,
        index=True,
    )
    username = sa.Column(sa.String(64), nullable=True)  # None: the service itself (first start)
    reason = sa.Column(sa.Text, nullable=False)
    warnings = sa.Column(sa.JSON, nullable=True)  # the French warnings the admin confirmed (« je confirme »)
    moved_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    __table_args__ = (sa.Index("ix_model_alias_events_moved_at", "moved_at", "id"),)


class TrainingDataset(db.Model):
    """A labelled HR history an admin uploaded: its rows (raw records and departures), gzip'd JSON."""

    __tablename__ = "training_datasets"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(100), nullable=False, unique=True)
    rows = sa.Column(sa.Integer, nullable=False)
    leavers = sa.Column(sa.Integer, nullable=False)
    content = sa.Column(sa.LargeBinary, nullable=False)
    md5 = sa.Column(sa.String(32), nullable=False)
    uploaded_by = sa.Column(sa.String(64), nullable=True)
    uploaded_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
