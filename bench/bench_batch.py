"""Benchmark of batch scoring: the model part, the validation, and POST /predict/batch end to end.

Prints records/s of `Predictor.predict_many` and of the validation on N records (default 10,000, half raw HR
records, half 30-feature payloads), then the time of a whole N-record POST /predict/batch on PostgreSQL: through
Flask's test client in-process, and through gunicorn on 127.0.0.1 (both on a throw-away database,
`futurisys_bench_batch`, created and dropped here). With --url it only posts to a server that is already
running (its own database), with --api-key if it asks for one. Bounded: gives up after --timeout seconds.

Usage: PYTHONPATH=. .venv/bin/python bench/bench_batch.py [--records 10000] [--runs 3] [--bundle DIR]
       [--no-gunicorn] [--url http://127.0.0.1:8000 [--api-key KEY]]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import sqlalchemy as sa

from bench.common import announce, gunicorn, model_bundle, throwaway_database

ROOT = Path(__file__).resolve().parent.parent


def records(count: int) -> tuple[list[dict], list[dict]]:
    """`count` JSON records cycling through the reference employees (alternately raw and features), and
    their 30 features."""
    from futurisys.domain.schema import RAW_NAMES
    from futurisys.ml.data import raw_records
    from futurisys.ml.features import derive_features

    raws = [{name: r[name] for name in RAW_NAMES} for r in raw_records()]
    features = [derive_features(r) for r in raws]
    picked = [i % len(raws) for i in range(count)]
    payloads = [raws[i] if n % 2 == 0 else features[i] for n, i in enumerate(picked)]
    return payloads, [features[i] for i in picked]


def best_rate(function, count: int, runs: int) -> float:
    """Records per second of the fastest of `runs` calls of `function`."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return count / best


def post(url: str, body: bytes, api_key: str | None = None) -> tuple[int, float, bytes]:
    """POST a JSON body; (status, seconds, answer)."""
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["X-API-Key"] = api_key
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, body, headers), timeout=60) as response:
            status, answer = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, answer = exc.code, exc.read()
    return status, time.perf_counter() - started, answer


def report_requests(label: str, timings: list[tuple[int, float]], count: int) -> None:
    """One line per setting: each run's status and seconds, and the best records/s."""
    runs = "  ".join(f"{status} {seconds:.3f} s" for status, seconds in timings)
    best = min(seconds for _, seconds in timings)
    print(f"{label:<34}: {runs}   (best {count / best:,.0f} records/s)")


def in_process(url: str, bundle: str, body: bytes, count: int, runs: int) -> None:
    """POST /predict/batch through the test client; also time validation+storage without HTTP/JSON."""
    from flask import g
    from flask_migrate import upgrade

    from futurisys import create_app
    from futurisys.domain.records import validate_many
    from futurisys.extensions import db, model_store
    from futurisys.storage.predictions import predict_and_store_many

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "MODEL_DIR": bundle, "SECRET_KEY": "bench", "LOG_LEVEL": "WARNING"}
    )
    with app.app_context():
        upgrade()
    client = app.test_client()
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.post("/predict/batch", data=body, content_type="application/json")
        timings.append((response.status_code, time.perf_counter() - started))
    report_requests("test client, POST /predict/batch", timings, count)

    payloads = json.loads(body)
    with app.test_request_context():
        g.request_id = "bench"
        items, errors = validate_many(payloads)
        assert not errors, "benchmark records must be valid"
        store = []
        for _ in range(runs):
            started = time.perf_counter()
            predict_and_store_many(model_store.predictor, items, source="batch", request_id="bench", started=started)
            store.append(time.perf_counter() - started)
        print(f"{'predict_and_store_many (score+DB)':<34}: " + "  ".join(f"{s:.3f} s" for s in store))
        rows = db.session.scalar(sa.text("SELECT count(*) FROM inputs WHERE source = 'batch'"))
        print(f"{'rows stored, source batch':<34}: {rows} (expected {2 * runs * count})")
        db.session.remove()
        db.engine.dispose()


def with_gunicorn(url: str, bundle: str, body: bytes, count: int, runs: int) -> None:
    """POST /predict/batch to a gunicorn (1 worker) started here on 127.0.0.1, stopped afterwards."""
    with gunicorn(url, bundle, workers=1, threads=3) as (base, _):
        timings = [post(f"{base}/predict/batch", body)[:2] for _ in range(runs)]
    report_requests("gunicorn (1 worker), HTTP", timings, count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bundle", help="model bundle folder (default: MODEL_DIR, else one trained here)")
    parser.add_argument("--no-gunicorn", action="store_true", help="skip the gunicorn measurement")
    parser.add_argument("--url", help="base URL of a running server: only time POST /predict/batch there")
    parser.add_argument("--api-key", help="X-API-Key to send with --url")
    parser.add_argument("--timeout", type=int, default=300, help="give up after this many seconds")
    args = parser.parse_args()

    def give_up(*_):
        raise SystemExit(f"benchmark stopped after {args.timeout} s")

    signal.signal(signal.SIGALRM, give_up)
    signal.alarm(args.timeout)
    sys.path.insert(0, str(ROOT))
    payloads, features = records(args.records)
    body = json.dumps(payloads, ensure_ascii=False).encode("utf-8")
    print(
        f"{args.records:,} records (half raw HR records, half 30-feature payloads), JSON body "
        f"{len(body) / 2**20:.1f} MiB, best of {args.runs} runs"
    )
    if args.url:
        timings = [post(args.url.rstrip("/") + "/predict/batch", body, args.api_key)[:2] for _ in range(args.runs)]
        report_requests(f"{args.url}", timings, args.records)
        return

    from futurisys.domain.records import validate_many, validate_payload
    from futurisys.ml.predictor import Predictor

    announce(f"batch scoring of {args.records:,} records", 5 + 4 * args.runs * args.records / 10_000)
    with tempfile.TemporaryDirectory(prefix="futurisys-bench-") as work:
        bundle = model_bundle(args.bundle, Path(work))
        predictor = Predictor.load(bundle)
        print(
            f"{'model part (predict_many)':<34}: "
            f"{best_rate(lambda: predictor.predict_many(features), args.records, args.runs):,.0f} records/s"
        )
        print(
            f"{'validation (validate_many)':<34}: "
            f"{best_rate(lambda: validate_many(payloads), args.records, args.runs):,.0f} records/s"
        )
        assert validate_payload(payloads[0])[2] == {}
        with throwaway_database("batch") as url:
            in_process(url, bundle, body, args.records, args.runs)
            if not args.no_gunicorn:
                with_gunicorn(url, bundle, body, args.records, args.runs)


if __name__ == "__main__":
    main()
