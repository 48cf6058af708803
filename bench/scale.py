"""Do the pages cost the same at 1M (or 10M) stored predictions as at 10,000? Times each page at each size.

One PostgreSQL database of its own per run (futurisys_bench_scale_<pid>, dropped at the end, even on failure).
Seeds a few hundred rows through the real write paths (/predict with features and with raw records, the HR form
by two accounts: a big one and a small one), then grows the tables in SQL by copying those rows (new created_at
over the last year, new public ids), refreshes the daily stats, and times every page through the Flask test client
(median of --repeat, whole body read) with /health in the same run; prints each page's time, its ratio to /health
and its ratio to the smallest size. Bounded: sizes above --max-rows are skipped, and so is the next size once a
fill has taken more than --budget seconds in all.

    PYTHONPATH=. .venv/bin/python bench/scale.py [--sizes 10000,1000000] [--repeat 5] [--bundle DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import recreate_database  # noqa: E402
from tests.payloads import RAW  # noqa: E402

PASSWORD = "bench-password-123"
SEED_API, SEED_RAW, SEED_FORM, SEED_SMALL = 300, 100, 60, 6


def seed(app) -> None:
    """Rows written by the app itself: /predict (features, raw) and the HR form (two accounts)."""
    from futurisys.auth.accounts import create_user
    from futurisys.ml.data import raw_records
    from futurisys.ml.features import derive_features
    from futurisys.schema import RAW_NAMES

    with app.app_context():
        create_user("admin", PASSWORD, "admin")
        create_user("rh", PASSWORD, "hr")
        create_user("petit", PASSWORD, "hr")
    records = [{name: r[name] for name in RAW_NAMES} for r in raw_records()]
    api = app.test_client()
    for k in range(SEED_API):
        assert api.post("/predict", json=derive_features(records[k])).status_code == 200
    for k in range(SEED_RAW):
        assert api.post("/predict", json=records[SEED_API + k]).status_code == 200
    for user, count in (("rh", SEED_FORM), ("petit", SEED_SMALL)):
        client = login(app, user)
        for k in range(count):
            data = {n: ("true" if v else "false") if isinstance(v, bool) else str(v) for n, v in records[k].items()}
            assert client.post("/", data={**data, "reference_salarie": f"M{k}"}).status_code == 303


def login(app, username: str):
    client = app.test_client()
    response = client.post("/connexion", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    return client


def grow(engine, target: int) -> float:
    """Copy the seed rows until `target` predictions are stored, spread over the last 365 days; seconds taken."""
    from futurisys.models import Input, Prediction

    started = time.perf_counter()
    inputs, predictions = Input.__table__, Prediction.__table__
    copied = [c.name for c in inputs.columns if c.name not in ("id", "created_at", "public_id", "request_id")]
    copied_p = [c.name for c in predictions.columns if c.name not in ("id", "input_id", "created_at")]
    with engine.begin() as connection:
        seeds = connection.scalar(sa.text("SELECT count(*) FROM inputs WHERE request_id NOT LIKE 'copy-%'"))
        have = connection.scalar(sa.text("SELECT count(*) FROM predictions"))
        missing = target - have
        if missing <= 0:
            return 0.0
        connection.execute(sa.text("SET LOCAL statement_timeout = 0"))
        connection.execute(sa.text("SET LOCAL synchronous_commit = off"))
        # Copy k takes seed row (k mod seeds); its date is spread over a year, newest copies first.
        cols = ", ".join(copied)
        connection.execute(
            sa.text(
                f"""
                WITH s AS (SELECT row_number() OVER (ORDER BY id) - 1 AS k, * FROM inputs
                           WHERE request_id NOT LIKE 'copy-%')
                INSERT INTO inputs ({cols}, created_at, public_id, request_id)
                SELECT {", ".join("s." + c for c in copied)},
                       now() - (g.n * (365 * 86400.0 / :target)) * interval '1 second',
                       CASE WHEN s.public_id IS NULL THEN NULL ELSE substr(md5(g.n::text || random()::text), 1, 22) END,
                       'copy-' || s.id
                FROM generate_series(:have, :target - 1) AS g(n) JOIN s ON s.k = g.n % :seeds
                """
            ),
            {"have": have, "target": target, "seeds": seeds},
        )
        connection.execute(
            sa.text(
                f"""
                INSERT INTO predictions (input_id, {", ".join(copied_p)}, created_at)
                SELECT i.id, {", ".join("p." + c for c in copied_p)}, i.created_at
                FROM inputs i JOIN predictions p ON p.input_id = substr(i.request_id, 6)::int
                WHERE i.request_id LIKE 'copy-%' AND NOT EXISTS (SELECT 1 FROM predictions q WHERE q.input_id = i.id)
                """
            )
        )
        # The copies land in days already counted (the app itself only ever writes today): count them all again.
        connection.execute(sa.text("DELETE FROM stats_refreshes"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("SET statement_timeout = 0"))
        connection.execute(sa.text("VACUUM ANALYZE inputs"))
        connection.execute(sa.text("VACUUM ANALYZE predictions"))
    return time.perf_counter() - started


def median_ms(client, url: str, repeat: int, first_byte: bool = False) -> tuple[float, int]:
    """Median milliseconds of GET `url` (whole body, or the first chunk) and its status."""
    times, status = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url, buffered=not first_byte)
        if first_byte:
            next(response.response)
            response.close()
        else:
            response.get_data()
        times.append((time.perf_counter() - started) * 1000)
        status = response.status_code
    return statistics.median(times), status


def pages(app, engine) -> list[tuple[str, str, object]]:
    """(label, url, client) of every page timed; deep pages start after a key taken in the middle of the table."""
    from futurisys.keyset import encode

    admin, rh, small = login(app, "admin"), login(app, "rh"), login(app, "petit")
    with engine.connect() as connection:
        n = connection.scalar(sa.text("SELECT count(*) FROM predictions"))
        middle = connection.execute(
            sa.text("SELECT created_at, id FROM predictions ORDER BY created_at DESC, id DESC OFFSET :k LIMIT 1"),
            {"k": n * 9 // 10},
        ).one()
        mine = connection.execute(
            sa.text(
                "SELECT i.created_at, i.id FROM inputs i JOIN users u ON u.id = i.user_id WHERE u.username = 'rh' "
                "ORDER BY i.created_at DESC, i.id DESC OFFSET (SELECT count(*) * 9 / 10 FROM inputs i2 "
                "JOIN users u2 ON u2.id = i2.user_id WHERE u2.username = 'rh') LIMIT 1"
            )
        ).one()
        detail = connection.scalar(
            sa.text("SELECT id FROM predictions ORDER BY id DESC OFFSET :k LIMIT 1"), {"k": n // 2}
        )
    month = (app_now() - timedelta(days=30)).date().isoformat()
    return [
        ("/health", "/health", admin),
        ("admin history, first page", "/admin/", admin),
        ("admin history, 90 % deep", f"/admin/?apres={encode(middle)}", admin),
        ("admin history, sort proba desc", "/admin/?sort=proba_desc", admin),
        ("admin history, form + Part", "/admin/?source=form&label=Part", admin),
        ("admin history, 30 days + proba 40-80 %", f"/admin/?date_from={month}&proba_min=40&proba_max=80", admin),
        ("Mes évaluations (big account), first", "/evaluations", rh),
        ("Mes évaluations (big account), 90 % deep", f"/evaluations?apres={encode(mine)}", rh),
        ("Mes évaluations (small account)", "/evaluations", small),
        ("Toutes les évaluations (admin)", "/evaluations", admin),
        ("dashboard, all", "/admin/dashboard?window=all", admin),
        ("dashboard, 30 days", "/admin/dashboard?window=30d", admin),
        ("drift, 30 days", "/admin/drift?window=30d", admin),
        ("drift, all", "/admin/drift?window=all", admin),
        ("admin detail", f"/admin/predictions/{detail}", admin),
        ("export, first chunk", "/admin/export.csv", admin),
    ]


def app_now():
    from futurisys.models import utcnow

    return utcnow()


def predict_ms(client, repeat: int) -> float:
    from tests.payloads import FEATURES

    times = []
    for _ in range(repeat * 4):
        started = time.perf_counter()
        assert client.post("/predict", json=FEATURES).status_code == 200
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def delete_ms(app, engine) -> tuple[float, int]:
    """One admin delete (confirmation posted) of a prediction in the middle of the table."""
    admin = login(app, "admin")
    with engine.connect() as connection:
        n = connection.scalar(sa.text("SELECT count(*) FROM predictions"))
        doomed = connection.scalar(sa.text("SELECT id FROM predictions ORDER BY id OFFSET :k LIMIT 1"), {"k": n // 3})
    started = time.perf_counter()
    status = admin.post(f"/admin/predictions/{doomed}/suppression", data={"confirm": "y"}).status_code
    return (time.perf_counter() - started) * 1000, status


def purge_p99(app, engine, api) -> tuple[tuple[float, int], tuple[float, int], int]:
    """/predict's p99 alone, then while a purge of the oldest 1.5 % runs in another thread (same process)."""
    import threading

    from futurisys import retention
    from futurisys.models import utcnow
    from tests.payloads import FEATURES

    def p99(count: int, until=None) -> float:
        times = []
        for _ in range(count):
            if until is not None and until():
                break
            started = time.perf_counter()
            assert api.post("/predict", json=FEATURES).status_code == 200
            times.append((time.perf_counter() - started) * 1000)
        return statistics.quantiles(times, n=100)[98] if len(times) >= 20 else float("nan")

    alone = p99(200)
    done, result = threading.Event(), []

    def purge():
        with app.app_context():
            result.append(retention.purge_older_than(engine, utcnow() - timedelta(days=359.5), 600))
        done.set()

    thread = threading.Thread(target=purge)
    thread.start()
    during = p99(2000, done.is_set)
    thread.join()
    return (alone, 200), (during, 200), result[0].inputs if result else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--bundle", help="model bundle folder (default: train one in a temporary folder)")
    parser.add_argument("--max-rows", type=int, default=10_000_000)
    parser.add_argument("--budget", type=float, default=300, help="seconds of filling after which no size is added")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if int(s) <= args.max_rows]
    work = tempfile.TemporaryDirectory(prefix="futurisys-bench-scale-")
    bundle = args.bundle
    if not bundle:
        from futurisys.ml.train import train_bundle

        bundle = str(Path(work.name) / "model")
        train_bundle(bundle)
    database = f"futurisys_bench_scale_{os.getpid()}"
    url = recreate_database(database)
    from futurisys import create_app, stats
    from futurisys.db_timeouts import maintenance
    from futurisys.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": "bench",
            "MODEL_DIR": bundle,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    results: dict[int, dict[str, tuple[float, int]]] = {}
    filled = 0.0
    try:
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            engine = db.engine
        assert app.test_cli_runner().invoke(args=["data", "load"]).exit_code == 0
        seed(app)
        api = app.test_client()
        empty_predict = predict_ms(api, args.repeat)
        empty_health = median_ms(api, "/health", args.repeat * 4)[0]
        print(f"/predict on the seeded database: {empty_predict:.1f} ms, /health {empty_health:.2f} ms")
        for size in sizes:
            if filled > args.budget:
                print(f"skipping {size:,}: filling already took {filled:.0f} s")
                break
            with maintenance(3600):  # the app's client-side deadline is the request's 2 s otherwise
                seconds = grow(engine, size)
            filled += seconds
            started = time.perf_counter()
            with app.app_context():
                stats.refresh(engine, 600)
            refresh_s = time.perf_counter() - started
            with engine.connect() as connection:
                disk = connection.scalar(
                    sa.text("SELECT pg_total_relation_size('inputs') + pg_total_relation_size('predictions')")
                )
                raw_bytes = connection.scalar(
                    sa.text("SELECT avg(pg_column_size(raw_record)) FROM inputs WHERE raw_record IS NOT NULL")
                )
                full_bytes = connection.scalar(
                    sa.text("SELECT pg_column_size(CAST(:doc AS json))"), {"doc": json.dumps(RAW)}
                )
            print(
                f"  raw_record: {float(raw_bytes or 0):.0f} bytes stored per raw record (all 27 fields: {full_bytes})"
            )
            print(
                f"\n{size:,} predictions: filled in {seconds:.1f} s, daily stats in {refresh_s:.1f} s, "
                f"inputs + predictions {disk / 2**20:,.0f} MiB ({disk / 2**20 / size * 1e6:,.0f} MiB per 1M), "
                f"load {os.getloadavg()[0]:.2f}"
            )
            row = {}
            for label, page, client in pages(app, engine):
                row[label] = median_ms(client, page, args.repeat, first_byte=page.endswith(".csv"))
            row["/predict"] = (predict_ms(api, args.repeat), 200)
            row["admin delete of one prediction"] = delete_ms(app, engine)
            row["/predict p99 alone"], row["/predict p99 during a purge"], purged = purge_p99(app, engine, api)
            print(f"  (the purge deleted {purged:,} inputs, the oldest 1.5 %, in batches)")
            results[size] = row
            health = row["/health"][0]
            base = results[sizes[0]]
            print(f"  {'page':<46} {'ms':>8} {'÷ /health':>10} {'÷ ' + format(sizes[0], ','):>10}  status")
            for label, (ms, status) in row.items():
                ratio = ms / base[label][0] if base[label][0] else float("nan")
                print(f"  {label:<46} {ms:8.1f} {ms / health:10.0f} {ratio:10.2f}  {status}")
        print(f"\nload average at the end: {os.getloadavg()}")
    finally:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()
        recreate_database(database, drop_only=True)
        work.cleanup()


if __name__ == "__main__":
    main()
