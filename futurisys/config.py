"""Configuration read from the environment (and a `.env` file) in one place."""

from __future__ import annotations

import os

from dotenv import load_dotenv

from futurisys.storage.db_timeouts import postgres_connect_args

load_dotenv(override=False)

DEV_SECRET_KEY = "dev-only-not-secret"


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on", "oui"}


def database_url(value: str | None) -> str | None:
    """Normalise `postgres://` URLs (Heroku/Spaces style) to the psycopg2 driver SQLAlchemy expects."""
    if value and value.startswith("postgres://"):
        return "postgresql+psycopg2://" + value[len("postgres://") :]
    if value and value.startswith("postgresql://"):
        return "postgresql+psycopg2://" + value[len("postgresql://") :]
    return value


def _seconds(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


#: Bind key of the PostgreSQL engine in autocommit mode that single predictions are written through.
SCORING_BIND = "scoring"


def scoring_binds(url: str, options: dict) -> dict:
    """`SQLALCHEMY_BINDS` for `url`: on PostgreSQL, the same database in autocommit mode for single predictions.

    An engine of its own rather than switching a pooled connection to autocommit and back, which costs a round trip;
    its pool has no overflow (one connection per busy thread is all it needs), so it adds 5 to a worker's budget.
    Other databases declare the bind too, unused: Flask-SQLAlchemy's bind keys are shared by every app it serves.
    """
    if not url.startswith("postgresql"):
        return {SCORING_BIND: {**options, "url": url}}
    return {SCORING_BIND: {**options, "url": url, "isolation_level": "AUTOCOMMIT", "max_overflow": 0}}


def engine_options(url: str, config) -> dict:
    """SQLAlchemy engine options for `url` with the database timeouts of `config` (0 turns one off)."""
    # hide_parameters: an error's message never carries the statement's values (salaries, ages, raw records).
    options = {"pool_recycle": 1800, "hide_parameters": True}
    if url in ("sqlite://", "sqlite:///:memory:"):
        return options  # one shared in-memory connection: no pool to wait on
    options["pool_timeout"] = config["DB_POOL_TIMEOUT"]
    if url.startswith("postgresql"):
        options["connect_args"] = postgres_connect_args(config["DB_CONNECT_TIMEOUT"], config["DB_STATEMENT_TIMEOUT"])
    elif url.startswith("sqlite"):
        # How long a write waits for another writer's lock (SQLite's busy timeout) before failing with a 503.
        options["connect_args"] = {"timeout": config["DB_STATEMENT_TIMEOUT"] or 60.0}
    return options


class Config:
    """Settings from the environment; `create_app(mapping)` overrides any of them (tests do)."""

    # Flask 2.3 removed its own ENV key: ours has another name so it is not mistaken for it.
    DEPLOYMENT = os.environ.get("FUTURISYS_ENV", "development")
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    # None means: an SQLite file in the instance folder (set by create_app).
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL"))
    # No pre-ping: it costs a round trip on every request. A connection dropped by a database restart fails one
    # request with a 503 and SQLAlchemy then discards the whole pool; recycling bounds the age of connections.
    # Set by create_app from the URL and the timeouts below (engine_options), unless given explicitly.
    SQLALCHEMY_ENGINE_OPTIONS = None
    # A frozen or unreachable database must fail a request fast (503), not hang it: seconds to open a connection,
    # to run one statement (cancelled by the server; the client gives up 0.25 s later if the server is silent) and
    # to wait for a free connection in the pool. /ready waits READY_DB_TIMEOUT at most.
    DB_CONNECT_TIMEOUT = _seconds("DB_CONNECT_TIMEOUT", 2)
    DB_STATEMENT_TIMEOUT = _seconds("DB_STATEMENT_TIMEOUT", 2)
    DB_POOL_TIMEOUT = _seconds("DB_POOL_TIMEOUT", 1)
    READY_DB_TIMEOUT = _seconds("READY_DB_TIMEOUT", 1)
    # Per statement of the maintenance commands (purge, daily stats): batches, not the request's few seconds.
    MAINTENANCE_STATEMENT_TIMEOUT = _seconds("MAINTENANCE_STATEMENT_TIMEOUT", 300)
    MODEL_DIR = os.environ.get("MODEL_DIR")  # None means: <instance>/model
    MODEL_REPO = os.environ.get("MODEL_REPO")
    MODEL_REVISION = os.environ.get("MODEL_REVISION", "main")
    # Each process reads the registry's aliases this often: a promoted version is served everywhere within it.
    REGISTRY_CHECK_SECONDS = float(os.environ.get("REGISTRY_CHECK_SECONDS", "2"))
    MODEL_CACHE_DIR = os.environ.get("MODEL_CACHE_DIR")  # unpacked registry versions; None means <instance>/registry
    # Repeats of the 5-fold cross-validation of a training from « Modèles » (5 as `model train`; tests use 1).
    TRAINING_CV_REPEATS = int(os.environ.get("TRAINING_CV_REPEATS", "5"))
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 16 * 1024 * 1024))
    BATCH_MAX_RECORDS = int(os.environ.get("BATCH_MAX_RECORDS", 10_000))
    API_KEYS_REQUIRED = _flag("API_KEYS_REQUIRED")
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None  # when set, /metrics wants it as a bearer token
    # Reverse proxies in front of the app (Spaces: 1): their X-Forwarded-For/-Proto are trusted, so the login
    # throttle sees the client's address. 0 trusts no header.
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", 0))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE", DEPLOYMENT == "production")
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    WTF_CSRF_TIME_LIMIT = None
    # werkzeug's password hashing, "scrypt:N:r:p" or "pbkdf2:sha256:iterations". Production refuses anything
    # cheaper than the default (auth.accounts.strong_hash_method); the tests lower it, since each hash costs ~0.15 s.
    PASSWORD_HASH_METHOD = os.environ.get("PASSWORD_HASH_METHOD", "scrypt:32768:8:1")
    # Key of the employee pseudonyms in the access journal and the flags (HMAC); SECRET_KEY when unset. Keep it
    # stable: a new key stops matching earlier entries to their employee.
    JOURNAL_PSEUDONYM_KEY = os.environ.get("JOURNAL_PSEUDONYM_KEY") or None
    # Where the « élevé » risk band starts, as a probability (« modéré » starts at the model's alert threshold).
    RISK_HIGH_FROM = float(os.environ.get("RISK_HIGH_FROM", 0.40))
    # The job engine (futurisys/jobs): Redis when set, else kombu's SQLAlchemy transport on instance/ (embedded).
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or None
    REDIS_URL = os.environ.get("REDIS_URL") or None
    # A job whose worker has not written progress for this long is sent again (it resumes from its last chunk).
    JOB_STALE_SECONDS = _seconds("JOB_STALE_SECONDS", 60)
    JOB_RECOVER_EVERY = _seconds("JOB_RECOVER_EVERY", 30)
    # A job that failed (or was cut off) this many times is marked « échoué » instead of being sent again.
    JOB_MAX_ATTEMPTS = int(os.environ.get("JOB_MAX_ATTEMPTS", 5))
    # Statements of a worker (a chunk of a lot, its summary) are bounded, but not by a request's few seconds.
    JOB_STATEMENT_TIMEOUT = _seconds("JOB_STATEMENT_TIMEOUT", 120)
    # Lots (background scoring of an HR export): size limits, lines per committed chunk, days the files are kept.
    LOT_MAX_LINES = int(os.environ.get("LOT_MAX_LINES", 500_000))
    LOT_MAX_BYTES = int(os.environ.get("LOT_MAX_BYTES", 256 * 1024 * 1024))
    LOT_CHUNK_LINES = int(os.environ.get("LOT_CHUNK_LINES", 2000))
    LOT_RETENTION_DAYS = float(os.environ.get("LOT_RETENTION_DAYS", 30))
    # Periodic tasks of the engine's beat: the dashboard's daily stats, and the retention classes.
    STATS_REFRESH_EVERY = _seconds("STATS_REFRESH_EVERY", 3600)
    RETENTION_APPLY_EVERY = _seconds("RETENTION_APPLY_EVERY", 86400)
    # A purge rests this many times as long as its last batch took, between batches: the database keeps serving
    # /predict while millions of rows go (0: no rest, as fast as possible).
    PURGE_PAUSE_RATIO = float(os.environ.get("PURGE_PAUSE_RATIO", 1.0))
    # Seconds « Performance réelle » may spend summarising months; what is left goes to the job engine.
    OUTCOMES_PAGE_BUDGET = _seconds("OUTCOMES_PAGE_BUDGET", 1.0)
