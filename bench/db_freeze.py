"""Answer times under gunicorn while the database is frozen (SIGSTOP) or stopped, and the recovery after.

A private PostgreSQL (initdb into a temporary folder, its own port) is frozen or stopped; 16 clients keep posting
to /predict while /health, a static file, /ready, the HR form and /predict are timed one at a time. All traffic
goes to 127.0.0.1 and each phase is bounded (--seconds). About 60 s with the defaults (it prints its estimate);
the private server and gunicorn are removed at the end, even when interrupted.

Usage: PYTHONPATH=. .venv/bin/python bench/db_freeze.py [--runs 3] [--seconds 6] [--bundle DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import announce, gunicorn, model_bundle  # noqa: E402
from tests.payloads import FEATURES, RAW  # noqa: E402
from tests.private_postgres import PrivatePostgres  # noqa: E402

CLIENTS = 16
FORM = {
    name: ("true" if value else "false") if isinstance(value, bool) else str(value)
    for name, value in RAW.items()
    if value is not None
}


def timed(session: requests.Session, method: str, url: str, **kwargs) -> tuple[int, float]:
    started = time.perf_counter()
    status = session.request(method, url, timeout=30, **kwargs).status_code
    return status, time.perf_counter() - started


def hammer(base: str, until: float, results: list) -> None:
    """One client posting /predict until `until` (bounded in time)."""
    with requests.Session() as session:
        while time.monotonic() < until:
            results.append(timed(session, "POST", f"{base}/predict", json=FEATURES))


def probe(base: str, form_session: requests.Session, token: str) -> dict[str, tuple[int, float]]:
    with requests.Session() as session:
        return {
            "/health": timed(session, "GET", f"{base}/health"),
            "static": timed(session, "GET", f"{base}/static/css/app.css"),
            "/ready": timed(session, "GET", f"{base}/ready"),
            "form": timed(
                form_session, "POST", f"{base}/", data={**FORM, "csrf_token": token}, headers={"Accept": "text/html"}
            ),
            "/predict": timed(session, "POST", f"{base}/predict", json=FEATURES),
        }


def phase(base: str, seconds: float, form_session, token) -> tuple[dict, list]:
    until = time.monotonic() + seconds
    results: list = []
    clients = [threading.Thread(target=hammer, args=(base, until, results)) for _ in range(CLIENTS)]
    for client in clients:
        client.start()
    time.sleep(0.5)  # the clients are now waiting on the database
    probes = probe(base, form_session, token)
    for client in clients:
        client.join()
    return probes, results


def until_ready(base: str, limit: float = 30) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < limit:  # bounded
        try:
            if requests.get(f"{base}/ready", timeout=3).status_code == 200:
                return time.perf_counter() - started
        except requests.RequestException:
            pass
        time.sleep(0.05)
    return float("nan")


def report(name: str, runs: list[tuple[dict, list]]) -> None:
    print(f"\n{name} ({CLIENTS} clients posting /predict meanwhile)")
    for key in runs[0][0]:
        times = [probes[key][1] for probes, _ in runs]
        statuses = sorted({probes[key][0] for probes, _ in runs})
        print(f"  {key:9} status {statuses}  {min(times):.2f}–{max(times):.2f} s")
    clients = [item for _, results in runs for item in results]
    statuses = sorted({status for status, _ in clients})
    slowest = max(seconds for _, seconds in clients)
    print(f"  clients   {len(clients)} answers, statuses {statuses}, slowest {slowest:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6)
    parser.add_argument("--bundle", help="model bundle folder (default: MODEL_DIR, instance/model, else train one)")
    args = parser.parse_args()
    announce("a frozen, then a stopped database under load", 15 + args.runs * (2 + 2 * (args.seconds + 2)))
    with tempfile.TemporaryDirectory() as work:
        bundle = model_bundle(args.bundle, Path(work))
        os.environ["SESSION_COOKIE_SECURE"] = "0"  # the form's session cookie over plain http on 127.0.0.1
        server = PrivatePostgres.create()
        try:
            with gunicorn(server.url, bundle, workers=3, threads=3) as (base, _):
                form_session = requests.Session()
                token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form_session.get(f"{base}/").text)[1]
                healthy = [phase(base, 1, form_session, token) for _ in range(args.runs)]
                frozen, stopped, recovery = [], [], []
                for results, outage, back in (
                    (frozen, server.freeze, server.thaw),
                    (stopped, server.stop, server.start),
                ):
                    for _ in range(args.runs):
                        outage()
                        try:
                            results.append(phase(base, args.seconds, form_session, token))
                        finally:
                            back()
                        recovery.append(until_ready(base))
                print(f"load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f}")
                report("healthy database", healthy)
                report("frozen database (SIGSTOP)", frozen)
                report("stopped database (pg_ctl stop)", stopped)
                print(f"\nrecovery: /ready 200 again {min(recovery):.2f}–{max(recovery):.2f} s after thaw/start")
        finally:
            server.remove()


if __name__ == "__main__":
    main()
