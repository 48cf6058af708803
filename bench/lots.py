"""Big lots end to end: upload an HR export to /lot, let the job worker score it, read its progress until done.

One gunicorn worker and one Celery worker (solo pool: one process, so its peak RSS is the lot's) on a throw-away
PostgreSQL database, Redis as the broker (BENCH_REDIS_URL, default redis://127.0.0.1:6379/15: only this run's
keys are there while it runs; the run's queue is deleted at the end). Prints, per size: upload seconds, seconds
from upload to « terminé », lines/s, the worker's peak RSS (VmHWM), rows stored (must equal the lines); and, in
the same run, POST /predict/batch with 10,000 JSON records (best of 3), with the ratio of lines/s. Bounded: each
lot gives up after --timeout seconds; all traffic to 127.0.0.1; the database and both servers end with it.

Usage: PYTHONPATH=. .venv/bin/python bench/lots.py [--sizes 100000,500000] [--bundle DIR] [--timeout 1800]
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from bench.batch_upload import PASSWORD, memory, signed_in
from bench.common import ROOT, announce, gunicorn, model_bundle, throwaway_database

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")


def export(lines: int) -> bytes:
    """An HR export of `lines` employees: the reference employees over and over, each with its own reference."""
    from futurisys.domain.schema import RAW_NAMES
    from futurisys.ml.data import raw_records

    records = raw_records()
    rows = [
        ["Oui" if v is True else "Non" if v is False else str(v) for v in (record[n] for n in RAW_NAMES)]
        for record in records
    ]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(["reference_salarie", *RAW_NAMES])
    for i in range(lines):
        writer.writerow([f"R-{i}", *rows[i % len(rows)]])
    return out.getvalue().encode("utf-8")


def start_worker(env: dict, work: Path) -> subprocess.Popen:
    """A Celery worker with its beat, one process (solo pool)."""
    command = [str(Path(sys.executable).parent / "celery"), "-A", "futurisys.jobs.worker", "worker", "--pool=solo"]
    command += ["--beat", "--schedule", str(work / "beat"), "--loglevel=WARNING", "--without-gossip"]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def score_lot(session, base: str, content: bytes, timeout_s: float) -> tuple[str, float, float, int]:
    """Upload and poll until the lot ends: (job id, upload s, upload→done s, lines scored)."""
    page = session.get(f"{base}/lot", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    started = time.perf_counter()
    answer = session.post(
        f"{base}/lot",
        data={"csrf_token": token},
        files={"fichier": ("export.csv", content, "text/csv")},
        timeout=600,
        allow_redirects=False,
    )
    uploaded = time.perf_counter() - started
    assert answer.status_code == 303, answer.status_code
    job_id = answer.headers["Location"].rsplit("/", 1)[1]
    deadline = time.monotonic() + timeout_s
    while True:
        state = session.get(f"{base}/lots/{job_id}/etat.json", timeout=30).json()
        if state["termine"]:
            break
        if time.monotonic() > deadline:
            raise SystemExit(f"lot not done after {timeout_s:g} s: {state}")
        time.sleep(0.5)  # polling interval, as the page's own script polls
    assert state["statut"] == "termine", state
    return job_id, uploaded, time.perf_counter() - started, state["lignes_evaluees"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,500000")
    parser.add_argument("--bundle")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    announce(f"lots of {', '.join(f'{s:,}' for s in sizes)} lines", 30 + sum(sizes) / 1000)
    with tempfile.TemporaryDirectory(prefix="futurisys-bench-") as work, throwaway_database("lots") as url:
        run(url, model_bundle(args.bundle, Path(work)), sizes, Path(work), args.timeout)


def run(url: str, bundle: str, sizes: list[int], work: Path, timeout_s: float) -> None:
    import redis

    os.environ["SESSION_COOKIE_SECURE"] = "0"  # plain http on 127.0.0.1
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MODEL_DIR": bundle,
        "PYTHONPATH": str(ROOT),
        "CELERY_BROKER_URL": REDIS_URL,
        "SECRET_KEY": "bench",
        "FUTURISYS_ENV": "production",
    }
    broker = redis.Redis.from_url(REDIS_URL)
    with gunicorn(url, bundle, workers=1, threads=3, CELERY_BROKER_URL=REDIS_URL) as (base, _):
        flask = str(Path(sys.executable).parent / "flask")
        create = [flask, "--app", "futurisys", "users", "create", "rh", "--role", "hr", "--password", PASSWORD]
        subprocess.run(create, env=env, cwd=ROOT, check=True, capture_output=True)
        session = signed_in(base)
        worker = start_worker(env, work)
        engine = sa.create_engine(url)
        try:
            health = []
            for _ in range(5):
                started = time.perf_counter()
                session.get(f"{base}/health", timeout=10)
                health.append(time.perf_counter() - started)
            print(f"load average {os.getloadavg()[0]:.2f}; /health {min(health) * 1000:.1f} ms (best of 5)")
            from bench.bench_batch import records

            body = json.dumps(records(10_000)[0]).encode()
            batch = []
            for _ in range(3):
                started = time.perf_counter()
                answer = session.post(
                    f"{base}/predict/batch", data=body, timeout=120, headers={"Content-Type": "application/json"}
                )
                assert answer.status_code == 200, answer.status_code
                batch.append(time.perf_counter() - started)
            batch_rate = 10_000 / min(batch)
            spread = f"{min(batch):.2f}–{max(batch):.2f} s"
            print(f"POST /predict/batch, 10,000 JSON records: {spread}, {batch_rate:,.0f} lines/s")
            for size in sizes:
                content = export(size)
                Path(f"/proc/{worker.pid}/clear_refs").write_text("5")  # reset the worker's peak RSS
                job_id, uploaded, seconds, scored = score_lot(session, base, content, timeout_s)
                with engine.connect() as connection:
                    stored = connection.execute(
                        sa.text("SELECT count(*), count(DISTINCT lot_line) FROM inputs WHERE lot_id = :id"),
                        {"id": job_id},
                    ).one()
                rate = scored / seconds
                print(
                    f"{size:>9,} lines, {len(content) / 2**20:6.1f} MiB: upload {uploaded:6.1f} s, upload→terminé "
                    f"{seconds:7.1f} s, {rate:8,.0f} lines/s ({rate / batch_rate:.2f}× /predict/batch), worker peak "
                    f"RSS {memory(worker.pid, 'VmHWM'):.0f} MB, rows stored {stored[0]:,} "
                    f"({stored[1]:,} distinct lines)",
                    flush=True,
                )
                assert stored[0] == stored[1] == size
        finally:
            worker.terminate()
            worker.wait(timeout=60)
            engine.dispose()
            broker.delete("celery", "_kombu.binding.celery", "unacked", "unacked_index")
            broker.close()


if __name__ == "__main__":
    main()
