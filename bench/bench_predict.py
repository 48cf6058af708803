"""Load benchmark of POST /predict under gunicorn on PostgreSQL, against /health on the same server.

Starts its own gunicorn on 127.0.0.1 with a throw-away PostgreSQL database, drives it with wrk (Debian package
`wrk`) at 8 connections for a bounded duration, prints requests/s, latency percentiles, the ratio to /health, the
start-up time to ready, and checks that every 200 left exactly one input and one prediction row.

Usage: PYTHONPATH=. .venv/bin/python bench/bench_predict.py [--seconds 10] [--connections 8] [--workers 3]
       [--threads 3] [--bundle DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
from pathlib import Path

import sqlalchemy as sa

from bench.common import announce, gunicorn, model_bundle, throwaway_database

WRK_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [[%s]]
"""


def row_counts(url: str) -> tuple[int, int]:
    """Rows in `inputs` and in `predictions`."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        counts = tuple(
            connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) for table in ("inputs", "predictions")
        )
    engine.dispose()
    return counts


def wrk(url: str, seconds: int, connections: int, script: str | None = None) -> dict:
    """Run wrk and parse requests/s, latency percentiles and non-2xx counts."""
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if script:
        command[1:1] = ["-s", script]
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    to_ms = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    percentiles = {p: float(v) * to_ms[u] for p, v, u in re.findall(r"\s(50|90|99)%\s+([\d.]+)(us|ms|s)", output)}
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "p50": percentiles.get("50"),
        "p90": percentiles.get("90"),
        "p99": percentiles.get("99"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=3)
    parser.add_argument("--bundle", help="model bundle folder (default: MODEL_DIR, instance/model, else train one)")
    args = parser.parse_args()
    announce("POST /predict against /health under gunicorn", 12 + 2 * args.seconds)
    with tempfile.TemporaryDirectory(prefix="futurisys-bench-") as work, throwaway_database("predict") as url:
        run(args, Path(work), model_bundle(args.bundle, Path(work)), url)


def run(args, work: Path, bundle: str, database_url: str) -> None:
    """Serve `database_url` with gunicorn, load it with wrk and print the figures."""
    from tests.payloads import FEATURES

    with gunicorn(database_url, bundle, args.workers, args.threads) as (base, ready_s):
        script = work / "predict.lua"
        script.write_text(WRK_LUA % json.dumps(FEATURES, ensure_ascii=False))
        wrk(f"{base}/health", 3, args.connections)  # warm-up: every worker has loaded the app
        health = wrk(f"{base}/health", args.seconds, args.connections)
        wrk(f"{base}/predict", 3, args.connections, str(script))  # warm-up
        rows_before = row_counts(database_url)
        predict = wrk(f"{base}/predict", args.seconds, args.connections, str(script))
    inputs, predictions = (after - before for after, before in zip(row_counts(database_url), rows_before, strict=False))
    print(
        f"gunicorn gthread, {args.workers} workers x {args.threads} threads, {args.connections} connections, "
        f"{args.seconds} s per endpoint, PostgreSQL"
    )
    print(f"start-up to ready          : {ready_s:.2f} s")
    for name, result in (("GET /health", health), ("POST /predict", predict)):
        print(
            f"{name:<14} {result['rps']:8.0f} req/s   p50 {result['p50']:.2f} ms   p90 {result['p90']:.2f} ms   "
            f"p99 {result['p99']:.2f} ms   non-2xx {result['non_2xx']}"
        )
    print(f"/predict / /health         : {predict['rps'] / health['rps']:.2f}")
    print(
        f"rows written during the run: {inputs} inputs, {predictions} predictions; wrk counted "
        f"{predict['requests'] - predict['non_2xx']} answers 200"
    )
    print("note: with keep-alive, wrk's connections may all land on one worker in a run; that run is slower")


if __name__ == "__main__":
    main()
