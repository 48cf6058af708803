"""Database tables. The feature columns of `inputs` and `employees_dataset` are generated from the schema."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.ext.hybrid import hybrid_property
from werkzeug.security import check_password_hash, generate_password_hash

from futurisys.domain.schema import DATASET_COLUMNS, FEATURE_NAMES, ID, SHARED_NAMES, TARGET, feature
from futurisys.extensions import db

#: Where an input came from: the JSON API, the HR form, a what-if, the batch API, the HR CSV upload (« lot »).
SOURCES = ("api", "form", "whatif", "batch", "lot")
EMPLOYEE_REF_LENGTH = 32


def utcnow() -> datetime:
    """Timezone-aware now, in UTC."""
    return datetime.now(UTC)


def new_session_token() -> str:
    """A random token that ties session cookies to the account's current sessions."""
    return secrets.token_hex(16)


def column_type(kind: str):
    """The SQL type of a schema field kind."""
    return {"int": sa.Integer, "float": sa.Float, "bool": sa.Boolean, "category": lambda: sa.String(64)}[kind]()


def compact_raw(raw: dict | None) -> dict | None:
    """What `inputs.raw_record` stores of a raw HR record: only the fields the feature columns do not hold."""
    return None if raw is None else {name: value for name, value in raw.items() if name not in SHARED_NAMES}


def _typed_columns(names, nullable: bool = False) -> list[sa.Column]:
    return [sa.Column(name, column_type(feature(name).kind), nullable=nullable) for name in names]


class EmployeeDataset(db.Model):
    """The reference dataset (32 columns, exact names). Filled by `data load`, never written by users."""

    __table__ = sa.Table(
        "employees_dataset",
        db.metadata,
        sa.Column(ID, sa.Integer, primary_key=True, autoincrement=False),
        sa.Column(TARGET, sa.Boolean, nullable=False),
        *_typed_columns(name for name in DATASET_COLUMNS if name not in (ID, TARGET)),
    )


class Input(db.Model):
    """One employee record sent for scoring: the 30 features, and the raw HR record when one was sent."""

    __table__ = sa.Table(
        "inputs",
        db.metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        *_typed_columns(name for name in FEATURE_NAMES if feature(name).required),
        # The protected attributes: stored when given, read only by the fairness checks.
        *_typed_columns((name for name in FEATURE_NAMES if not feature(name).required), nullable=True),
        # SQL NULL (not JSON null) when only the 30 features were sent.
        sa.Column("raw_record", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, default=utcnow, index=True),
        # A what-if points at the input it was derived from.
        sa.Column(
            "parent_input_id", sa.Integer, sa.ForeignKey("inputs.id", ondelete="SET NULL"), nullable=True, index=True
        ),
        # HR pages: the unguessable id in the evaluation's URL, its author and the employee's reference (no names).
        sa.Column("public_id", sa.String(32), nullable=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", ondelete="SET NULL", name="fk_inputs_user_id_users"),
            nullable=True,
        ),
        sa.Column("employee_ref", sa.String(EMPLOYEE_REF_LENGTH), nullable=True, index=True),
        # A line of a lot (futurisys/jobs): the lot and the line's number in its file, stored once whatever the
        # number of times a worker ran the chunk holding it.
        sa.Column(
            "lot_id",
            sa.String(32),
            sa.ForeignKey("jobs.id", ondelete="SET NULL", name="fk_inputs_lot_id_jobs"),
            nullable=True,
        ),
        sa.Column("lot_line", sa.Integer, nullable=True),
        sa.CheckConstraint(f"source IN ({', '.join(repr(s) for s in SOURCES)})", name="ck_inputs_source"),
        sa.UniqueConstraint("public_id", name="uq_inputs_public_id"),
        sa.UniqueConstraint("lot_id", "lot_line", name="uq_inputs_lot_line"),
        # Keyset pages and filters read these in order (futurisys/admin/queries.py, web/history.py, docs/scale.md).
        sa.Index("ix_inputs_source_created_at", "source", "created_at"),
        sa.Index("ix_inputs_user_id_created_at", "user_id", "created_at", "id"),
        sa.Index(
            "ix_inputs_evaluations_created_at",
            "created_at",
            "id",
            postgresql_where=sa.text("public_id IS NOT NULL"),
            sqlite_where=sa.text("public_id IS NOT NULL"),
        ),
        # « Vue équipes » (futurisys/teams/queries.py): each reference's evaluations in time order, and the next
        # reference after one (a skip scan over the references, whatever the number of evaluations); what the
        # page reads of each is in the index too, so that PostgreSQL answers from it without visiting the table.
        sa.Index(
            "ix_inputs_evaluations_ref_created_at",
            "employee_ref",
            "created_at",
            "id",
            postgresql_include=["departement", "poste", "source", "user_id"],
            postgresql_where=sa.text("public_id IS NOT NULL"),
            sqlite_where=sa.text("public_id IS NOT NULL"),
        ),
        # …and the evaluations without a reference it does not count, but names (usually none or a few).
        sa.Index(
            "ix_inputs_unreferenced_evaluations",
            "created_at",
            postgresql_where=sa.text("public_id IS NOT NULL AND employee_ref IS NULL"),
            sqlite_where=sa.text("public_id IS NOT NULL AND employee_ref IS NULL"),
        ),
    )
    stored_raw = __table__.c.raw_record

    @hybrid_property
    def raw_record(self) -> dict | None:
        """The raw HR record as sent: its stored fields completed by the feature columns that repeat the others.

        Rows written before only the other fields were stored hold all 27: the stored values then simply win.
        """
        if self.stored_raw is None:
            return None
        return {**{name: getattr(self, name) for name in SHARED_NAMES}, **self.stored_raw}

    @raw_record.inplace.setter
    def _raw_record_setter(self, value: dict | None) -> None:
        self.stored_raw = compact_raw(value)

    @raw_record.inplace.expression
    @classmethod
    def _raw_record_expression(cls):
        return cls.stored_raw


class Prediction(db.Model):
    """The model's answer for one input, with what is needed to trace it."""

    __tablename__ = "predictions"
    id = sa.Column(sa.Integer, primary_key=True)
    input_id = sa.Column(sa.Integer, sa.ForeignKey("inputs.id", ondelete="CASCADE"), nullable=False, unique=True)
    prediction_label = sa.Column(sa.String(8), nullable=False)
    prediction_proba = sa.Column(sa.Float, nullable=False)
    threshold = sa.Column(sa.Float, nullable=False)
    model_version = sa.Column(sa.String(64), nullable=False)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    latency_ms = sa.Column(sa.Float, nullable=False)
    api_key_name = sa.Column(sa.String(64), nullable=True)
    # The challenger's probability for the same input, scored in the shadow (never shown to HR nor returned).
    challenger_proba = sa.Column(sa.Float, nullable=True)
    challenger_version = sa.Column(sa.String(64), nullable=True)
    input = db.relationship(Input, backref=db.backref("prediction", uselist=False, passive_deletes=True))
    # One index per (filter, sort) of the history, each ending in the keyset's tie-breaker `id`; no index on a
    # column of a handful of values alone (label, version): those lead composite ones instead.
    __table_args__ = (
        sa.Index("ix_predictions_created_at_id", "created_at", "id"),
        sa.Index("ix_predictions_proba_id", "prediction_proba", "id"),
        sa.Index("ix_predictions_label_created_at", "prediction_label", "created_at", "id"),
        sa.Index("ix_predictions_label_proba", "prediction_label", "prediction_proba", "id"),
        sa.Index("ix_predictions_version_created_at", "model_version", "created_at", "id"),
        sa.Index("ix_predictions_version_proba", "model_version", "prediction_proba", "id"),
        # The shadow's summary reads the latest challenger-scored rows: a partial index, empty without a challenger.
        sa.Index(
            "ix_predictions_challenger",
            "id",
            postgresql_where=sa.text("challenger_proba IS NOT NULL"),
            sqlite_where=sa.text("challenger_proba IS NOT NULL"),
        ),
    )


class User(UserMixin, db.Model):
    """An account of the admin area (role `admin`), of HR staff (role `hr`) or of the DPO (role `dpo`, read-only)."""

    __tablename__ = "users"
    ROLES = ("admin", "hr", "dpo")
    id = sa.Column(sa.Integer, primary_key=True)
    username = sa.Column(sa.String(64), nullable=False, unique=True)
    password_hash = sa.Column(sa.String(256), nullable=False)
    role = sa.Column(sa.String(16), nullable=False)
    created_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)
    last_login_at = sa.Column(sa.DateTime(timezone=True), nullable=True)
    disabled_at = sa.Column(sa.DateTime(timezone=True), nullable=True)
    # Part of the session cookie's user id: a new token (logout, password change) ends every earlier session.
    session_token = sa.Column(sa.String(64), nullable=False, default=new_session_token)

    @property
    def is_active(self) -> bool:
        """Disabled accounts cannot log in, and their open sessions end."""
        return self.disabled_at is None

    def get_id(self) -> str:
        """The id Flask-Login keeps in the session: the account and its current session token."""
        return f"{self.id}:{self.session_token}"

    def end_sessions(self) -> None:
        """Invalidate every session of this account (the caller commits)."""
        self.session_token = new_session_token()
        # The sessions ended one by one are now ended by the new token too: their marks are no longer needed.
        db.session.execute(sa.delete(EndedSession).where(EndedSession.user_id == self.id))

    def set_password(self, password: str, method: str) -> None:
        """Store a salted hash of `password` (werkzeug's `method`) and end the sessions opened with the old one."""
        self.password_hash = generate_password_hash(password, method=method)
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        """Whether `password` matches the stored hash."""
        return check_password_hash(self.password_hash, password)


class EndedSession(db.Model):
    """One session logged out on its own (its id was in its cookie): a copy of that cookie no longer signs in."""

    __tablename__ = "ended_sessions"
    session_id = sa.Column(sa.String(64), primary_key=True)
    user_id = sa.Column(sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    ended_at = sa.Column(sa.DateTime(timezone=True), nullable=False, default=utcnow)


class LoginFailure(db.Model):
    """A login attempt under way or failed, kept to throttle guessing per account, device and address."""

    __tablename__ = "login_failures"
    id = sa.Column(sa.Integer, primary_key=True)
    username = sa.Column(sa.String(64), nullable=False, index=True)
    address = sa.Column(sa.String(64), nullable=False, index=True)
    # The device cookie's id when the attempt came with a valid one (OWASP device cookies), else NULL.
    device = sa.Column(sa.String(64), nullable=True, index=True)
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


class DailyStat(db.Model):
    """Predictions of one Paris day per source, label, histogram bin and model version (futurisys/storage/stats.py)."""

    __tablename__ = "prediction_daily_stats"
    day = sa.Column(sa.Date, primary_key=True)
    source = sa.Column(sa.String(16), primary_key=True)
    prediction_label = sa.Column(sa.String(8), primary_key=True)
    bin = sa.Column(sa.SmallInteger, primary_key=True, autoincrement=False)  # probability bin, 0 to 19 (5 % wide)
    model_version = sa.Column(sa.String(64), primary_key=True)
    n = sa.Column(sa.Integer, nullable=False)
    proba_sum = sa.Column(sa.Float, nullable=False)


class FeatureDailyStat(db.Model):
    """Inputs of one Paris day per source, feature and drift bin (a category, or a reference quantile bin)."""

    __tablename__ = "input_feature_daily_stats"
    day = sa.Column(sa.Date, primary_key=True)
    source = sa.Column(sa.String(16), primary_key=True)
    feature = sa.Column(sa.String(64), primary_key=True)
    bin = sa.Column(sa.String(64), primary_key=True)
    n = sa.Column(sa.Integer, nullable=False)


class FeatureTotal(db.Model):
    """Inputs of every whole day up to the `feature_totals` mark per source, feature and drift bin (the daily stats
    summed: the drift page's « all » window reads these instead of a row per day of the history)."""

    __tablename__ = "input_feature_totals"
    source = sa.Column(sa.String(16), primary_key=True)
    feature = sa.Column(sa.String(64), primary_key=True)
    bin = sa.Column(sa.String(64), primary_key=True)
    n = sa.Column(sa.BigInteger, nullable=False)


class StatsRefresh(db.Model):
    """Up to which day the daily stats are complete, and the reference bins the feature stats were counted in."""

    __tablename__ = "stats_refreshes"
    name = sa.Column(sa.String(32), primary_key=True)
    through = sa.Column(sa.Date, nullable=True)  # last complete Paris day
    # The next day's rows created before this instant are counted too (today so far; None: none of them).
    counted_until = sa.Column(sa.DateTime(timezone=True), nullable=True)
    fingerprint = sa.Column(sa.String(64), nullable=True)
