"""Database tables. The feature columns of `inputs` and `employees_dataset` are generated from the schema."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from futurisys.extensions import db
from futurisys.schema import DATASET_COLUMNS, FEATURE_NAMES, ID, TARGET, feature

SOURCES = ("api", "form", "whatif", "batch")


def utcnow() -> datetime:
    """Timezone-aware now, in UTC."""
    return datetime.now(timezone.utc)


def column_type(kind: str):
    """The SQL type of a schema field kind."""
    return {"int": sa.Integer, "float": sa.Float, "bool": sa.Boolean, "category": lambda: sa.String(64)}[kind]()


def _typed_columns(names, nullable: bool = False) -> list[sa.Column]:
    return [sa.Column(name, column_type(feature(name).kind), nullable=nullable) for name in names]


class EmployeeDataset(db.Model):
    """The reference dataset (32 columns, exact names). Filled by `data load`, never written by users."""

    __table__ = sa.Table(
        "employees_dataset", db.metadata,
        sa.Column(ID, sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(TARGET, sa.Boolean, nullable=False),
        *_typed_columns(name for name in DATASET_COLUMNS if name not in (ID, TARGET)),
    )


class Input(db.Model):
    """One employee record sent for scoring: the 30 features, and the raw HR record when one was sent."""

    __table__ = sa.Table(
        "inputs", db.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        *_typed_columns(FEATURE_NAMES),
        # SQL NULL (not JSON null) when only the 30 features were sent.
        sa.Column("raw_record", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("source", sa.String(16), nullable=False, index=True),
        sa.Column("request_id", sa.String(64), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, default=utcnow, index=True),
        # A what-if points at the input it was derived from.
        sa.Column("parent_input_id", sa.Integer, sa.ForeignKey("inputs.id", ondelete="SET NULL"), nullable=True),
        sa.CheckConstraint(f"source IN ({', '.join(repr(s) for s in SOURCES)})", name="ck_inputs_source"),
    )


class Prediction(db.Model):
    """The model's answer for one input, with what is needed to trace it."""

    __tablename__ = "predictions"
    id = sa.Column(sa.Integer, primary_key=True)
    input_id = sa.Column(sa.Integer, sa.ForeignKey("inputs.id", ondelete="CASCADE"), nullable=False, unique=True)
    prediction_label = sa.Column(sa.String(8), nullable=False, index=True)
    prediction_proba = sa.Column(sa.Float, nullable=False, index=True)
    threshold = sa.Column(sa.Float, nullable=False)
    model_version = sa.Column(sa.String(64), nullable=False, index=True)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    latency_ms = sa.Column(sa.Float, nullable=False)
    api_key_name = sa.Column(sa.String(64), nullable=True)
    input = db.relationship(Input, backref=db.backref("prediction", uselist=False, passive_deletes=True))


class User(UserMixin, db.Model):
    """An account of the admin area (role `admin`) or of HR staff (role `hr`)."""

    __tablename__ = "users"
    ROLES = ("admin", "hr")
    id = sa.Column(sa.Integer, primary_key=True)
    username = sa.Column(sa.String(64), nullable=False, unique=True)
    password_hash = sa.Column(sa.String(256), nullable=False)
    role = sa.Column(sa.String(16), nullable=False)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    last_login_at = sa.Column(sa.DateTime(timezone=True), nullable=True)

    def set_password(self, password: str) -> None:
        """Store a salted hash of `password` (werkzeug's scrypt)."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """Whether `password` matches the stored hash."""
        return check_password_hash(self.password_hash, password)


class LoginFailure(db.Model):
    """A failed login attempt, kept to throttle guessing per account and per address (across workers)."""

    __tablename__ = "login_failures"
    id = sa.Column(sa.Integer, primary_key=True)
    username = sa.Column(sa.String(64), nullable=False, index=True)
    address = sa.Column(sa.String(64), nullable=False, index=True)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow, index=True)


class ApiKey(db.Model):
    """An integrator's API key, stored as a SHA-256 hash (the key itself is shown once)."""

    __tablename__ = "api_keys"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(64), nullable=False, unique=True)
    key_hash = sa.Column(sa.String(64), nullable=False, unique=True)
    prefix = sa.Column(sa.String(12), nullable=False)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    revoked_at = sa.Column(sa.DateTime(timezone=True), nullable=True)
