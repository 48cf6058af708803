"""What the benchmarks share: throw-away PostgreSQL databases and a gunicorn started on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


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
