"""What the benchmarks share: throw-away PostgreSQL databases, a model bundle, a gunicorn started on 127.0.0.1.

Variables: BENCH_PG_ADMIN_URL, the PostgreSQL server and a role that may create databases (default
postgresql+psycopg2://postgres@127.0.0.1:5432/postgres); MODEL_DIR, a bundle to reuse when --bundle is not given.
Every database a benchmark creates has a name of its run's own and is dropped when it ends, interrupted (Ctrl+C,
SIGTERM, SIGHUP) or not; every server it starts is stopped.
"""

from __future__ import annotations

import atexit
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def _stop(signum, _frame):
    # SIGTERM and SIGHUP end the script like Ctrl+C does: through the `finally` blocks that drop and stop things.
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _stop)
signal.signal(signal.SIGHUP, _stop)


def announce(what: str, expected_s: float) -> None:
    """Say what runs and about how long it takes before starting; the time it took at the end."""
    started = time.perf_counter()
    print(f"{what}: about {expected_s:.0f} s on a quiet 2-core machine (load now {os.getloadavg()[0]:.1f})", flush=True)
    atexit.register(lambda: print(f"done in {time.perf_counter() - started:.0f} s", flush=True))


@contextmanager
def throwaway_database(label: str, keep: bool = False) -> Iterator[str]:
    """A database of this run's own (`bench_<label>_<pid>_<random>`); yields its URL; dropped unless `keep`."""
    name = f"bench_{label}_{os.getpid()}_{secrets.token_hex(3)}"
    url = recreate_database(name)
    try:
        yield url
    finally:
        if keep:
            print(f"database {name} kept")
        else:
            recreate_database(name, drop_only=True)


def model_bundle(given: str | None, work: Path) -> str:
    """The bundle to serve: --bundle, else MODEL_DIR, else instance/model when present, else one trained in `work`."""
    for candidate in (given, os.environ.get("MODEL_DIR"), str(ROOT / "instance" / "model")):
        if candidate and (Path(candidate) / "metadata.json").is_file():
            return candidate
    if given:
        raise SystemExit(f"--bundle {given}: no metadata.json there")
    from futurisys.ml.train import train_bundle

    print("no bundle given (--bundle DIR) nor found: training one (about 20 s)", flush=True)
    folder = work / "model"
    train_bundle(folder)
    return str(folder)


def recreate_database(name: str, drop_only: bool = False) -> str:
    """Drop the database `name` (and create it again unless `drop_only`); return its URL."""
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not drop_only:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(database_url: str, bundle: str, workers: int, threads: int, timeout_s: float = 180, **extra_env: str):
    """Serve the app with gunicorn on 127.0.0.1; yields (base URL, seconds from start to /ready); stops it after."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MODEL_DIR": bundle,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
        "ACCESS_LOG": "0",
        "SECRET_KEY": "bench",
        "FUTURISYS_ENV": "production",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        **extra_env,
    }
    venv = Path(sys.executable).parent
    subprocess.run(
        [str(venv / "flask"), "--app", "futurisys", "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True
    )
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(venv / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:  # bounded by timeout_s
            try:
                if urllib.request.urlopen(f"{base}/ready", timeout=1).status == 200:
                    break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"gunicorn not ready after {timeout_s:g} s") from None
                time.sleep(0.05)
        yield base, time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)


def copy_predictions(connection, prediction_columns: list[str]) -> None:
    """Give every input copied by a bench (request id `copy-<seed input id>`) its seed's prediction, once."""
    columns = ", ".join(prediction_columns)
    connection.execute(
        sa.text(
            f"""
            INSERT INTO predictions (input_id, {columns}, created_at)
            SELECT i.id, {", ".join("p." + c for c in prediction_columns)}, i.created_at
            FROM inputs i JOIN predictions p ON p.input_id = substr(i.request_id, 6)::int
            WHERE i.request_id LIKE 'copy-%' AND NOT EXISTS (SELECT 1 FROM predictions q WHERE q.input_id = i.id)
            """
        )
    )
