"""GET /metrics: Prometheus counters for requests, predictions, the model and database errors."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from tests.payloads import FEATURES, RAW
from tests.support import make_app

ROOT = Path(__file__).resolve().parent.parent


def samples(client) -> dict:
    """{(sample name, sorted label items): value} of a scrape."""
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for s in family.samples
    }


def delta(before: dict, after: dict, name: str, **labels) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


def test_predictions_and_requests_are_counted_with_their_labels(app, client):
    before = samples(client)
    first = client.post("/predict?details=true", json=FEATURES).get_json()
    client.post("/predict", json=RAW)
    client.post("/predict", json={**FEATURES, "age": 7})
    after = samples(client)
    version, label = first["model_version"], first["Prediction"]
    assert delta(before, after, "futurisys_predictions_total", label=label, model_version=version) == 2
    assert delta(before, after, "futurisys_http_requests_total", endpoint="/predict", method="POST", status="200") == 2
    assert delta(before, after, "futurisys_http_requests_total", endpoint="/predict", method="POST", status="422") == 1
    assert delta(before, after, "futurisys_http_request_duration_seconds_count", endpoint="/predict", status="200") == 2
    assert (
        delta(
            before,
            after,
            "futurisys_http_request_duration_seconds_bucket",
            endpoint="/predict",
            status="200",
            le="+Inf",
        )
        == 2
    )
    assert after[("futurisys_model_loaded", ())] == 1
    assert after[("futurisys_model_info", (("source", "local"), ("version", version)))] == 1
    # Scrapes are not counted, and unknown paths are not labelled with the path itself.
    assert not any(name.startswith("futurisys_http") and ("endpoint", "/metrics") in labels for name, labels in after)


def test_batch_predictions_are_counted_by_label(client):
    before = samples(client)
    answers = client.post("/predict/batch", json=[FEATURES, RAW, FEATURES]).get_json()
    after = samples(client)
    version = client.get("/model").get_json()["version"]
    assert (
        delta(before, after, "futurisys_predictions_total", label=answers[0]["Prediction"], model_version=version) == 3
    )


def test_unknown_paths_and_methods_share_one_label(client):
    before = samples(client)
    assert client.get("/nulle-part/123").status_code == 404
    assert client.open("/health", method="BREW").status_code == 405
    after = samples(client)
    assert (
        delta(before, after, "futurisys_http_requests_total", endpoint="<unmatched>", method="GET", status="404") == 1
    )
    assert (
        delta(before, after, "futurisys_http_requests_total", endpoint="<unmatched>", method="other", status="405") == 1
    )


def test_database_errors_are_counted(app, client):
    from futurisys.extensions import db

    def lose_connection(conn, cursor, statement, parameters, context, executemany):
        if "INSERT INTO inputs" in statement:
            raise OperationalError(statement, parameters, Exception("connection lost"))

    before = samples(client)
    with app.app_context():
        engines = list(db.engines.values())  # PostgreSQL writes single predictions through an engine of its own
        for engine in engines:
            event.listen(engine, "before_cursor_execute", lose_connection)
        try:
            assert client.post("/predict", json=FEATURES).status_code == 503
        finally:
            for engine in engines:
                event.remove(engine, "before_cursor_execute", lose_connection)
    assert delta(before, samples(client), "futurisys_db_errors_total", error="OperationalError") == 1


def test_missing_model_is_reported(database_url, tmp_path):
    client = make_app(database_url, tmp_path / "nowhere").test_client()
    assert samples(client)[("futurisys_model_loaded", ())] == 0


def test_multiprocess_mode_aggregates_the_workers(tmp_path, bundle_dir):
    """Two processes write to PROMETHEUS_MULTIPROC_DIR; a third one's /metrics adds their predictions up."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    worker = textwrap.dedent(f"""
        import sys
        from futurisys import create_app
        app = create_app({{"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite:///{tmp_path}/db.sqlite",
                          "MODEL_DIR": "{bundle_dir}", "SECRET_KEY": "x"}})
        if sys.argv[1] == "predict":
            from futurisys.metrics import count_predictions
            count_predictions(["Part", "Reste", "Reste"], "v-test")
            app.test_client().get("/health")
        else:
            sys.stdout.write(app.test_client().get("/metrics").get_data(as_text=True))
    """)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    for _ in range(2):
        subprocess.run([sys.executable, "-c", worker, "predict"], env=env, check=True, cwd=ROOT)
    scrape = subprocess.run(
        [sys.executable, "-c", worker, "scrape"], env=env, check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    values = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(scrape)
        for s in family.samples
    }
    assert values[("futurisys_predictions_total", (("label", "Reste"), ("model_version", "v-test")))] == 4
    assert values[("futurisys_predictions_total", (("label", "Part"), ("model_version", "v-test")))] == 2
    assert (
        values[("futurisys_http_requests_total", (("endpoint", "/health"), ("method", "GET"), ("status", "200")))] == 2
    )
