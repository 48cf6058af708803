"""Do the pages cost the same at 1M (or 10M) stored predictions as at 10,000? Times each page at each size.

One PostgreSQL database of its own per size (futurisys_bench_scale_<pid>_<size>, all dropped at the end, even on
failure). Each is seeded through the real write paths (/predict with features and with raw records, the HR form
by two accounts: a big one and a small one), then grown in SQL by copying those rows (new created_at over the last
year, new public ids), its daily stats are counted and the job engine's hourly outcomes task is run (as a worker:
known outcomes, monthly summaries; timed). Every page is then timed through the Flask test client
(whole body read; the export to its first chunk) on each size in turn, --repeat times, so the machine's load falls
on all sizes alike; prints the medians, /health's in the same run and each size's ratio to the smallest; then the
admin delete; then this process's memory while it streams the admin export (up to --export-rows rows, in
process: flat memory means the rows are not held); then, on a real gunicorn (2 workers), /predict's p99 alone and
while an admin loads pages (--p99-rounds times, each ratio to its round's "alone"), and during a purge of the older
half of the rows run by the CLI in a process of its own (timed for --purge-seconds at most, then stopped; what it
deleted counted among the rows older than its cut-off, not net of what /predict added). Bounded: sizes above
--max-rows are not built.

    PYTHONPATH=. .venv/bin/python bench/scale.py [--sizes 10000,1000000] [--repeat 5] [--bundle DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import copy_predictions, recreate_database  # noqa: E402
from tests.payloads import FEATURES, RAW  # noqa: E402

PASSWORD = "bench-password-123"
SEED_API, SEED_RAW, SEED_FORM, SEED_SMALL = 300, 100, 60, 6


def seed(app) -> None:
    """Rows written by the app itself: /predict (features, raw) and the HR form (two accounts)."""
    from futurisys.auth.accounts import create_user
    from futurisys.domain.schema import RAW_NAMES
    from futurisys.ml.data import raw_records
    from futurisys.ml.features import derive_features

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
    from futurisys.storage.models import Input, Prediction

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
        copy_predictions(connection, copied_p)
        # The copies land in days already counted (the app itself only ever writes today): count them all again.
        connection.execute(sa.text("DELETE FROM stats_refreshes"))
        connection.execute(sa.text("DELETE FROM outcome_summaries"))
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
    from futurisys.storage.db_timeouts import maintenance
    from futurisys.storage.keyset import encode

    admin, rh, small = login(app, "admin"), login(app, "rh"), login(app, "petit")
    # The bench's own set-up queries (OFFSET into 10M rows) are not pages: no request time limit for them.
    with maintenance(3600), engine.begin() as connection:
        connection.execute(sa.text("SET LOCAL statement_timeout = 0"))
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
        ("Vue équipes (admin)", "/equipes", admin),
        ("Vue équipes (big account)", "/equipes", rh),
        ("Modèles (registry)", "/admin/modeles/", admin),
        ("Performance réelle", "/admin/performance", admin),
    ]


def app_now():
    from futurisys.storage.models import utcnow

    return utcnow()


def predict_ms(client, repeat: int) -> float:

    times = []
    for _ in range(repeat * 4):
        started = time.perf_counter()
        assert client.post("/predict", json=FEATURES).status_code == 200
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def delete_ms(app, engine, repeat: int) -> tuple[float, int]:
    """Median of `repeat` admin deletes (confirmation posted) of predictions a third of the way into the table."""
    from futurisys.storage.db_timeouts import maintenance

    admin = login(app, "admin")
    with maintenance(3600), engine.begin() as connection:
        connection.execute(sa.text("SET LOCAL statement_timeout = 0"))
        n = connection.scalar(sa.text("SELECT count(*) FROM predictions"))
        doomed = connection.scalars(
            sa.text("SELECT id FROM predictions ORDER BY id OFFSET :k LIMIT :repeat"), {"k": n // 3, "repeat": repeat}
        ).all()
    times, status = [], 0
    for prediction_id in doomed:
        started = time.perf_counter()
        status = admin.post(f"/admin/predictions/{prediction_id}/suppression", data={"confirm": "y"}).status_code
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), status


def rss_mib() -> float:
    """This process's resident memory now (MiB), from /proc (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def export_memory(app, max_rows: int) -> tuple[int, float, float, float]:
    """Stream the admin export (whole history, in-process) up to `max_rows` rows, sampling this process's memory
    every 50,000 rows: (rows read, seconds, MiB at the first chunk, highest MiB seen after it)."""
    import gc

    admin = login(app, "admin")
    gc.collect()
    started = time.perf_counter()
    response = admin.get("/admin/export.csv", buffered=False)
    chunks = iter(response.response)
    first = rss_mib()
    rows = -1  # the header line is not a row
    highest, next_sample = first, 50_000
    for chunk in chunks:
        rows += chunk.count(b"\r\n") if isinstance(chunk, bytes) else chunk.count("\r\n")
        if rows >= next_sample:
            highest, next_sample = max(highest, rss_mib()), next_sample + 50_000
        if rows >= max_rows:
            break
    response.close()
    return rows, time.perf_counter() - started, first, max(highest, rss_mib())


ADMIN_PAGES = ("/admin/", "/admin/?sort=proba_desc", "/admin/dashboard?window=all", "/admin/drift")
PURGE_DAYS = 182  # the purge timed takes the older half of the year the bench spreads its rows over
PREDICTS = 1500  # /predict calls per p99: a p99 over 15 slowest, a few seconds each


def connections_per_worker(base: str) -> list[int]:
    """How many client connections each gunicorn worker holds (ss): [1, 1] when /predict's and the admin's
    connections are served by different workers, [2] when by the same one."""
    import subprocess

    port = base.rsplit(":", 1)[1]
    listing = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"], capture_output=True, text=True, check=False
    ).stdout
    pids = re.findall(r"pid=(\d+)", listing)
    return sorted((pids.count(pid) for pid in set(pids)), reverse=True)


def browse_admin(base: str, pace_s: float, stop, loaded) -> None:
    """An admin's browser (a process of its own): signs in, loads ADMIN_PAGES in turn, pausing `pace_s` after
    each, until `stop`; puts the first page's status on `loaded`, then the others' when stopped."""
    import requests

    admin = requests.Session()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', admin.get(f"{base}/connexion", timeout=10).text)
    form = {"csrf_token": token.group(1), "username": "admin", "password": PASSWORD}
    assert admin.post(f"{base}/connexion", data=form, timeout=10, allow_redirects=False).status_code == 302
    statuses: list[int] = []
    while not stop.is_set():
        for page in ADMIN_PAGES:
            statuses.append(admin.get(f"{base}{page}", timeout=30, allow_redirects=False).status_code)
            if len(statuses) == 1:
                loaded.put(statuses[:])
            if stop.wait(pace_s):
                break
    loaded.put(statuses[1:])


def p99_ms(session, base: str, count: int, until=None) -> tuple[float, int]:
    """/predict's p99 (ms) over `count` calls, or fewer if `until()` turns true first; and the calls made."""
    times = []
    for _ in range(count):
        if until is not None and until():
            break
        started = time.perf_counter()
        assert session.post(f"{base}/predict", json=FEATURES, timeout=30).status_code == 200
        times.append((time.perf_counter() - started) * 1000)
    return (statistics.quantiles(times, n=100)[98] if len(times) >= 20 else float("nan")), len(times)


def p99_under_load(
    database_url: str, bundle: str, purge_seconds: float, p99_rounds: int
) -> dict[str, tuple[float, int]]:
    """/predict's p99 on a real gunicorn (2 workers) alone and while admin pages load (`p99_rounds` times), then
    during a purge of the older half of the table run by the CLI in a process of its own (as a job worker runs
    it), for at most `purge_seconds`; {label: (median p99 ms, requests)}, plus the inputs the purge deleted."""
    import multiprocessing
    import subprocess

    import requests

    from bench.common import gunicorn

    def old_inputs(cutoff: datetime) -> int:
        """The inputs older than the purge's cut-off (those /predict adds meanwhile are not counted)."""
        with sa.create_engine(database_url).connect() as connection:
            connection.execute(sa.text("SET statement_timeout = 0"))
            return connection.scalar(
                sa.select(sa.func.count()).select_from(sa.table("inputs")).where(sa.column("created_at") < cutoff)
            )

    results: dict[str, tuple[float, int]] = {}
    # Plain HTTP on 127.0.0.1: the session cookie may not be marked Secure, or the admin would never stay signed in.
    with gunicorn(database_url, bundle, workers=2, threads=4, SESSION_COOKIE_SECURE="0") as (base, _ready_s):
        api = requests.Session()
        p99_ms(api, base, 50)  # warm-up
        # Rounds of: alone, then beside the admin's browser (a process of its own, as it is another program on
        # another machine in real use) loading pages back to back (the worst case: a core kept busy by admin
        # pages) and at a person's pace; each ratio is to the "alone" of its round.
        rounds: dict[str, list[tuple[float, int]]] = {}
        for round_number in range(1, p99_rounds + 1):
            alone = p99_ms(api, base, PREDICTS)
            rounds.setdefault("/predict p99 alone", []).append(alone)
            for pace, label in ((0.0, "back to back"), (1.0, "one a second")):
                stop, loaded = multiprocessing.Event(), multiprocessing.Queue()
                browser = multiprocessing.Process(target=browse_admin, args=(base, pace, stop, loaded))
                browser.start()
                statuses = loaded.get(timeout=60)  # the first page is in: the admin is signed in and browsing
                workers = connections_per_worker(base)
                beside = p99_ms(api, base, PREDICTS)
                rounds.setdefault(f"/predict p99 during admin page loads, {label}", []).append(beside)
                stop.set()
                statuses += loaded.get(timeout=60)
                browser.join(timeout=60)
                print(
                    f"round {round_number}: /predict p99 alone {alone[0]:.1f} ms; admin pages {label} "
                    f"({len(statuses)} loaded, statuses {sorted(set(statuses))}, connections per gunicorn worker "
                    f"{workers}): {beside[0]:.1f} ms, × {beside[0] / alone[0]:.2f}"
                )
        for label, found in rounds.items():
            results[label] = (statistics.median(ms for ms, _ in found), sum(n for _, n in found))
        # Fixed before the purge starts (its own cut-off is a moment later, so it deletes all of these).
        cutoff = datetime.now(UTC) - timedelta(days=PURGE_DAYS)
        before = old_inputs(cutoff)
        env = {**os.environ, "DATABASE_URL": database_url, "MODEL_DIR": bundle, "LOG_LEVEL": "WARNING"}
        flask = str(Path(sys.executable).parent / "flask")
        purge = subprocess.Popen(
            [flask, "--app", "futurisys", "predictions", "purge", "--older-than", f"{PURGE_DAYS}d"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + purge_seconds
        results["/predict p99 during a purge"] = p99_ms(
            api, base, 1_000_000, lambda: purge.poll() is not None or time.monotonic() > deadline
        )
        finished = purge.poll() is not None
        purge.terminate()
        purge.wait()
        deleted = before - old_inputs(cutoff)
        results["purge: inputs deleted while timed"] = (float(deleted), deleted)
        print(
            f"the purge {'finished' if finished else 'was stopped'} after deleting {deleted:,} of {before:,} inputs "
            f"older than {PURGE_DAYS} days"
        )
    return results


def make_site(size: int, bundle: str):
    """A migrated, seeded app on a database of its own for one size: (app, engine, database name)."""
    from flask_migrate import upgrade

    from futurisys import create_app
    from futurisys.extensions import db

    database = f"futurisys_bench_scale_{os.getpid()}_{size}"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": recreate_database(database),
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": "bench",
            "MODEL_DIR": bundle,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        upgrade()
        engine = db.engine
    assert app.test_cli_runner().invoke(args=["data", "load"]).exit_code == 0
    seed(app)
    return app, engine, database


def drop_site(app, database: str) -> None:
    """Undo make_site: close the app's connections, then drop its database."""
    from futurisys.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()
    recreate_database(database, drop_only=True)


def job_engine_tasks(app) -> tuple[float, float, int]:
    """Run the job engine's hourly outcomes task as a worker does (its statement limit): count the known outcomes
    « Modèles » shows, then summarise the months « Performance réelle » reads; (count s, summaries s, months)."""
    from futurisys import create_app
    from futurisys.config import Config
    from futurisys.extensions import db
    from futurisys.outcomes.performance import refresh_summaries
    from futurisys.registry.datasets import refresh_known_counts

    worker = create_app(
        {**app.config, "SQLALCHEMY_ENGINE_OPTIONS": None, "DB_STATEMENT_TIMEOUT": Config.JOB_STATEMENT_TIMEOUT}
    )
    seconds, months = [], 0
    try:
        with worker.app_context():
            for task in (refresh_known_counts, refresh_summaries):
                started = time.perf_counter()
                try:
                    done = task()
                    months = done if task is refresh_summaries else months
                except Exception as error:  # noqa: BLE001 — reported, and the pages are timed all the same
                    print(f"{task.__name__} failed: {str(error).splitlines()[0]}")
                seconds.append(time.perf_counter() - started)
    finally:
        with worker.app_context():
            for engine in db.engines.values():
                engine.dispose()
    return seconds[0], seconds[1], int(months or 0)


def fill(size: int, app, engine) -> None:
    """Grow one site to `size` predictions, count its daily stats and print what it stores."""
    from futurisys.storage import stats
    from futurisys.storage.db_timeouts import maintenance

    with maintenance(3600):  # the app's client-side deadline is the request's 2 s otherwise
        seconds = grow(engine, size)
    started = time.perf_counter()
    with app.app_context():
        stats.refresh(engine, 600)
    refresh_s = time.perf_counter() - started
    count_s, summaries_s, months = job_engine_tasks(app)
    with engine.connect() as connection:
        disk = connection.scalar(
            sa.text("SELECT pg_total_relation_size('inputs') + pg_total_relation_size('predictions')")
        )
        raw_bytes = connection.scalar(
            sa.text("SELECT avg(pg_column_size(raw_record)) FROM inputs WHERE raw_record IS NOT NULL")
        )
        full_bytes = connection.scalar(sa.text("SELECT pg_column_size(CAST(:doc AS json))"), {"doc": json.dumps(RAW)})
    print(
        f"{size:,} predictions: filled in {seconds:.1f} s, daily stats in {refresh_s:.1f} s; job engine: known "
        f"outcomes counted in {count_s:.1f} s, {months} monthly outcome summaries in {summaries_s:.1f} s; "
        f"inputs + predictions {disk / 2**20:,.0f} MiB ({disk / 2**20 / size * 1e6:,.0f} MiB per 1M); raw_record "
        f"{float(raw_bytes or 0):.0f} bytes per raw record (all 27 fields: {full_bytes}); load {os.getloadavg()[0]:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--bundle", help="model bundle folder (default: train one in a temporary folder)")
    parser.add_argument("--max-rows", type=int, default=10_000_000)
    parser.add_argument("--purge-seconds", type=float, default=60, help="how long /predict is timed during the purge")
    parser.add_argument("--export-rows", type=int, default=2_000_000, help="rows of the export read at most")
    parser.add_argument("--p99-rounds", type=int, default=3, help="rounds of /predict's p99 alone and beside admin")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if int(s) <= args.max_rows]
    work = tempfile.TemporaryDirectory(prefix="futurisys-bench-scale-")
    bundle = args.bundle
    if not bundle:
        from futurisys.ml.train import train_bundle

        bundle = str(Path(work.name) / "model")
        train_bundle(bundle)

    sites: dict[int, tuple] = {}
    try:
        for size in sizes:
            sites[size] = make_site(size, bundle)
        api = {size: app.test_client() for size, (app, _, _) in sites.items()}
        first = sizes[0]
        print(
            f"/predict on a seeded database: {predict_ms(api[first], args.repeat):.1f} ms, "
            f"/health {median_ms(api[first], '/health', args.repeat * 4)[0]:.2f} ms"
        )
        for size, (app, engine, _) in sites.items():
            fill(size, app, engine)
        # Each page is timed on every size in turn, repeat after repeat: a change of the machine's load (shared
        # with other work) falls on all sizes alike instead of on whichever size ran at that moment.
        plans = {size: pages(app, engine) for size, (app, engine, _) in sites.items()}
        results: dict[int, dict[str, tuple[float, int]]] = {size: {} for size in sizes}
        for k, (label, page, _) in enumerate(plans[first]):
            times: dict[int, list[float]] = {size: [] for size in sizes}
            for _ in range(args.repeat):
                for size in sizes:
                    ms, status = median_ms(plans[size][k][2], plans[size][k][1], 1, first_byte=page.endswith(".csv"))
                    times[size].append(ms)
                    results[size][label] = (0.0, status)
            for size in sizes:
                results[size][label] = (statistics.median(times[size]), results[size][label][1])
        for size in sizes:
            results[size]["/predict"] = (predict_ms(api[size], args.repeat), 200)
        for size, (app, engine, _) in sites.items():
            results[size]["admin delete of one prediction"] = delete_ms(app, engine, args.repeat)
        for size, (app, _engine, _) in sites.items():
            rows, seconds, first_mib, highest_mib = export_memory(app, args.export_rows)
            print(
                f"{size:,}: export of {rows:,} rows in {seconds:.1f} s ({rows / seconds:,.0f} rows/s): memory "
                f"{first_mib:,.0f} MiB at the first chunk, {highest_mib:,.0f} MiB at most after it "
                f"(+{highest_mib - first_mib:,.1f})"
            )
        for size, (_app, engine, _) in sites.items():
            url = engine.url.render_as_string(hide_password=False)
            loads = p99_under_load(url, bundle, args.purge_seconds, args.p99_rounds)
            for label, (ms, count) in loads.items():
                results[size][label] = (ms, 200)
                print(f"{size:,}: {label}: {ms:,.1f}" + (f" ms over {count} requests" if "p99" in label else ""))
        header = "".join(f"{format(size, ','):>12}" for size in sizes)
        ratios = "".join(f"{'÷ ' + format(first, ','):>12}" for size in sizes[1:])
        print(f"\n{'page (median ms; ratio to /health in brackets)':<50}{header}{ratios}")
        for label in results[first]:
            cells = ""
            for size in sizes:
                ms, status = results[size][label]
                mark = "" if status in (200, 302) else f" [{status}]"
                cells += f"{ms:8.1f}{mark}".rjust(12)
            cells += "".join(
                f"{results[size][label][0] / results[first][label][0]:12.2f}" if results[first][label][0] else "nan"
                for size in sizes[1:]
            )
            print(f"{label:<50}{cells}")
        health = [results[size]["/health"][0] for size in sizes]
        predict = [results[size]["/predict"][0] for size in sizes]
        print(
            "/predict ÷ /health (time ratio): "
            + ", ".join(f"{p / h:.1f}" for p, h in zip(predict, health, strict=True))
        )
        print(f"\nload average at the end: {os.getloadavg()}")
    finally:
        for app, _engine, database in sites.values():
            drop_site(app, database)
        work.cleanup()


if __name__ == "__main__":
    main()
