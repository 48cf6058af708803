"""Starting through scripts/boot.sh as run.sh and the image do: the log reaches the terminal, failures say why."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support import PG_ADMIN_URL
from tests.test_deploy import free_port, wait_until_ready

ROOT = Path(__file__).resolve().parent.parent
BOOT = ROOT / "scripts" / "boot.sh"


def boot_env(bundle_dir: Path, folder: Path, port: int, **extra) -> dict:
    """The environment boot.sh gets from run.sh, on an SQLite file of the test's own."""
    return {
        **os.environ,
        "VIRTUAL_ENV": str(Path(sys.executable).parent.parent),
        "DATABASE_URL": f"sqlite:///{folder / 'boot.db'}",
        "MODEL_DIR": str(bundle_dir),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "1",
        "SECRET_KEY": "test-secret",
        "TMPDIR": str(folder),  # where gunicorn.conf.py puts its metrics folder
        "RUN_WORKER": "0",  # the job worker beside gunicorn: tested on its own below
        **extra,
    }


def test_boot_logs_in_json_with_the_request_id_and_cleans_up(bundle_dir, tmp_path):
    port = free_port()
    log_path = tmp_path / "boot.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            ["bash", str(BOOT)],
            env=boot_env(bundle_dir, tmp_path, port, LOG_FORMAT="json"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_ready(f"http://127.0.0.1:{port}/ready", server)
            request = urllib.request.Request(f"http://127.0.0.1:{port}/health", headers={"X-Request-ID": "boot-test-1"})
            with urllib.request.urlopen(request, timeout=5) as answer:
                assert answer.status == 200
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    by_logger = {}
    for line in lines:
        by_logger.setdefault(line["logger"], []).append(line)
    assert any("Listening at" in line["message"] for line in by_logger["gunicorn.error"]), lines
    assert any(line["message"].startswith("database: sqlite:///") for line in by_logger["futurisys.boot"])
    assert any("Running upgrade" in line["message"] for line in by_logger["alembic.runtime.migration"])
    access = [line for line in by_logger["gunicorn.access"] if "/health" in line["message"]]
    assert access and access[0]["request_id"] == "boot-test-1" and '"GET /health HTTP/1.1" 200' in access[0]["message"]
    assert not list(tmp_path.glob("futurisys-prometheus-*")), "the metrics folder outlived gunicorn"


def test_a_taken_port_is_said_in_one_line_at_once(bundle_dir, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            ["bash", str(BOOT)], env=boot_env(bundle_dir, tmp_path, port), capture_output=True, text=True, timeout=30
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Futurisys ne peut pas démarrer. Le port {port} est déjà pris (un serveur répond sur 127.0.0.1:{port})."
        f" Arrêtez-le, ou choisissez un autre port : PORT=8001 {BOOT}"
    ]


def test_a_missing_database_is_said_in_one_line_without_a_traceback(bundle_dir, tmp_path):
    missing = f"futurisys_missing_{os.getpid()}"
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + missing
    result = subprocess.run(
        ["bash", str(BOOT)],
        env=boot_env(bundle_dir, tmp_path, free_port(), DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in output, output
    assert f"Futurisys ne peut pas démarrer. La base {missing} n'existe pas sur 127.0.0.1:5432" in output
    assert f"createdb -h 127.0.0.1 -U postgres {missing}" in output


def test_a_broken_model_bundle_is_said_in_one_line(tmp_path):
    broken = tmp_path / "model"
    broken.mkdir()
    (broken / "metadata.json").write_text("{not json")
    result = subprocess.run(
        ["bash", str(BOOT)], env=boot_env(broken, tmp_path, free_port()), capture_output=True, text=True, timeout=120
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1 and "Traceback" not in output, output
    assert f"Futurisys ne peut pas démarrer. Le modèle ne se charge pas depuis {broken}" in output


def test_boot_starts_the_job_worker_beside_gunicorn_and_stops_both(bundle_dir, tmp_path):
    """As run.sh and the image start: gunicorn, then the worker once /ready answers; SIGTERM ends both."""
    import io

    import sqlalchemy as sa

    from futurisys.extensions import db
    from futurisys.jobs import lots
    from futurisys.jobs.models import Job
    from tests.payloads import raw_csv
    from tests.support import make_app
    from tests.test_jobs_worker import wait_for

    port = free_port()
    broker = f"sqla+sqlite:///{tmp_path / 'broker.sqlite'}"
    env = boot_env(
        bundle_dir, tmp_path, port, RUN_WORKER="1", CELERY_BROKER_URL=broker, BEAT_SCHEDULE=str(tmp_path / "beat")
    )
    log_path = tmp_path / "boot.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(["bash", str(BOOT)], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_until_ready(f"http://127.0.0.1:{port}/ready", server)
            app = make_app(env["DATABASE_URL"], bundle_dir, CELERY_BROKER_URL=broker)
            with app.test_request_context():
                job_id = lots.create_lot(
                    io.BytesIO(raw_csv()), "boot.csv", user_id=None, api_key_name="t", request_id="b"
                )
            job = wait_for(app, job_id, lambda job: job.status == "termine", "lot run by the worker beside gunicorn")
            assert job.done == 5
            with app.app_context():
                assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 1
                for engine in db.engines.values():
                    engine.dispose()
            pattern = f"celery.*{tmp_path / 'beat'}"
            workers = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
            assert workers.stdout.split(), "no worker process"
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        # The guard stops the worker once gunicorn is gone (it checks every second): polled, bounded at 30 s.
        deadline = time.monotonic() + 30
        while subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 0:
            assert time.monotonic() < deadline, "the worker outlived gunicorn"
            time.sleep(0.2)  # polling interval
