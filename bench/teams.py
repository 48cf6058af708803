"""« Vue équipes » at scale: does the page cost the same with 1M stored evaluations as with 10,000, for one company?

For each --evaluations size, a PostgreSQL database of its own (bench_teams_<pid>_<random>, dropped at the end, even
on failure): --employees real employees of the reference data evaluated once through the real write path (the
lots' `predict_and_store_many`, by one HR account, references E0…), then their evaluations copied in SQL up to the
size (same references, new dates over the last year, new public ids), with as many API predictions beside them.
Then, through the Flask test client, GET /equipes (admin: the year, by job), /equipes.csv and /health alternate
--repeat times on every size in turn, so the machine's load falls on all alike; prints the medians, each page ÷
/health of the same run, and each size ÷ the smallest. Bounded: a fixed number of requests; nothing leaves the
process but its queries to 127.0.0.1.

    PYTHONPATH=. .venv/bin/python bench/teams.py [--evaluations 10000,1000000] [--employees 5000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import announce, copy_predictions, model_bundle, throwaway_database  # noqa: E402

PASSWORD = "bench-password-123"
PAGES = (("/health", "/health"), ("Vue équipes", "/equipes"), ("Vue équipes (CSV)", "/equipes.csv"))


def build(url: str, bundle: str, employees: int, evaluations: int):
    """The app on `url`, with `employees` evaluated once each, then their evaluations copied up to `evaluations`."""
    from flask_migrate import upgrade

    from futurisys import create_app
    from futurisys.auth.accounts import create_user
    from futurisys.domain.schema import RAW_NAMES
    from futurisys.extensions import model_store
    from futurisys.ml.data import raw_records
    from futurisys.ml.features import derive_features
    from futurisys.storage.predictions import Author, predict_and_store_many

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
    records = [{name: r[name] for name in RAW_NAMES} for r in raw_records()]
    with app.app_context():
        upgrade()
        create_user("admin", PASSWORD, "admin")
        author = create_user("rh", PASSWORD, "hr")
        with app.test_request_context():
            for first in range(0, employees, 1000):
                chosen = [records[k % len(records)] for k in range(first, min(first + 1000, employees))]
                predict_and_store_many(
                    model_store.predictor,
                    [(derive_features(raw), raw) for raw in chosen],
                    source="lot",
                    request_id="bench",
                    started=time.perf_counter(),
                    authors=[Author(author.id, f"E{first + k}") for k in range(len(chosen))],
                )
    # An engine of its own: the app's waits on the database with a deadline (storage/db_timeouts.py).
    engine = sa.create_engine(url)
    grow(engine, evaluations)
    engine.dispose()
    return app


def grow(engine, target: int) -> None:
    """Copy the evaluations (with their predictions) up to `target`, dated over the last 365 days; an API
    prediction (no public id, no reference) beside each copy."""
    from futurisys.storage.models import Input, Prediction

    inputs, predictions = Input.__table__, Prediction.__table__
    copied = [c.name for c in inputs.columns if c.name not in ("id", "created_at", "public_id", "request_id", "source")]
    copied_p = [c.name for c in predictions.columns if c.name not in ("id", "input_id", "created_at")]
    cols = ", ".join(copied)
    nulls = {"lot_id": "NULL::varchar", "lot_line": "NULL::int", "user_id": "NULL::int"}
    nulls["employee_ref"] = "NULL::varchar"
    with engine.begin() as connection:
        have = connection.scalar(sa.text("SELECT count(*) FROM inputs"))
        connection.execute(sa.text("SET LOCAL statement_timeout = 0"))
        connection.execute(sa.text("SET LOCAL synchronous_commit = off"))
        connection.execute(
            sa.text(
                f"""
                WITH s AS (SELECT row_number() OVER (ORDER BY id) - 1 AS k, * FROM inputs)
                INSERT INTO inputs ({cols}, source, created_at, public_id, request_id)
                SELECT {", ".join(nulls[c] if c in ("lot_id", "lot_line") else "s." + c for c in copied)}, 'form',
                       now() - (g.n * (365 * 86400.0 / :target)) * interval '1 second',
                       substr(md5(g.n::text || random()::text), 1, 22), 'copy-' || s.id
                FROM generate_series(:have, :target - 1) AS g(n) JOIN s ON s.k = g.n % :have
                UNION ALL
                SELECT {", ".join(nulls.get(c, "s." + c) for c in copied)}, 'api',
                       now() - (g.n * (365 * 86400.0 / :target)) * interval '1 second', NULL, 'copy-' || s.id
                FROM generate_series(:have, :target - 1) AS g(n) JOIN s ON s.k = g.n % :have
                """
            ),
            {"have": have, "target": target},
        )  # fmt: skip
        copy_predictions(connection, copied_p)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("SET statement_timeout = 0"))
        connection.execute(sa.text("VACUUM ANALYZE inputs"))
        connection.execute(sa.text("VACUUM ANALYZE predictions"))


def signed_in(app):
    client = app.test_client()
    assert client.post("/connexion", data={"username": "admin", "password": PASSWORD}).status_code == 302
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", default="10000,1000000")
    parser.add_argument("--employees", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--bundle")
    args = parser.parse_args()
    sizes = [int(size) for size in args.evaluations.split(",")]
    announce(f"« Vue équipes » at {sizes} evaluations", 30 + sum(sizes) / 12_000)
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="futurisys-bench-teams-")))
        bundle = model_bundle(args.bundle, work)
        clients = {}
        for size in sizes:
            started = time.perf_counter()
            url = stack.enter_context(throwaway_database("teams"))
            clients[size] = signed_in(build(url, bundle, args.employees, size))
            took = time.perf_counter() - started
            print(f"{size:>9,} evaluations ({args.employees:,} employees) built in {took:.0f} s", flush=True)
        times = {(size, name): [] for size in sizes for name, _ in PAGES}
        for _ in range(args.repeat):
            for size in sizes:
                for name, path in PAGES:
                    started = time.perf_counter()
                    response = clients[size].get(path)
                    assert response.status_code == 200, (path, response.status_code)
                    times[(size, name)].append((time.perf_counter() - started) * 1000)
        smallest = sizes[0]
        print(f"{'page':<20}" + "".join(f"{size:>14,}" for size in sizes) + "   ÷ /health    ÷ smallest")
        for name, _ in PAGES:
            medians = [statistics.median(times[(size, name)]) for size in sizes]
            health = [statistics.median(times[(size, "/health")]) for size in sizes]
            ratios = " ".join(f"{m / h:.1f}" for m, h in zip(medians, health, strict=True))
            scale = " ".join(f"{m / medians[0]:.2f}" for m in medians)
            print(f"{name:<20}" + "".join(f"{m:>12.1f}ms" for m in medians) + f"   {ratios:<12} {scale}")
        print(f"(medians of {args.repeat}; each size ÷ {smallest:,})")


if __name__ == "__main__":
    main()
