"""POST /predict: both payload shapes, every error class, and the rows behind every answer."""

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from futurisys.config import SCORING_BIND
from futurisys.storage.models import Input, Prediction
from tests.payloads import FEATURES, RAW
from tests.support import counts, make_app


def test_original_payload_gets_the_original_answer(app, client, db):
    response = client.post("/predict", json=FEATURES)
    assert response.status_code == 200
    body = response.get_json()
    assert list(body) == ["Prediction", "Probabilite_depart"]
    assert body["Prediction"] in {"Reste", "Part"}
    assert 0.0 <= body["Probabilite_depart"] <= 1.0
    assert counts(app) == (1, 1)
    # No raw record was sent: the column is SQL NULL, not a JSON null.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Input).where(Input.raw_record.is_(None))) == 1


def test_raw_record_and_features_give_the_same_probability(client):
    by_features = client.post("/predict", json=FEATURES).get_json()
    by_raw = client.post("/predict", json=RAW).get_json()
    assert by_raw == by_features


def test_rows_written_for_a_raw_record(client, db):
    response = client.post("/predict?details=true", json=RAW, headers={"X-Request-ID": "req-42"})
    details = response.get_json()
    assert response.headers["X-Request-ID"] == "req-42"
    row = db.session.get(Input, details["input_id"])
    assert row.raw_record == RAW and row.source == "api" and row.request_id == "req-42"
    assert row.revenu_par_annee_experience_totale == FEATURES["revenu_par_annee_experience_totale"]
    prediction = db.session.get(Prediction, details["prediction_id"])
    assert prediction.input_id == row.id
    assert prediction.prediction_label == details["Prediction"]
    assert prediction.prediction_proba == pytest.approx(details["Probabilite_depart"])
    assert prediction.model_version == details["model_version"] and prediction.threshold == details["threshold"]
    assert prediction.latency_ms > 0
    assert len(details["drivers"]) == 5 and details["shape"] == "raw"


def test_hr_export_forms_are_accepted(client):
    export = {
        **RAW,
        "heure_supplementaires": "Oui" if RAW["heure_supplementaires"] else "Non",
        "augementation_salaire_precedente": f"{RAW['augementation_salaire_precedente']} %",
        "revenu_mensuel": str(RAW["revenu_mensuel"]),
    }
    assert client.post("/predict", json=export).get_json() == client.post("/predict", json=RAW).get_json()


def test_protected_attributes_are_optional_and_never_change_the_score(app, client):
    """Sex, marital status and age: accepted (original clients send them), never required, never in the score."""
    protected = ("genre", "statut_marital", "age")
    full = client.post("/predict", json=FEATURES).get_json()
    for record in (FEATURES, RAW):
        without = client.post("/predict", json={k: v for k, v in record.items() if k not in protected})
        assert without.status_code == 200, without.get_json()
        assert without.get_json() == client.post("/predict", json=record).get_json()
    assert client.post("/predict", json={**FEATURES, "genre": "M", "age": 60}).get_json() == full


@pytest.mark.parametrize(
    "payload, field, message",
    [
        ({k: v for k, v in FEATURES.items() if k != "revenu_mensuel"}, "revenu_mensuel", "Champ obligatoire."),
        ({**FEATURES, "age": "quarante"}, "age", "Doit être un nombre entier."),
        ({**FEATURES, "age": 41.5}, "age", "Doit être un nombre entier."),
        ({**FEATURES, "heure_supplementaires": "peut-être"}, "heure_supplementaires", "Doit être « Oui » ou « Non »."),
        ({**FEATURES, "age": 7}, "age", "Doit être compris entre 16 et 75."),
        (
            {**FEATURES, "satisfaction_employee_equipe": 5},
            "satisfaction_employee_equipe",
            "Valeurs permises : 1, 2, 3, 4",
        ),
        (
            {**FEATURES, "frequence_deplacement": "Ocasionnel"},
            "frequence_deplacement",
            "Valeur inconnue « Ocasionnel ». Valeurs permises : Aucun, Occasionnel, Fréquent (Frequent).",
        ),
        ({**FEATURES, "revenu_mensuel": None}, "revenu_mensuel", "Champ obligatoire."),
        (
            {**RAW, "annees_dans_le_poste_actuel": RAW["annees_dans_l_entreprise"] + 1},
            "annees_dans_le_poste_actuel",
            "ne peuvent pas dépasser les années dans l'entreprise",
        ),
        (
            {**RAW, "annees_dans_l_entreprise": RAW["annee_experience_totale"] + 1},
            "annees_dans_l_entreprise",
            "ne peuvent pas dépasser l'expérience totale",
        ),
        ({**FEATURES, "evolution_cat_evol": "hausse"}, "evolution_cat_evol", "attendu « stable »"),
        (
            {k: v for k, v in RAW.items() if k != "note_evaluation_precedente"},
            "note_evaluation_precedente",
            "Champ obligatoire.",
        ),
    ],
)
def test_invalid_records_get_422_with_field_messages(app, client, payload, field, message):
    response = client.post("/predict", json=payload)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert field in errors
    assert any(message in m for m in errors[field])
    assert counts(app) == (0, 0)


def test_optional_raw_fields_may_be_left_out(app, client):
    optional = ("niveau_hierarchique_poste", "augementation_salaire_precedente", "annes_sous_responsable_actuel")
    response = client.post("/predict", json={k: v for k, v in RAW.items() if k not in optional})
    assert response.status_code == 200
    assert counts(app) == (1, 1)


@pytest.mark.parametrize(
    "kwargs, status",
    [
        ({"data": "{not json", "content_type": "application/json"}, 400),
        ({"data": "age=41", "content_type": "application/x-www-form-urlencoded"}, 415),
        ({"data": "{}", "content_type": "text/plain"}, 415),
        ({"json": [1, 2]}, 422),
        ({"json": "a string"}, 422),
    ],
)
def test_malformed_requests_get_4xx_json(app, client, kwargs, status):
    response = client.post("/predict", **kwargs)
    assert response.status_code == status
    assert response.is_json and response.get_json()["error"]
    assert counts(app) == (0, 0)


def test_oversized_body_gets_413(database_url, bundle_dir):
    app = make_app(database_url, bundle_dir, MAX_CONTENT_LENGTH=1024)
    response = app.test_client().post("/predict", json={**FEATURES, "padding": "x" * 2000})
    assert response.status_code == 413
    assert response.get_json()["error"]


def test_missing_model_gives_503_and_ready_says_why(database_url, tmp_path):
    app = make_app(database_url, tmp_path / "nowhere")
    client = app.test_client()
    response = client.post("/predict", json=FEATURES)
    assert response.status_code == 503
    assert "Modèle indisponible" in response.get_json()["error"]
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert any("model not loaded" in reason for reason in ready.get_json()["reasons"])
    assert client.get("/model").status_code == 503
    assert client.get("/health").status_code == 200


def test_database_failure_mid_request_gives_503_and_no_partial_rows(app, client, db):
    def fail_on_prediction_insert(conn, cursor, statement, parameters, context, executemany):
        if "INSERT INTO predictions" in statement:  # PostgreSQL writes both rows in one statement
            raise OperationalError(statement, parameters, Exception("connection lost"))

    engines = list(db.engines.values())
    for engine in engines:
        event.listen(engine, "before_cursor_execute", fail_on_prediction_insert)
    try:
        response = client.post("/predict", json=FEATURES)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", fail_on_prediction_insert)
    assert response.status_code == 503
    # PostgreSQL's single-statement write fails while being sent: the service cannot tell it did not land.
    expected = "Issue inconnue" if db.engine.dialect.name == "postgresql" else "Base de données indisponible"
    assert expected in response.get_json()["error"]
    assert counts(app) == (0, 0)
    assert client.post("/predict", json=FEATURES).status_code == 200
    assert counts(app) == (1, 1)


def test_unreachable_database_gives_503(bundle_dir):
    app = make_app("postgresql+psycopg2://nobody@127.0.0.1:1/none", bundle_dir)
    client = app.test_client()
    assert client.post("/predict", json=FEATURES).status_code == 503
    ready = client.get("/ready")
    assert ready.status_code == 503
    assert any("database unreachable" in reason for reason in ready.get_json()["reasons"])


def test_operations_endpoints(client):
    assert client.get("/health").get_json() == {"status": "ok"}
    ready = client.get("/ready").get_json()
    assert ready["status"] == "ready"
    model = client.get("/model").get_json()
    assert model["version"] == ready["model_version"]
    assert len(model["features"]) == 30 and model["metrics"]["cv_roc_auc_mean"] >= 0.845


def test_connections_dropped_by_the_database_cost_one_503_then_recover(app, client, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("server-side connection termination is a PostgreSQL scenario")
    assert client.post("/predict", json=FEATURES).status_code == 200  # the pool now holds a connection
    with db.engines[SCORING_BIND].connect() as connection:  # the pool /predict writes through
        pool_pid = connection.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    admin = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
    with admin.connect() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pool_pid})
        connection.commit()
    admin.dispose()
    # The pool's only connection is dead: that request fails cleanly, the next one reconnects.
    first = client.post("/predict", json=FEATURES)
    assert first.status_code == 503
    # The write was handed to a dead connection: the service cannot tell, and says so with a key to retry with.
    assert "Issue inconnue" in first.get_json()["error"] and first.get_json()["idempotency_key"]
    assert client.post("/predict", json=FEATURES).status_code == 200
    assert counts(app) == (2, 2)
