"""Bounded waits on the database: a frozen or unreachable server makes a request fail fast instead of hanging it.

PostgreSQL's own `statement_timeout` cancels slow queries, but a server that is frozen (stopped, swapped out, cut
off behind a firewall that drops packets) cancels nothing and the kernel still accepts the connection and the
query. So every psycopg2 wait goes through a callback with a deadline taken from the connection's own settings:
`connect_timeout` while connecting, `statement_timeout` plus a margin afterwards. A timed-out connection is
treated as a lost one: SQLAlchemy discards it and the pool, and the next request reconnects (recovery without a
restart). After a timeout, a circuit breaker per database fails further waits at once for COOLDOWN seconds, then
lets one request at a time probe the server: threads are not all held by a dead database, so /health and static
files keep being answered. `deadline()` tightens the wait for one block (the readiness probe). psycopg2 refuses
COPY while a wait callback is set, so `unbounded()` lifts it around a COPY and `cut_after()` bounds the COPY instead:
past the same deadline, a timer shuts the connection's socket down and the driver fails as on a lost connection.
Breakers are per database *and scope* (the request's blueprint, or "maintenance"): a slow admin page that times out
opens the admin pages' breaker, never the one /predict waits behind. `maintenance()` gives long commands (purges)
a limit of their own instead of the request's.
"""

from __future__ import annotations

import os
import re
import select
import socket
import threading
import time
from contextlib import contextmanager
from functools import lru_cache

import psycopg2
import psycopg2.extensions
from sqlalchemy import event
from sqlalchemy import exc as sa_exc

#: The server cancels a slow query by itself; the client gives up only when the server says nothing at all.
CLIENT_MARGIN = 0.25
_STATEMENT_TIMEOUT = re.compile(r"statement_timeout\s*=\s*(\d+)")
_local = threading.local()
_unbounded_lock = threading.Lock()
_unbounded_users = 0
_installed = False
#: Seconds during which waits on a database that just timed out fail at once, before one request probes it again.
COOLDOWN = 1.0


class _Breaker:
    """Open after a timeout: waits fail at once for COOLDOWN, then one thread probes while the others still fail."""

    def __init__(self):
        self.lock = threading.Lock()
        self.open_until = 0.0  # 0: closed
        self.prober: int | None = None

    def admit(self) -> bool:
        with self.lock:
            if not self.open_until:
                return True
            me = threading.get_ident()
            if self.prober == me:
                return True
            if self.prober is None and time.monotonic() >= self.open_until:
                self.prober = me
                return True
            return False

    def succeeded(self) -> None:
        if self.open_until:
            with self.lock:
                self.open_until, self.prober = 0.0, None

    def released(self) -> None:
        with self.lock:
            if self.prober == threading.get_ident():
                self.prober = None

    def tripped(self) -> None:
        with self.lock:
            self.open_until, self.prober = time.monotonic() + COOLDOWN, None


_breakers: dict[str, _Breaker] = {}


def close_breakers() -> None:
    """Forget recent timeouts: the next waits go to the database again (tests, once they thaw it)."""
    for breaker in list(_breakers.values()):
        breaker.succeeded()


class DatabaseTimeout(psycopg2.OperationalError):
    """The database did not answer within the deadline."""


def postgres_connect_args(connect_timeout: float, statement_timeout: float) -> dict:
    """psycopg2 connection arguments that carry the timeouts (0 leaves one unbounded)."""
    args = {}
    if connect_timeout:
        args["connect_timeout"] = max(2, round(connect_timeout))  # libpq's minimum is 2 s
    # JIT compilation pays off on long analytic queries only: on this app's short indexed ones it added 0.1–2.3 s.
    options = ["-c jit=off"]
    if statement_timeout:
        options.append(f"-c statement_timeout={round(statement_timeout * 1000)}")
    args["options"] = " ".join(options)
    return args


@lru_cache(maxsize=64)
def _limits(dsn: str) -> tuple[float | None, float | None]:
    """(connect, statement) seconds to wait, read from a connection string; None when it sets none."""
    params = psycopg2.extensions.parse_dsn(dsn)
    connect = float(params["connect_timeout"]) if params.get("connect_timeout") else None
    found = _STATEMENT_TIMEOUT.search(params.get("options", ""))
    statement = int(found[1]) / 1000 + CLIENT_MARGIN if found and int(found[1]) else None
    return connect, statement


def _seconds_for(connection) -> float | None:
    connect, statement = _limits(connection.dsn)
    if connection.status != psycopg2.extensions.STATUS_SETUP and getattr(_local, "maintenance", None) is not None:
        statement = _local.maintenance
    limit = connect if connection.status == psycopg2.extensions.STATUS_SETUP else statement
    tighter = getattr(_local, "seconds", None)
    if tighter is not None:
        limit = tighter if limit is None else min(limit, tighter)
    return limit


def _breaker(dsn: str) -> _Breaker:
    key = (dsn, getattr(_local, "scope", None))
    breaker = _breakers.get(key)
    if breaker is None:
        breaker = _breakers.setdefault(key, _Breaker())
    return breaker


def set_scope(name: str | None) -> None:
    """Make this thread's timeouts open (and obey) the breaker of scope `name` (None: the shared one)."""
    _local.scope = name


@contextmanager
def maintenance(statement_seconds: float):
    """Inside the block, this thread waits up to `statement_seconds` (plus the margin) per statement, whatever the
    connection's own limit, behind a breaker of its own. The caller sets the server's limit (SET LOCAL)."""
    previous = getattr(_local, "maintenance", None), getattr(_local, "scope", None)
    _local.maintenance, _local.scope = statement_seconds + CLIENT_MARGIN, "maintenance"
    try:
        yield
    finally:
        _local.maintenance, _local.scope = previous


def limit_statements(connection, seconds: float) -> None:
    """The server's statement limit for the current transaction of a SQLAlchemy `connection` (PostgreSQL only)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL statement_timeout = {max(1, round(seconds * 1000))}")


def scope_by_blueprint(app) -> None:
    """Give each blueprint's requests a breaker of their own (API, HR pages, admin pages…)."""
    from flask import request

    app.before_request(lambda: set_scope(request.blueprint))
    app.teardown_request(lambda _exc: set_scope(None))


def refuse_while_cooling_down(connection) -> None:
    """Raise (an OperationalError, nothing sent) if `connection`'s database timed out a moment ago.

    The breaker otherwise refuses in the wait callback, after psycopg2 has sent the statement: for a write, the
    client could then not know whether it landed.
    """
    dsn = getattr(connection.connection.dbapi_connection, "dsn", None)
    if dsn is not None and not _breaker(dsn).admit():
        raise sa_exc.OperationalError(
            "(refused before sending)", None, DatabaseTimeout("the database timed out a moment ago: not sent")
        )


def wait_with_deadline(connection) -> None:
    """psycopg2 wait callback: poll the connection until done, raising DatabaseTimeout past its deadline."""
    seconds = _seconds_for(connection)
    if seconds is None:
        _poll(connection, None, None)
        return
    breaker = _breaker(connection.dsn)
    if not breaker.admit():
        raise DatabaseTimeout("the database timed out a moment ago: not waiting on it again yet")
    try:
        _poll(connection, time.monotonic() + seconds, seconds)
    except DatabaseTimeout:
        breaker.tripped()
        raise
    except Exception:
        breaker.released()  # refused, reset…: another thread may probe
        raise
    breaker.succeeded()


def _poll(connection, deadline: float | None, seconds: float | None) -> None:
    while True:
        state = connection.poll()
        if state == psycopg2.extensions.POLL_OK:
            return
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            raise DatabaseTimeout(f"the database did not answer within {seconds:g} s")
        if state == psycopg2.extensions.POLL_READ:
            select.select([connection.fileno()], [], [], left)
        elif state == psycopg2.extensions.POLL_WRITE:
            select.select([], [connection.fileno()], [], left)
        else:
            raise psycopg2.OperationalError(f"bad state from poll: {state}")


@contextmanager
def deadline(seconds: float):
    """Wait at most `seconds` on each database call inside the block (this thread only)."""
    previous = getattr(_local, "seconds", None)
    _local.seconds = seconds if previous is None else min(seconds, previous)
    try:
        yield
    finally:
        _local.seconds = previous


@contextmanager
def unbounded():
    """Lift the wait callback inside the block (for COPY), for every thread; the last one out restores it."""
    global _unbounded_users
    with _unbounded_lock:
        _unbounded_users += 1
        psycopg2.extensions.set_wait_callback(None)
    try:
        yield
    finally:
        with _unbounded_lock:
            _unbounded_users -= 1
            if _unbounded_users == 0 and _installed:
                psycopg2.extensions.set_wait_callback(wait_with_deadline)


def statement_seconds(connection) -> float | None:
    """How long a statement on this psycopg2 connection may wait (None: unbounded), as the wait callback counts."""
    return _seconds_for(connection)


@contextmanager
def cut_after(connection, seconds: float | None):
    """Shut `connection`'s socket down if the block lasts more than `seconds`; yields a dict, {"cut": True} then.

    For COPY, which psycopg2 runs blocking, without the wait callback: a frozen server would hold it forever.
    """
    state = {"cut": False}
    if seconds is None:
        yield state
        return
    descriptor = connection.fileno()

    def cut() -> None:
        state["cut"] = True
        _breaker(connection.dsn).tripped()
        with socket.socket(fileno=os.dup(descriptor)) as sock:
            sock.shutdown(socket.SHUT_RDWR)  # the blocked read returns at once: the driver sees a lost connection

    timer = threading.Timer(seconds, cut)
    timer.daemon = True
    timer.start()
    try:
        yield state
    finally:
        timer.cancel()


def _timeout_is_a_disconnect(context) -> None:
    if isinstance(context.original_exception, DatabaseTimeout):
        context.is_disconnect = True  # the connection is mid-query: only discarding it is safe


def install(engine) -> None:
    """Bound every psycopg2 wait of this process and make `engine` discard connections that timed out."""
    global _installed
    with _unbounded_lock:
        _installed = True
        if not _unbounded_users:
            psycopg2.extensions.set_wait_callback(wait_with_deadline)
    if not event.contains(engine, "handle_error", _timeout_is_a_disconnect):
        event.listen(engine, "handle_error", _timeout_is_a_disconnect)
