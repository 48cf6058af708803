"""Configuration read from the environment (and a `.env` file) in one place."""
from __future__ import annotations

import os

from dotenv import load_dotenv

load_dotenv(override=False)

DEV_SECRET_KEY = "dev-only-not-secret"


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on", "oui"}


def database_url(value: str | None) -> str | None:
    """Normalise `postgres://` URLs (Heroku/Spaces style) to the psycopg2 driver SQLAlchemy expects."""
    if value and value.startswith("postgres://"):
        return "postgresql+psycopg2://" + value[len("postgres://"):]
    if value and value.startswith("postgresql://"):
        return "postgresql+psycopg2://" + value[len("postgresql://"):]
    return value


class Config:
    """Settings from the environment; `create_app(mapping)` overrides any of them (tests do)."""

    ENV = os.environ.get("FUTURISYS_ENV", "development")
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    # None means: an SQLite file in the instance folder (set by create_app).
    SQLALCHEMY_DATABASE_URI = database_url(os.environ.get("DATABASE_URL"))
    # No pre-ping: it costs a round trip on every request. A connection dropped by a database restart fails one
    # request with a 503 and SQLAlchemy then discards the whole pool; recycling bounds the age of connections.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": 1800}
    MODEL_DIR = os.environ.get("MODEL_DIR")  # None means: <instance>/model
    MODEL_REPO = os.environ.get("MODEL_REPO")
    MODEL_REVISION = os.environ.get("MODEL_REVISION", "main")
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 16 * 1024 * 1024))
    BATCH_MAX_RECORDS = int(os.environ.get("BATCH_MAX_RECORDS", 10_000))
    API_KEYS_REQUIRED = _flag("API_KEYS_REQUIRED")
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None  # when set, /metrics wants it as a bearer token
    # Reverse proxies in front of the app (Spaces: 1): their X-Forwarded-For/-Proto are trusted, so the login
    # throttle sees the client's address. 0 trusts no header.
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", 0))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _flag("SESSION_COOKIE_SECURE", ENV == "production")
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    WTF_CSRF_TIME_LIMIT = None
