"""A frozen or stopped database fails requests fast with a 503 and the service recovers by itself.

These tests start a PostgreSQL of their own (initdb in a temporary folder, a free port) and freeze it with SIGSTOP
or stop it with pg_ctl: the shared server on 5432 is never touched. The bounds asserted are the service's promise
(503 within 3 s, /ready within 2 s), far above the time a healthy answer takes; bench/db_freeze.py measures them.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2.extensions
import pytest
import requests
import sqlalchemy as sa

from futurisys.auth.accounts import create_user
from futurisys.storage import db_timeouts
from futurisys.storage.db_timeouts import _Breaker, _limits, close_breakers, postgres_connect_args
from futurisys.storage.pg_copy import copy_rows
from tests.payloads import FEATURES, RAW
from tests.private_postgres import PG_BIN, PrivatePostgres
from tests.support import PASSWORD, form_data, migrated_app, serving


@pytest.fixture(scope="module")
def private_pg():
    """A private cluster for this module, removed afterwards (thawed first if a test left it frozen)."""
    if not Path(PG_BIN, "initdb").exists():
        pytest.skip("PostgreSQL server binaries are missing (apt-get install postgresql)")
    server = PrivatePostgres.create()
    yield server
    server.remove()


@pytest.fixture(scope="module")
def served(private_pg, bundle_dir):
    """The app on the private cluster, served over HTTP by a threaded server; yields the base URL."""
    # Deadlines shorter than the defaults: the bounds asserted below (the service's promise) keep a margin on a
    # loaded machine.
    app = migrated_app(private_pg.url, bundle_dir, DB_CONNECT_TIMEOUT=1, DB_STATEMENT_TIMEOUT=1)
    with app.app_context():
        create_user("rh", PASSWORD, "hr")
    with serving(app) as base_url:
        yield base_url


@pytest.fixture
def hr_session(served) -> requests.Session:
    """An HTTP session signed in as the HR account (the form needs one), opened before any freeze."""
    session = requests.Session()
    assert (
        session.post(
            f"{served}/connexion", data={"username": "rh", "password": PASSWORD}, allow_redirects=False, timeout=20
        ).status_code
        == 302
    )
    return session


@pytest.fixture
def frozen(private_pg, served):
    """The private cluster frozen (SIGSTOP) for one test, then thawed."""
    private_pg.freeze()
    yield private_pg
    private_pg.thaw()
    close_breakers()


def timed(method: str, url: str, **kwargs) -> tuple[int, float]:
    started = time.monotonic()
    response = requests.request(method, url, timeout=20, **kwargs)
    return response.status_code, time.monotonic() - started


def _predict(base: str) -> tuple[int, float]:
    return timed("POST", f"{base}/predict", json=FEATURES)


def test_timeouts_reach_the_driver():
    args = postgres_connect_args(connect_timeout=2, statement_timeout=2)
    assert args == {"connect_timeout": 2, "options": "-c jit=off -c statement_timeout=2000"}
    assert _limits("host=x connect_timeout=2 options='-c statement_timeout=2000'") == (2.0, 2.25)
    assert _limits("host=x") == (None, None)  # no setting, no deadline (tools that connect on their own)
    assert postgres_connect_args(0, 0) == {"options": "-c jit=off"}


def test_breakers_are_per_scope_and_maintenance_has_its_own_limit():
    dsn = "host=x options='-c statement_timeout=2000'"
    try:
        db_timeouts.set_scope("admin")
        db_timeouts._breaker(dsn).tripped()  # a slow admin page timed out…
        assert not db_timeouts._breaker(dsn).admit()
        db_timeouts.set_scope("api")
        assert db_timeouts._breaker(dsn).admit()  # …and /predict still waits on the database
        connection = type("Connection", (), {"dsn": dsn, "status": psycopg2.extensions.STATUS_READY})()
        with db_timeouts.maintenance(300):
            assert db_timeouts._seconds_for(connection) == 300.25 and db_timeouts._breaker(dsn).admit()
        assert db_timeouts._seconds_for(connection) == 2.25 and db_timeouts._local.scope == "api"
    finally:
        db_timeouts.set_scope(None)
        close_breakers()


def test_frozen_database_answers_503_fast_and_recovers(served, hr_session, frozen):
    with ThreadPoolExecutor(16) as pool:  # 16 clients stuck on the database must not block the rest
        stuck = [pool.submit(_predict, served) for _ in range(16)]
        health = timed("GET", f"{served}/health")
        static = timed("GET", f"{served}/static/css/app.css")
        assert {future.result()[0] for future in stuck} == {503}
    assert health[0] == 200 and health[1] < 1
    assert static[0] == 200 and static[1] < 1
    # One at a time, so that the bound measures the service, not this process's own 16 threads.
    ready = timed("GET", f"{served}/ready")
    assert ready[0] == 503 and ready[1] < 2
    started = time.monotonic()
    answer = hr_session.post(
        f"{served}/", data=form_data(RAW), headers={"Accept": "text/html"}, timeout=20, allow_redirects=False
    )
    form = answer.status_code, time.monotonic() - started
    assert form[0] == 503 and form[1] < 3
    status, seconds = _predict(served)
    assert status == 503 and seconds < 3
    frozen.thaw()
    close_breakers()  # as the cool-down would after COOLDOWN seconds (no sleeping in tests)
    assert timed("GET", f"{served}/ready")[0] == 200  # recovery without a restart
    assert _predict(served)[0] == 200


def test_frozen_database_during_a_request_already_connected(served, frozen):
    frozen.thaw()
    assert _predict(served)[0] == 200  # the pool now holds live connections, then the server freezes
    frozen.freeze()
    status, seconds = _predict(served)
    assert status == 503 and seconds < 3
    status, seconds = _predict(served)
    assert status == 503 and seconds < 1  # the breaker is open: no waiting again on a database known frozen
    frozen.thaw()
    close_breakers()
    assert _predict(served)[0] == 200


def _other_backends_busy(private_pg) -> bool:
    """Whether a backend other than this query's is still running a statement (the thawed server catching up)."""
    engine = sa.create_engine(private_pg.url)
    try:
        with engine.connect() as connection:
            return bool(
                connection.scalar(
                    sa.text(
                        "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
                        "AND backend_type = 'client backend' AND state = 'active'"
                    )
                )
            )
    finally:
        engine.dispose()


def _stored_predictions(private_pg) -> int:
    """Rows in `predictions` once the thawed server has run what it had received (bounded wait on that state)."""
    deadline = time.monotonic() + 10
    while _other_backends_busy(private_pg) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the server's state, as wait_until_ready polls a URL
    engine = sa.create_engine(private_pg.url)
    try:
        with engine.connect() as connection:
            return connection.scalar(sa.text("SELECT count(*) FROM predictions"))
    finally:
        engine.dispose()


def test_a_503_after_the_write_was_sent_names_a_key_and_its_retry_stores_nothing_new(private_pg, served, frozen):
    frozen.thaw()
    assert _predict(served)[0] == 200  # the pools hold live connections: the next INSERT reaches the server
    before = _stored_predictions(private_pg)
    frozen.freeze()
    unknown = requests.post(f"{served}/predict", json=FEATURES, timeout=20)
    assert unknown.status_code == 503 and unknown.headers["Retry-After"]
    key = unknown.headers["Idempotency-Key"]  # generated: no key was sent
    assert unknown.json()["idempotency_key"] == key and unknown.json()["error"].startswith("Issue inconnue")
    # The breaker is open now: the next write is refused before anything is sent, an ordinary 503.
    refused = requests.post(f"{served}/predict", json=FEATURES, timeout=20)
    assert refused.status_code == 503 and "idempotency_key" not in refused.json()
    frozen.thaw()
    close_breakers()
    landed = _stored_predictions(private_pg) - before  # 1 when the thawed server ran the INSERT it had received
    retry = requests.post(f"{served}/predict", json=FEATURES, headers={"Idempotency-Key": key}, timeout=20)
    assert retry.status_code == 200
    assert retry.headers.get("Idempotent-Replayed") == ("true" if landed else None)
    assert _stored_predictions(private_pg) == before + 1  # exactly once, whichever of the two stored it


def test_a_client_key_is_looked_up_first_so_a_frozen_database_gets_nothing_sent(private_pg, served, frozen):
    headers = {"Idempotency-Key": f"essai-{time.monotonic_ns()}"}
    frozen.thaw()
    before = _stored_predictions(private_pg)
    frozen.freeze()
    failed = requests.post(f"{served}/predict", json=FEATURES, headers=headers, timeout=20)
    assert failed.status_code == 503 and "idempotency_key" not in failed.json()  # the look-up failed: not sent
    frozen.thaw()
    close_breakers()
    retry = requests.post(f"{served}/predict", json=FEATURES, headers=headers, timeout=20)
    assert retry.status_code == 200 and "Idempotent-Replayed" not in retry.headers
    assert _stored_predictions(private_pg) == before + 1


def test_stopped_database_answers_503_and_recovers_when_it_is_back(private_pg, served):
    assert _predict(served)[0] == 200
    private_pg.stop()
    try:
        # In each pool (the pages' and the one /predict writes through) the pooled connections are dead, then new
        # ones are refused.
        for _ in range(2):
            status, seconds = _predict(served)
            assert status == 503 and seconds < 3
            status, seconds = timed("GET", f"{served}/ready")
            assert status == 503 and seconds < 2
        assert timed("GET", f"{served}/health")[0] == 200
    finally:
        private_pg.start()
    close_breakers()
    assert timed("GET", f"{served}/ready")[0] == 200
    assert _predict(served)[0] == 200


def test_a_copy_to_a_frozen_database_fails_within_the_statement_deadline(private_pg, frozen):
    engine = sa.create_engine(private_pg.url, connect_args=postgres_connect_args(1, 1))
    db_timeouts.install(engine)
    table = sa.Table("copy_probe", sa.MetaData(), sa.Column("x", sa.Integer))
    frozen.thaw()
    try:
        with engine.begin() as connection:
            table.create(connection, checkfirst=True)
        with engine.connect() as connection:
            connection.begin()
            connection.execute(sa.text("SELECT 1"))  # connected, inside the transaction, before the freeze
            frozen.freeze()
            started = time.monotonic()
            with pytest.raises(sa.exc.DBAPIError) as failed:
                copy_rows(connection, table, [{"x": 1}])
        assert time.monotonic() - started < 3  # 1 s of statement_timeout and the client's margin, not forever
        assert failed.value.connection_invalidated and "COPY did not finish" in str(failed.value)
    finally:
        frozen.thaw()
        close_breakers()
        engine.dispose()


def test_the_breaker_lets_one_prober_through_after_the_cool_down(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(db_timeouts, "time", type("Clock", (), {"monotonic": staticmethod(lambda: now[0])}))
    breaker, others = _Breaker(), []
    assert breaker.admit()
    breaker.tripped()
    assert not breaker.admit()  # cooling down
    now[0] += db_timeouts.COOLDOWN
    assert breaker.admit()  # this thread probes…
    thread = threading.Thread(target=lambda: others.append(breaker.admit()))
    thread.start()
    thread.join()
    assert others == [False]  # …and the others still fail at once
    breaker.succeeded()
    thread = threading.Thread(target=lambda: others.append(breaker.admit()))
    thread.start()
    thread.join()
    assert others == [False, True]
