"""POST /predict/batch: order, both shapes, all-or-nothing, limits, the rows behind it; and the fast validation
path held to the WTForms forms."""

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from futurisys.domain import schema
from futurisys.domain.records import validate_payload
from futurisys.extensions import model_store
from futurisys.ml.features import derive_features
from futurisys.storage.models import Input, Prediction
from futurisys.storage.predictions import predict_and_store_many
from futurisys.web.forms import RawRecordForm, record_form_class
from tests.payloads import FEATURES, RAW, employee
from tests.support import counts, make_app

#: The 30-feature payload as a WTForms form: the reference the JSON path must agree with.
FeatureRecordForm = record_form_class("FeatureRecordForm", schema.FEATURES, schema.feature_consistency_errors)


class JsonData(dict):
    """A JSON object presented as WTForms form data, values kept with their JSON types."""

    def getlist(self, key):
        """WTForms asks every field for a list of posted values."""
        return [self[key]] if key in self else []


def mixed_records():
    """Six different employees: raw records, feature payloads, and a raw record in the HR export's spelling."""
    export = employee(4)
    export = {
        **export,
        "heure_supplementaires": "Oui" if export["heure_supplementaires"] else "Non",
        "augementation_salaire_precedente": f"{export['augementation_salaire_precedente']} %",
    }
    return [RAW, derive_features(employee(2)), employee(5), export, derive_features(employee(7)), employee(8)]


def test_answers_in_order_equal_to_single_predictions(client, db):
    records = mixed_records()
    response = client.post("/predict/batch", json=records)
    assert response.status_code == 200
    answers = response.get_json()
    assert [list(answer) for answer in answers] == [["Prediction", "Probabilite_depart"]] * len(records)
    assert len({answer["Probabilite_depart"] for answer in answers}) == len(records)  # order is observable
    assert answers == [client.post("/predict", json=record).get_json() for record in records]


def test_every_record_stored_once_with_source_batch(app, client, db):
    records = mixed_records()
    response = client.post("/predict/batch", json=records, headers={"X-Request-ID": "lot-7"})
    answers = response.get_json()
    rows = db.session.execute(sa.select(Input, Prediction).join(Prediction).order_by(Input.id)).all()
    assert len(rows) == len(records) and counts(app) == (len(records), len(records))
    for record, answer, (row, prediction) in zip(records, answers, rows, strict=False):
        assert row.source == "batch" and row.request_id == "lot-7"
        assert row.age == record["age"]
        assert row.raw_record == (None if "ecart_note_evaluation" in record else validate_payload(record)[1])
        assert prediction.prediction_label == answer["Prediction"]
        assert prediction.prediction_proba == pytest.approx(answer["Probabilite_depart"])
        assert prediction.api_key_name is None and prediction.latency_ms > 0
    assert len({row.created_at for row, _ in rows}) == 1  # the batch is stamped once


def test_one_invalid_record_rejects_the_batch_with_errors_by_index(app, client):
    records = [
        FEATURES,
        {**FEATURES, "age": 7},
        "not an object",
        {**RAW, "annees_dans_le_poste_actuel": RAW["annees_dans_l_entreprise"] + 1},
        RAW,
    ]
    response = client.post("/predict/batch", json=records)
    assert response.status_code == 422
    body = response.get_json()
    assert "3 enregistrement(s) invalide(s) sur 5" in body["error"]
    assert set(body["errors"]) == {"1", "2", "3"}
    assert body["errors"]["1"] == {"age": ["Doit être compris entre 16 et 75."]}
    assert body["errors"]["2"] == {"_record": ["Un objet JSON est attendu."]}
    assert "dépasser les années dans l'entreprise" in body["errors"]["3"]["annees_dans_le_poste_actuel"][0]
    assert counts(app) == (0, 0)


def test_more_records_than_the_maximum_get_413(app, database_url, bundle_dir):
    client = make_app(database_url, bundle_dir, BATCH_MAX_RECORDS=3).test_client()
    response = client.post("/predict/batch", json=[FEATURES, FEATURES, {"invalid": True}, FEATURES])
    assert response.status_code == 413
    assert "4 reçus, 3 au plus" in response.get_json()["error"]
    assert counts(app) == (0, 0)
    assert client.post("/predict/batch", json=[FEATURES] * 3).status_code == 200
    assert counts(app) == (3, 3)


@pytest.mark.parametrize(
    "kwargs, status, message",
    [
        ({"json": []}, 422, "Le tableau est vide"),
        ({"json": FEATURES}, 422, "Un tableau JSON"),
        ({"data": "[{", "content_type": "application/json"}, 400, "JSON mal formé"),
        ({"data": "[]", "content_type": "text/csv"}, 415, "application/json"),
    ],
)
def test_malformed_batches_get_4xx_json(app, client, kwargs, status, message):
    response = client.post("/predict/batch", **kwargs)
    assert response.status_code == status
    assert message in response.get_json()["error"]
    assert counts(app) == (0, 0)


def test_a_failure_writing_predictions_leaves_no_input_row(app, db):
    """Inputs and predictions go in one transaction: a database refusal on the second table undoes the first."""
    if db.engine.dialect.name == "postgresql":
        setup = [
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
            "CREATE TRIGGER refuse BEFORE INSERT ON predictions FOR EACH ROW "
            "WHEN (NEW.api_key_name = 'refuse') EXECUTE FUNCTION refuse()",
        ]
        teardown = ["DROP TRIGGER refuse ON predictions", "DROP FUNCTION refuse()"]
    else:
        setup = [
            "CREATE TRIGGER refuse BEFORE INSERT ON predictions WHEN NEW.api_key_name = 'refuse' "
            "BEGIN SELECT RAISE(ABORT, 'refused'); END"
        ]
        teardown = ["DROP TRIGGER refuse"]
    with db.engine.begin() as connection:
        for statement in setup:
            connection.execute(sa.text(statement))
    try:
        items = [(FEATURES, None), (derive_features(RAW), RAW)]
        with pytest.raises(SQLAlchemyError, match="refused"):
            predict_and_store_many(
                model_store.predictor, items, source="batch", request_id="r", started=0.0, api_key_name="refuse"
            )
        assert counts(app) == (0, 0)
        predict_and_store_many(
            model_store.predictor, items, source="batch", request_id="r", started=0.0, api_key_name="ok"
        )
        assert counts(app) == (2, 2)
    finally:
        db.session.rollback()  # the session's read lock on predictions would block DROP TRIGGER
        with db.engine.begin() as connection:
            for statement in teardown:
                connection.execute(sa.text(statement))


def test_text_with_copy_special_characters_round_trips(db):
    """Tabs, newlines and backslashes survive the bulk write (PostgreSQL COPY escaping)."""
    raw = {**RAW, "augementation_salaire_precedente": 11}
    predict_and_store_many(
        model_store.predictor,
        [(FEATURES, raw)],
        source="batch",
        request_id="a\tb\\c\nd",
        started=0.0,
        api_key_name="é\\t",
    )
    row, prediction = db.session.execute(sa.select(Input, Prediction).join(Prediction)).one()
    assert row.request_id == "a\tb\\c\nd" and prediction.api_key_name == "é\\t"
    assert row.raw_record == raw and row.heure_supplementaires is FEATURES["heure_supplementaires"]


# --- The fast validation path (validate_payload / clean_record) gives exactly what the forms give. ---

BAD_VALUES = (None, "", "abc", "  ", -1000, 10**9, True, 1.5, "3,5", "Oui", "non", "11 %", "  7 ", [1], {"a": 1}, 0)


def mutations():
    """Every field of both shapes set to each awkward value, plus the cross-field cases."""
    for base in (RAW, FEATURES):
        for name in base:
            for value in BAD_VALUES:
                yield {**base, name: value}
            yield {k: v for k, v in base.items() if k != name}
    yield {**RAW, "annees_dans_l_entreprise": RAW["annee_experience_totale"] + 1}
    yield {**RAW, "age": 20, "annee_experience_totale": 10}
    yield {**FEATURES, "evolution_cat_evol": "hausse", "annees_depuis_la_derniere_promotion": 99}


def test_fast_validation_matches_the_forms(bundle_dir):
    app = make_app("sqlite://", bundle_dir)
    with app.test_request_context():
        checked = 0
        for payload in mutations():
            raw = any(key in payload for key in schema.RAW_ONLY_NAMES)
            form = (RawRecordForm if raw else FeatureRecordForm)(formdata=JsonData(payload), meta={"csrf": False})
            valid = form.validate()
            form_errors = {name: list(messages) for name, messages in form.errors.items() if messages}
            features, raw_record, errors = validate_payload(payload)
            assert errors == form_errors, payload
            assert list(errors) == list(form_errors)
            if valid:  # a feature record is given all 30 keys, an absent optional one as None
                record = form.record if raw else {name: form.record.get(name) for name in schema.FEATURE_NAMES}
                assert (raw_record if raw else features) == record
            checked += 1
    assert checked > 900
