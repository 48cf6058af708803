"""Shared fixtures: a model bundle trained once, real databases (PostgreSQL and SQLite), app/client/runner/db."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from futurisys.extensions import db as _db
from tests.support import (
    BROWSER_REDIS_URL,
    PG_ADMIN_URL,
    PG_TEST_DB,
    journal_unlocked,
    login,
    make_app,
    make_user,
    migrated_app,
    serving,
    sign_in,
    worker,
)

USER_TABLES = (
    "evaluation_decisions",
    "departure_changes",
    "departures",
    "predictions",
    "inputs",
    "job_chunks",
    "jobs",
    "ended_sessions",
    "users",
    "login_failures",
    "api_keys",
    "idempotency_keys",
    "access_journal",
    "compliance_settings",
    "employee_flags",
    "prediction_daily_stats",
    "input_feature_daily_stats",
    "input_feature_totals",
    "stats_refreshes",
    "outcome_summaries",
    "known_outcome_counts",
    "model_alias_events",
    "model_aliases",
    "model_versions",
    "training_datasets",
)
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real Chromium (on PostgreSQL only, see below)")
    config.addinivalue_line("markers", "both_databases: a browser test that runs on SQLite too")


def pytest_collection_finish(session):
    """Imports are done: their objects leave the garbage collector's view, and it runs less often.

    A full collection scans every live object (~170,000 once the test modules are imported). Measured over a whole
    run (gc.callbacks): 17.4 s in the collector before, 7.6 s after.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


def pytest_collection_modifyitems(config, items):
    """Browser tests run on PostgreSQL only: the pages do not depend on the database, and Chromium is slow."""
    kept, dropped = [], []
    for item in items:
        on_sqlite = getattr(item, "callspec", None) and item.callspec.params.get("database_url") == "sqlite"
        single = item.get_closest_marker("browser") and not item.get_closest_marker("both_databases")
        (dropped if on_sqlite and single else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def trained_bundle(tmp_path_factory) -> tuple[Path, str]:
    """A real model bundle trained once for the whole run, by `flask model train`; with the command's output."""
    folder = tmp_path_factory.mktemp("bundle")
    result = make_app("sqlite://", folder).test_cli_runner().invoke(args=["model", "train", "--out", str(folder)])
    assert result.exit_code == 0, result.output
    return folder, result.output


@pytest.fixture(scope="session")
def bundle_dir(trained_bundle) -> Path:
    """The run's model bundle folder."""
    return trained_bundle[0]


@pytest.fixture(scope="session")
def reference_features():
    """The 1,470 reference employees as 30-feature records, and their targets."""
    from futurisys.ml.data import training_matrix

    features, target = training_matrix()
    return features.to_dict("records"), target.tolist()


def _postgres_admin(statement: str) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(statement))
    admin.dispose()


@pytest.fixture(scope="session", params=["postgresql", "sqlite"])
def database_url(request, bundle_dir, tmp_path_factory) -> str:
    """A migrated database of each kind, shared by the session; tests leave it empty of user data."""
    postgres = request.param == "postgresql"
    if postgres:
        _postgres_admin(f'DROP DATABASE IF EXISTS "{PG_TEST_DB}" WITH (FORCE)')
        _postgres_admin(f'CREATE DATABASE "{PG_TEST_DB}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + PG_TEST_DB
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
    app = migrated_app(url, bundle_dir)
    with app.app_context():
        for engine in _db.engines.values():
            engine.dispose()
    yield url
    if postgres:
        _postgres_admin(f'DROP DATABASE IF EXISTS "{PG_TEST_DB}" WITH (FORCE)')


@pytest.fixture
def app(database_url, bundle_dir):
    """The application, on each database kind; user tables are emptied after each test."""
    app = make_app(database_url, bundle_dir)
    yield app
    with app.app_context():
        _db.session.remove()
        with _db.engine.begin() as connection, journal_unlocked(connection):
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text(f"TRUNCATE {', '.join(USER_TABLES)} RESTART IDENTITY CASCADE"))
            else:
                for table in USER_TABLES:
                    connection.execute(sa.text(f"DELETE FROM {table}"))
        for engine in _db.engines.values():
            engine.dispose()


@pytest.fixture
def client(app):
    """A test client of `app`."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner of `app`."""
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    """The SQLAlchemy extension, inside an app context of `app`."""
    with app.app_context():
        yield _db


@pytest.fixture
def hr_client(app, client):
    """`client` signed in as the HR account `rh` (the HR pages require one)."""
    make_user(app, "rh", "hr")
    assert login(client, "rh").status_code == 302
    return client


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Git-ignored folder for screenshots and other test artefacts."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_app(database_url, bundle_dir):
    """An app as people use it (CSRF on), for the browser tests; user tables emptied afterwards."""
    app = make_app(database_url, bundle_dir, WTF_CSRF_ENABLED=True, TESTING=False, CELERY_BROKER_URL=BROWSER_REDIS_URL)
    yield app
    with app.app_context():
        _db.session.remove()
        with _db.engine.begin() as connection, journal_unlocked(connection):
            for table in USER_TABLES:
                connection.execute(sa.text(f"DELETE FROM {table}"))
        for engine in _db.engines.values():
            engine.dispose()


@pytest.fixture(scope="module")
def lot_worker(database_url, bundle_dir, tmp_path_factory):
    """A real Celery worker for a browser test module's lots, on this run's Redis. Stopped after the module: its
    recovery task would otherwise take over the jobs of the worker tests, which share the database."""
    import redis

    broker = redis.Redis.from_url(BROWSER_REDIS_URL)
    broker.flushdb()
    folder = tmp_path_factory.mktemp("worker")
    with worker(database_url, bundle_dir, folder, BROWSER_REDIS_URL, LOT_CHUNK_LINES=500) as process:
        yield process
    broker.flushdb()
    broker.close()


@pytest.fixture
def live_server(live_app):
    """`live_app` served over HTTP on 127.0.0.1 (a free port) in a background thread; yields the base URL."""
    with serving(live_app) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install -y chromium (or set CHROMIUM_PATH)"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser page (own cookies) with a laptop-sized viewport."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="fr-FR", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def hr_page(page, live_app, live_server):
    """A browser page signed in as the HR account `rh`."""
    make_user(live_app, "rh", "hr")
    sign_in(page, live_server, "rh")
    return page
