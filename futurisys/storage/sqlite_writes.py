"""Writers of the embedded SQLite file take turns on a lock of their own instead of SQLite's busy handler.

The gunicorn workers share one SQLite file, and SQLite lets one writer at a time hold it. A writer that finds it
taken sleeps and retries with sleeps growing to 100 ms (SQLite's default busy handler), so a few unlucky requests
wait far longer than the lock is ever held: the tail of /predict's latency. Here threads of one process queue on a
threading.Lock and processes on flock(2), retried every millisecond, so SQLite's lock is free when a writer reaches
it. Both waits are bounded by the statement timeout; past it the write fails as a database timeout would (503).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from contextlib import contextmanager

import sqlalchemy as sa

EXTENSION_KEY = "futurisys.storage.sqlite_writes"
RETRY_SECONDS = 0.001


class WriterQueue:
    """One SQLite file's writers, in this process and across the processes that share the file."""

    def __init__(self, database_path: str, timeout: float):
        self.lock_path = f"{database_path}.writers"
        self.timeout = timeout
        self._threads = threading.Lock()
        self._file = None
        self._file_pid = None

    def _lock_file(self) -> int:
        # flock belongs to an open file: each process (gunicorn forks) opens its own.
        if self._file_pid != os.getpid():
            self._file = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._file_pid = os.getpid()
        return self._file

    @contextmanager
    def turn(self):
        """Hold the write turn for the block; OperationalError past the timeout."""
        deadline = time.monotonic() + self.timeout
        if not self._threads.acquire(timeout=self.timeout):
            raise _timed_out()
        try:
            descriptor = self._lock_file()
            while not _try_flock(descriptor):
                if time.monotonic() >= deadline:
                    raise _timed_out()
                time.sleep(RETRY_SECONDS)
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            self._threads.release()


def _try_flock(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _timed_out() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("waiting for the SQLite write lock", None, TimeoutError("database is locked"))


def install(app, engine) -> None:
    """Give `app` a writer queue when `engine` writes to an SQLite file (none for an in-memory database)."""
    path = engine.url.database
    if engine.dialect.name == "sqlite" and path and path != ":memory:":
        app.extensions[EXTENSION_KEY] = WriterQueue(path, app.config["DB_STATEMENT_TIMEOUT"] or 60.0)


@contextmanager
def write_turn(app):
    """The write turn on `app`'s SQLite file for the block; nothing to wait for on other databases."""
    queue = app.extensions.get(EXTENSION_KEY)
    if queue is None:
        yield
        return
    with queue.turn():
        yield
