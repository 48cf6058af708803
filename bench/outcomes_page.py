"""Outcomes: import 10,000 departures, then draw « Performance réelle » over 100,000 and 1,000,000 predictions.

PostgreSQL database futurisys_bench_outcomes (dropped at the end). Predictions are generated in SQL
(generate_series): two years, one employee pool, probabilities skewed low; departures are the pool's employees
leaving with roughly their probability. Times go through the Flask test client, each beside GET /health in the
same run (the ratio is page ÷ /health); a second step adds predictions of the last months only (not matured) to
show what they cost the page. Each size: the page's first view with no monthly summary stored (it summarises what
its 1 s budget allows), the job engine's task summarising every month, then the page. Bounded: at most 1,000,000
rows, a statement timeout of 60 s.

    .venv/bin/python bench/outcomes_page.py [--sizes 100000,1000000] [--keep]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import recreate_database  # noqa: E402
from futurisys import create_app  # noqa: E402
from futurisys.extensions import db  # noqa: E402
from futurisys.outcomes.kinds import KINDS  # noqa: E402
from futurisys.storage.models import utcnow  # noqa: E402

DATABASE = "futurisys_bench_outcomes"
VERSION = "fx-bench-outcomes"
PASSWORD = "bench-password-123"
POOL = 20_000  # employees; each evaluated several times over the two years
MAX_ROWS = 1_000_000


def add_predictions(engine, first_id: int, count: int, max_age_days: float) -> None:
    """`count` predictions (ids from `first_id`), aged 0 to `max_age_days`, written by two INSERT … SELECT.

    On an engine of its own: the app's engine gives up on a statement after DB_STATEMENT_TIMEOUT (2.25 s).
    """
    from tests.payloads import FEATURES

    columns = ", ".join(FEATURES)
    values = ", ".join(repr(v) if not isinstance(v, bool) else str(v).upper() for v in FEATURES.values())
    with engine.begin() as connection:
        connection.execute(sa.text("SET LOCAL statement_timeout = '60s'"))
        connection.execute(
            sa.text(
                f"INSERT INTO inputs (id, {columns}, source, request_id, created_at, employee_ref) "
                f"SELECT g, {values}, 'lot', 'bench', now() - random() * (:age * interval '1 day'), "
                "'E' || (g % :pool) FROM generate_series(:first, :last) AS g"
            ),
            {"age": max_age_days, "pool": POOL, "first": first_id, "last": first_id + count - 1},
        )
        connection.execute(
            sa.text(
                "INSERT INTO predictions (input_id, prediction_label, prediction_proba, threshold, model_version, "
                "created_at, latency_ms) SELECT i.id, CASE WHEN p >= 0.3 THEN 'Part' ELSE 'Reste' END, p, 0.3, "
                ":version, i.created_at, 3.0 FROM (SELECT id, created_at, power(random(), 2.2) AS p FROM inputs "
                "WHERE id BETWEEN :first AND :last) AS i"
            ),
            {"version": VERSION, "first": first_id, "last": first_id + count - 1},
        )
        connection.execute(
            sa.text("SELECT setval(pg_get_serial_sequence('inputs', 'id'), :last)"), {"last": first_id + count - 1}
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE inputs"))
        connection.execute(sa.text("ANALYZE predictions"))
        connection.execute(sa.text("ANALYZE departures"))


def departures_csv(count: int) -> bytes:
    """`count` departures of distinct pool employees over the last two years: 70 % resignations, the rest mixed."""
    rng = random.Random(11)
    today = utcnow().date()
    kinds = list(KINDS)
    lines = ["reference_salarie;date_depart;motif"]
    for ref in rng.sample(range(POOL), count):
        kind = "demission" if rng.random() < 0.7 else rng.choice(kinds)
        lines.append(f"E{ref};{(today - timedelta(days=rng.randint(1, 730))).isoformat()};{kind}")
    return ("\r\n".join(lines) + "\r\n").encode()


def timed(client, url: str, repeat: int = 3) -> tuple[float, float, set[int]]:
    """(min, max) seconds of GET `url` over `repeat` runs, and the statuses answered."""
    times, statuses = [], set()
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        response.get_data()
        times.append(time.perf_counter() - started)
        statuses.add(response.status_code)
    return min(times), max(times), statuses


def page_line(app, client, engine, label: str) -> None:
    """The page's first view with no summary stored, the job engine's summarising task, then the page's views."""
    from futurisys.outcomes.performance import refresh_summaries

    url = f"/admin/performance?version={VERSION}&horizon=12"
    with engine.begin() as connection:  # rows were added in the past (the app only ever adds today's)
        connection.execute(sa.text("DELETE FROM outcome_summaries"))
    health = timed(client, "/health", 20)
    cold = timed(client, url, 1)
    started = time.perf_counter()
    with app.app_context():
        months = refresh_summaries()
    summarised = time.perf_counter() - started
    page = timed(client, url)
    print(
        f"  {label:<40} first view {cold[0] * 1000:6.0f} ms (HTTP {sorted(cold[2])}); task: {months} months (3 "
        f"horizons) in {summarised:.1f} s; then page {page[0] * 1000:6.0f}–{page[1] * 1000:6.0f} ms (HTTP "
        f"{sorted(page[2])})   /health {health[0] * 1000:.2f} ms   page ÷ /health {page[0] / health[0]:,.0f}   "
        f"load {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000", help="total predictions to draw the page over")
    parser.add_argument("--departures", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()
    sizes = sorted(min(int(s), MAX_ROWS) for s in args.sizes.split(","))
    url = recreate_database(DATABASE)
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "WTF_CSRF_ENABLED": False, "SECRET_KEY": "bench"}
    )
    try:
        with app.app_context():
            from flask_migrate import upgrade

            from futurisys.auth.accounts import create_user

            upgrade()
            create_user("bench", PASSWORD, "admin")
        client = app.test_client()
        assert client.post("/connexion", data={"username": "bench", "password": PASSWORD}).status_code == 302
        print(f"load average at start: {os.getloadavg()[0]:.2f}")

        content = departures_csv(min(args.departures, POOL))
        started = time.perf_counter()
        response = client.post(
            "/admin/departs", data={"fichier": (io.BytesIO(content), "departs.csv")}, content_type="multipart/form-data"
        )
        imported = time.perf_counter() - started
        assert response.status_code == 303, response.get_data(as_text=True)[-2000:]
        started = time.perf_counter()
        again = client.post(
            "/admin/departs", data={"fichier": (io.BytesIO(content), "departs.csv")}, content_type="multipart/form-data"
        )
        reimported = time.perf_counter() - started
        assert again.status_code == 303
        print(f"CSV import of {args.departures:,} departures: {imported:.2f} s; again (all known): {reimported:.2f} s")

        done, engine = 0, sa.create_engine(url)
        with app.app_context():
            for size in sizes:
                started = time.perf_counter()
                add_predictions(engine, done + 1, size - done, 730)
                print(f"generated {size - done:,} predictions over two years in {time.perf_counter() - started:.1f} s")
                done = size
                page_line(app, client, engine, f"{size:,} predictions")
                extra = size // 10
                add_predictions(engine, done + 1, extra, 300)  # younger than the 12-month horizon: not matured
                done += extra
                page_line(app, client, engine, f"+ {extra:,} not matured ({done:,})")
        engine.dispose()
    finally:
        with app.app_context():
            db.engine.dispose()
        if not args.keep:
            recreate_database(DATABASE, drop_only=True)


if __name__ == "__main__":
    main()
