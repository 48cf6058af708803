"""« Que faire ? »: exact proposals per second, and what they cost the evaluation page (÷ the page without them).

1. `recommend()` (futurisys/ml/recourse.py) on --records reference employees with the default lever catalogue:
   proposals per second (three single changes and the cheapest combination, each), min–max over --runs.
2. The evaluation page of one stored evaluation, through the Flask test client on an embedded SQLite database of
   this run (a temporary folder), --repeat times with « Que faire ? » and as many without it (the template helper
   answering nothing), alternated so that the machine's load falls on both alike; with GET /health in the same run.
Bounded: a fixed number of calls; nothing leaves the process.

    PYTHONPATH=. .venv/bin/python bench/recourse.py [--bundle DIR] [--records 200] [--runs 3] [--repeat 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import model_bundle

PASSWORD = "bench-password-123"


def proposals_per_second(bundle: str, records: int, runs: int) -> list[float]:
    from futurisys.domain.schema import RAW_NAMES
    from futurisys.ml.data import raw_records
    from futurisys.ml.features import derive_features
    from futurisys.ml.predictor import Predictor
    from futurisys.ml.recourse import default_rules, recommend

    predictor = Predictor.load(bundle)
    rows = [{name: r[name] for name in RAW_NAMES} for r in raw_records()[:records]]
    prepared = [(derive_features(raw), raw) for raw in rows]
    rules = default_rules()
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        for features, raw in prepared:
            recommend(predictor, features, raw, rules)
        rates.append(len(prepared) / (time.perf_counter() - started))
    return rates


def page_costs(bundle: str, repeat: int) -> tuple[float, float, float]:
    """Median ms of the evaluation page with « Que faire ? », without it, and of /health."""
    from flask_migrate import upgrade

    from futurisys import create_app
    from futurisys.auth.accounts import create_user
    from tests.payloads import RAW
    from tests.support import form_data

    work = tempfile.TemporaryDirectory(prefix="futurisys-bench-recourse-")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(work.name) / 'bench.db'}",
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "SECRET_KEY": "bench",
            "MODEL_DIR": bundle,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        upgrade()
        create_user("rh", PASSWORD, "hr")
    client = app.test_client()
    assert client.post("/connexion", data={"username": "rh", "password": PASSWORD}).status_code == 302
    page = client.post("/", data=form_data(RAW)).headers["Location"]
    with_it = app.jinja_env.globals["recourse_for"]
    times = {"avec": [], "sans": [], "health": []}
    for _ in range(repeat):
        for label, helper in (("avec", with_it), ("sans", lambda _evaluation: None)):
            app.jinja_env.globals["recourse_for"] = helper
            started = time.perf_counter()
            response = client.get(page)
            response.get_data()
            times[label].append((time.perf_counter() - started) * 1000)
            shown = 'id="titre-que-faire"' in response.get_data(as_text=True)
            assert response.status_code == 200 and shown == (label == "avec")
        started = time.perf_counter()
        client.get("/health").get_data()
        times["health"].append((time.perf_counter() - started) * 1000)
    work.cleanup()
    return statistics.median(times["avec"]), statistics.median(times["sans"]), statistics.median(times["health"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle")
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    work = tempfile.TemporaryDirectory(prefix="futurisys-bench-recourse-model-")
    bundle = model_bundle(args.bundle, Path(work.name))
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    rates = proposals_per_second(bundle, args.records, args.runs)
    print(
        f"recommend() on {args.records} reference employees: {min(rates):,.0f}–{max(rates):,.0f} employees/s "
        f"({1000 / max(rates):.1f}–{1000 / min(rates):.1f} ms each), {args.runs} runs"
    )
    with_it, without, health = page_costs(bundle, args.repeat)
    print(
        f"evaluation page, median of {args.repeat}: with « Que faire ? » {with_it:.1f} ms, without {without:.1f} ms "
        f"(÷ {with_it / without:.2f}); /health {health:.2f} ms (page with it ÷ /health {with_it / health:,.0f}); "
        f"load {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
