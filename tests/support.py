"""Helpers shared by the tests (no tests, no fixtures): apps and servers, accounts, the HR form, API keys, rows."""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jinja2
import sqlalchemy as sa
from werkzeug.serving import make_server

from futurisys import create_app
from futurisys.auth.accounts import create_user
from futurisys.extensions import db, model_store
from futurisys.storage.models import Input, Prediction
from futurisys.storage.predictions import predict_and_store
from tests.payloads import RAW

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
# A database of this run's own (parallel runs on one server never meet), dropped when the run ends.
PG_TEST_DB = os.environ.get("TEST_PG_DATABASE", f"futurisys_test_{os.getpid()}_{secrets.token_hex(3)}")
PASSWORD = "un-mot-de-passe-solide"


class SharedTemplates(jinja2.BytecodeCache):
    """Compiled templates kept for every app of the run: each new app would compile them all again (~30 ms each)."""

    def __init__(self):
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = SharedTemplates()


@contextmanager
def journal_unlocked(connection):
    """The access journal's append-only triggers off for one cleanup transaction (tests only)."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))  # no triggers (superuser)
        yield
        return
    triggers = connection.execute(
        sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'access_journal'")
    ).all()
    for name, _ in triggers:
        connection.execute(sa.text(f"DROP TRIGGER {name}"))
    yield
    for _, sql in triggers:
        connection.execute(sa.text(sql))


#: Full-page screenshots of the browser tests (test-artifacts/), when TEST_SCREENSHOTS=1: they cost a quarter of
#: the browser tests' time and only people look at them.
SCREENSHOTS = os.environ.get("TEST_SCREENSHOTS") == "1"


@contextmanager
def table_locked(url: str, table: str) -> Iterator[None]:
    """Inside the block, another session holds `table` (ACCESS EXCLUSIVE): a query of it waits on the lock."""
    locker = sa.create_engine(url)
    locked, release = threading.Event(), threading.Event()

    def hold():
        with locker.begin() as connection:
            connection.execute(sa.text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            locked.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10), f"{table} not locked"
        yield
    finally:
        release.set()
        holder.join()
        locker.dispose()


def shot(page, path) -> None:
    """A full-page screenshot of `page` at `path`, when TEST_SCREENSHOTS=1."""
    if SCREENSHOTS:
        page.screenshot(path=str(path), full_page=True)


def make_app(url: str, bundle: Path, **overrides):
    """A test app on `url` (CSRF off, as route tests want; the CSRF and browser tests turn it on)."""
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "MODEL_DIR": str(bundle),
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test-secret",
        "SERVER_NAME": None,
        # A password hash in 4 ms instead of 150: accounts are made and signed in to by hundreds of tests.
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        # Jobs sent by route tests go to kombu's in-memory broker (no worker); the worker tests use Redis.
        "CELERY_BROKER_URL": "memory://",
        # Registry versions are unpacked beside the run's bundle, not in the project's instance folder.
        "MODEL_CACHE_DIR": str(Path(bundle).parent / "registry-cache"),
    }
    config.update(overrides)
    app = create_app(config)
    app.jinja_env.bytecode_cache = TEMPLATES
    return app


def migrated_app(url: str, bundle: Path, **overrides):
    """An app on `url` with the schema built by the migrations and the reference data loaded."""
    from flask_migrate import upgrade

    app = make_app(url, bundle, **overrides)
    with app.app_context():
        upgrade()
    assert app.test_cli_runner().invoke(args=["data", "load"]).exit_code == 0
    return app


@contextmanager
def serving(app) -> Iterator[str]:
    """`app` served over HTTP on 127.0.0.1 (a free port) by a threaded server in the background; yields its URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def make_user(app, username: str = "admin", role: str = "admin", password: str = PASSWORD) -> None:
    """Create an account through the same code as the CLI."""
    with app.app_context():
        create_user(username, password, role)


def login(client, username: str = "admin", password: str = PASSWORD, csrf_token: str | None = None, **kwargs):
    """POST the login form (CSRF is off in the `client` fixture's app; pass the page's token where it is on)."""
    data = {"username": username, "password": password}
    if csrf_token:
        data["csrf_token"] = csrf_token
    return client.post("/connexion", data=data, **kwargs)


def logged_in(app, client, role: str = "admin"):
    """`client` logged in as a fresh account of `role`."""
    make_user(app, role, role)
    assert login(client, role).status_code == 302
    return client


def sign_in(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Log a browser page in through the login page, as a person does."""
    page.goto(base_url + "/connexion")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(lambda url: "/connexion" not in url)


def store(app, features: dict, raw: dict | None = None, source: str = "api", request_id: str = "req") -> int:
    """Score and store one record as the API does; return the prediction id."""
    with app.test_request_context():
        stored = predict_and_store(
            model_store.predictor, features, raw, source=source, request_id=request_id, started=time.perf_counter()
        )
    return stored.prediction_id


def restamp(app, prediction_id: int, **values) -> None:
    """Move a stored prediction (and its input) in time or to another model version, for filter tests."""
    with app.app_context():
        prediction = db.session.get(Prediction, prediction_id)
        if "created_at" in values:
            db.session.execute(
                sa.update(Input).where(Input.id == prediction.input_id).values(created_at=values["created_at"])
            )
        db.session.execute(sa.update(Prediction).where(Prediction.id == prediction_id).values(**values))
        db.session.commit()


def counts(app) -> tuple[int, int]:
    """(inputs, predictions) row counts, read in an app context of its own (see `scalar`)."""
    with app.app_context():
        return (
            db.session.scalar(sa.select(sa.func.count()).select_from(Input)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Prediction)),
        )


def scalar(app, query):
    """One value read in an app context of its own.

    Tests that switch between clients (accounts, anonymous visitors) must not hold the `db` fixture's app
    context: Flask would reuse it for every request, and Flask-Login's user cached in `g` would leak across.
    """
    with app.app_context():
        return db.session.scalar(query)


def form_data(record: dict) -> dict:
    """A raw record as a browser posts it (strings; booleans as the radio buttons send them)."""
    return {
        name: ("true" if value else "false") if isinstance(value, bool) else str(value)
        for name, value in record.items()
        if value is not None
    }


def evaluate(client, record: dict = RAW, **extra) -> str:
    """POST the HR form; return the path of the evaluation page it redirects to (303, Post/Redirect/Get)."""
    response = client.post("/", data={**form_data(record), **extra})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


API_KEY = re.compile(r"^fx_[A-Za-z0-9_-]{43}$", re.MULTILINE)


def create_key(runner, name: str) -> str:
    """Create an API key with the CLI; return the key it prints once."""
    result = runner.invoke(args=["apikeys", "create", name])
    assert result.exit_code == 0, result.output
    return API_KEY.search(result.output).group()


ROOT = Path(__file__).resolve().parent.parent
CELERY = Path(sys.executable).with_name("celery")
# Redis databases of this run's own (flushed after use), one for the browser tests' worker and one for the
# worker tests (which kill theirs): two runs on one machine, or the two kinds of tests, never share a queue.
_REDIS_DB = 1 + 2 * (os.getpid() % 7)
BROWSER_REDIS_URL = f"redis://127.0.0.1:6379/{_REDIS_DB}"
JOBS_REDIS_URL = f"redis://127.0.0.1:6379/{_REDIS_DB + 1}"


@contextmanager
def worker(database_url: str, bundle_dir: Path, tmp_path: Path, broker: str, **settings):
    """A Celery worker (with its beat) as `scripts/worker.sh` starts one, in a process group of its own."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MODEL_DIR": str(bundle_dir),
        "CELERY_BROKER_URL": broker,
        "SECRET_KEY": "test-secret",  # the test app's: the journal's pseudonyms must match
        "JOB_STALE_SECONDS": "1",
        "JOB_RECOVER_EVERY": "1",
        **{name: str(value) for name, value in settings.items()},
    }
    log = (tmp_path / f"worker-{time.monotonic_ns()}.log").open("wb")
    process = subprocess.Popen(
        [CELERY, "-A", "futurisys.jobs.worker", "worker", "-B", "--pool=solo", "--loglevel=INFO"]
        + ["-s", str(tmp_path / "beat-schedule"), "-n", f"test-{time.monotonic_ns()}@%h"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()
