"""Time the admin history, export, dashboard and drift on 100,000 predictions in PostgreSQL.

About 60 s for 100,000 rows (filling them takes most of it). Creates a PostgreSQL database of its own on
BENCH_PG_ADMIN_URL's server (dropped at the end, even when interrupted, unless --keep), fills it with SQLAlchemy
Core executemany, then prints EXPLAIN ANALYZE figures for the history queries and wall times through the Flask
test client.

    .venv/bin/python bench/admin_history.py [--rows 100000] [--keep]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import announce, throwaway_database  # noqa: E402
from futurisys import create_app  # noqa: E402
from futurisys.admin.export import COLUMNS  # noqa: E402
from futurisys.admin.queries import export_select, history_select, label_counts  # noqa: E402
from futurisys.extensions import db  # noqa: E402
from futurisys.storage.models import Input, Prediction, utcnow  # noqa: E402

SOURCES = ("api", "form", "batch", "whatif")
VERSIONS = ("fx-aaaaaaaaaaaa", "fx-bbbbbbbbbbbb", "fx-cccccccccccc")
PASSWORD = "bench-password-123"


def fill(rows: int) -> None:
    """`rows` inputs and predictions over the last 180 days, features sampled from the reference employees."""
    from futurisys.ml.data import training_matrix

    features = training_matrix()[0].to_dict("records")
    rng = random.Random(7)
    now = utcnow()
    batch = 10_000
    for start in range(0, rows, batch):
        size = min(batch, rows - start)
        stamps = [now - timedelta(seconds=rng.uniform(0, 180 * 86400)) for _ in range(size)]
        inputs = [
            {
                **{k: (v.item() if hasattr(v, "item") else v) for k, v in rng.choice(features).items()},
                "raw_record": None,
                "source": rng.choice(SOURCES),
                "request_id": f"bench-{start + i}",
                "created_at": stamps[i],
                "parent_input_id": None,
            }
            for i in range(size)
        ]
        with db.engine.begin() as connection:
            ids = (
                connection.execute(
                    Input.__table__.insert().returning(Input.__table__.c.id, sort_by_parameter_order=True), inputs
                )
                .scalars()
                .all()
            )
            probas = [rng.betavariate(1.2, 4) for _ in range(size)]
            connection.execute(
                Prediction.__table__.insert(),
                [
                    {
                        "input_id": input_id,
                        "prediction_label": "Part" if p >= 0.3 else "Reste",
                        "prediction_proba": p,
                        "threshold": 0.3,
                        "model_version": rng.choice(VERSIONS),
                        "created_at": stamps[i],
                        "latency_ms": rng.uniform(2, 9),
                        "api_key_name": None,
                    }
                    for i, (input_id, p) in enumerate(zip(ids, probas, strict=False))
                ],
            )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("ANALYZE"))


def explain(label: str, statement) -> None:
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = db.session.execute(sa.text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")).scalars().all()
    total = next(line for line in plan if line.startswith("Execution Time"))
    print(f"  {label:<58} {total}")


def timed(client, label: str, url: str, repeat: int = 3) -> None:
    best, size = float("inf"), 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        body = response.get_data()
        best = min(best, time.perf_counter() - started)
        size = len(body)
        assert response.status_code == 200, (url, response.status_code)
    print(f"  {label:<58} {best * 1000:8.1f} ms  ({size / 1024:,.0f} KiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()
    rows = min(args.rows, 1_000_000)
    announce(f"admin history on {rows:,} rows", 10 + rows / 2_000)
    with throwaway_database("admin", keep=args.keep) as url:
        run(url, rows)


def run(url: str, rows: int) -> None:
    """Fill the database at `url` and time the admin pages on it."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": "bench",
            "MODEL_DIR": "/nonexistent",
        }
    )
    try:
        with app.app_context():
            from flask_migrate import upgrade

            from futurisys.auth.accounts import create_user

            upgrade()
            assert app.test_cli_runner().invoke(args=["data", "load"]).exit_code == 0
            started = time.perf_counter()
            fill(rows)
            print(f"filled {rows:,} inputs + predictions in {time.perf_counter() - started:.1f} s")
            create_user("bench", PASSWORD, "admin")

            month = {"date_from": (utcnow() - timedelta(days=30)).date()}
            print("EXPLAIN ANALYZE (PostgreSQL execution time):")
            explain("history page 1, newest first", history_select({}, "date_desc").limit(50))
            explain("history page 1000, newest first", history_select({}, "date_desc").limit(50).offset(49_950))
            explain("history by probability desc", history_select({}, "proba_desc").limit(50))
            explain(
                "history, 30 days + form + Part + proba 40-80 %",
                history_select(
                    {**month, "source": "form", "label": "Part", "proba_min": 40, "proba_max": 80}, "date_desc"
                ).limit(50),
            )
            explain("history, one model version", history_select({"model_version": VERSIONS[1]}, "date_desc").limit(50))
            explain(
                "counts per label, no filter",
                sa.select(Prediction.prediction_label, sa.func.count()).group_by(Prediction.prediction_label),
            )
            explain("distinct model versions", sa.select(Prediction.model_version).distinct())
            explain("export, all rows", export_select(COLUMNS, {}, "date_desc"))
            assert sum(label_counts({}).values()) == rows

        client = app.test_client()
        assert client.post("/connexion", data={"username": "bench", "password": PASSWORD}).status_code == 302
        print("Through the Flask test client (best of 3, whole response):")
        timed(client, "GET /admin/ (page 1 of all)", "/admin/")
        timed(client, "GET /admin/?page=1000", "/admin/?page=1000")
        timed(client, "GET /admin/?sort=proba_desc", "/admin/?sort=proba_desc")
        timed(
            client,
            "GET /admin/ with 4 filters",
            f"/admin/?date_from={month['date_from']}&source=form&label=Part&proba_min=40&proba_max=80",
        )
        timed(client, "GET /admin/export.csv (30 days)", f"/admin/export.csv?date_from={month['date_from']}", 1)
        timed(client, f"GET /admin/export.csv (all {rows:,} rows)", "/admin/export.csv", 1)
        timed(client, "GET /admin/dashboard?window=all", "/admin/dashboard?window=all")
        timed(client, "GET /admin/drift?window=all (50,000 newest)", "/admin/drift?window=all", 1)
    finally:
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
