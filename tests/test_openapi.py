"""GET /openapi.json: a valid OpenAPI 3.1 document derived from futurisys.domain.schema, covering every API route."""

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from futurisys.api.openapi import GENERIC_PREDICTION, build_document
from futurisys.api.openapi_schemas import BOOLEAN_PATTERN, INTEGER_PATTERN, PERCENT_PATTERN, RULES_EXTENSION, enum_name
from futurisys.domain import schema
from futurisys.domain.examples import EXAMPLE_RAW
from futurisys.domain.records import is_raw_record, parse_value, validate_payload
from futurisys.extensions import model_store
from futurisys.ml.features import derive_features
from tests.payloads import RAW
from tests.support import make_app


@pytest.fixture
def spec(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200 and response.is_json
    return response.get_json()


def test_document_is_valid_openapi_3_1(spec):
    assert spec["openapi"].startswith("3.1.")
    validate(spec, cls=OpenAPIV31SpecValidator)


def test_every_api_route_is_documented(app, spec):
    rules = {
        (rule.rule.replace("<", "{").replace(">", "}"), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") or rule.endpoint == "metrics"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert rules <= documented
    assert {"/predict", "/predict/batch", "/health", "/ready", "/model", "/metrics"} <= {path for path, _ in rules}


def test_feature_schema_is_the_schema_module(spec):
    features = spec["components"]["schemas"]["EmployeeFeatures"]
    assert list(features["properties"]) == list(schema.FEATURE_NAMES)
    assert features["required"] == list(schema.FEATURE_NAMES)
    for field in schema.FEATURES:
        prop = features["properties"][field.name]
        assert prop["title"] == field.label
        assert prop.get("description", "") == field.help
        if field.kind != "bool" and field.choices:
            assert prop["$ref"] == f"#/components/schemas/{enum_name(field)}"
            assert spec["components"]["schemas"][enum_name(field)] == {
                **spec["components"]["schemas"][enum_name(field)],
                "type": field.json_type,
                "enum": list(field.values),
            }
        else:
            assert prop["type"] == field.json_type
        if field.minimum is not None and field.kind != "category" and not field.choices:
            assert (prop["minimum"], prop["maximum"]) == (field.minimum, field.maximum)


def test_raw_schema_documents_the_hr_export_forms(spec):
    raw = spec["components"]["schemas"]["RawHrRecord"]
    assert list(raw["properties"]) == list(schema.RAW_NAMES)
    assert raw["required"] == [f.name for f in schema.RAW_FIELDS if f.required]
    overtime = raw["properties"]["heure_supplementaires"]["anyOf"]
    assert {"type": "string", "pattern": BOOLEAN_PATTERN} in overtime
    for field in schema.RAW_FIELDS:
        if field.kind == "int":
            pattern = PERCENT_PATTERN if field.accepts_percent else INTEGER_PATTERN
            assert {"type": "string", "pattern": pattern} in raw["properties"][field.name]["anyOf"], field.name
    raise_forms = raw["properties"]["augementation_salaire_precedente"]["anyOf"]
    assert {"type": "string", "pattern": PERCENT_PATTERN} in raise_forms and {"type": "null"} in raise_forms
    assert raw["properties"]["poste"]["$ref"] == "#/components/schemas/Poste"
    assert spec["components"]["schemas"]["Poste"]["enum"] == list(schema.raw_field("poste").values)


@pytest.mark.parametrize(
    "pattern, field, accepted, rejected",
    [
        (
            BOOLEAN_PATTERN,
            "heure_supplementaires",
            ["Oui", "non", " OUI ", "true", "Faux", "1"],
            ["peut-être", "o", ""],
        ),
        (INTEGER_PATTERN, "age", ["41", " 41 ", "+41"], ["41 %", "41.5", "quarante", ""]),
        (PERCENT_PATTERN, "augementation_salaire_precedente", ["11 %", "11%", "11"], ["11 %%", "onze", "%"]),
    ],
)
def test_string_patterns_agree_with_parse_value(pattern, field, accepted, rejected):
    import re

    spec_field = schema.raw_field(field)
    for text in accepted:
        assert re.search(pattern, text), text
        parse_value(spec_field, text)
    for text in rejected:
        assert not re.search(pattern, text), text
        with pytest.raises(ValueError):
            parse_value(spec_field, text)


def test_discrimination_rule_and_examples(spec):
    request = spec["components"]["schemas"]["PredictionRequest"]
    assert request["anyOf"] == [
        {"$ref": "#/components/schemas/EmployeeFeatures"},
        {"$ref": "#/components/schemas/RawHrRecord"},
    ]
    assert "30 clés" in request["description"]
    assert all(name in request["description"] for name in schema.RAW_ONLY_NAMES)
    assert EXAMPLE_RAW == RAW  # the hard-coded example is a real employee
    examples = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    for example in examples.values():
        _, _, errors = validate_payload(example["value"])
        assert errors == {}
    assert not is_raw_record(examples["caracteristiques"]["value"]) and is_raw_record(examples["dossier_brut"]["value"])
    exported = examples["export_rh"]["value"]
    assert exported["heure_supplementaires"] == "Oui" and exported["augementation_salaire_precedente"] == "11 %"
    assert validate_payload(exported)[1] == RAW


def test_examples_are_scored_by_the_loaded_model(app, client):
    with app.app_context():
        predictor = model_store.predictor
    spec = client.get("/openapi.json").get_json()
    score = predictor.predict_one(derive_features(EXAMPLE_RAW))
    expected = {"Prediction": score.label, "Probabilite_depart": round(score.proba, 4)}
    assert spec == build_document(app.config, predictor)
    assert spec["components"]["schemas"]["Prediction"]["examples"] == [expected]
    answered = client.post("/predict", json=EXAMPLE_RAW).get_json()
    assert answered == {**expected, "Probabilite_depart": pytest.approx(expected["Probabilite_depart"], abs=5e-5)}
    predict = spec["paths"]["/predict"]["post"]["responses"]["200"]["content"]["application/json"]
    assert predict["example"] == expected
    ready = spec["paths"]["/ready"]["get"]["responses"]["200"]["content"]["application/json"]["example"]
    assert ready == client.get("/ready").get_json() == {"status": "ready", "model_version": predictor.version}


def test_examples_are_generic_until_a_model_is_loaded(app, client, tmp_path):
    """The document does not load the model; it follows a load and a reload (a bundle missing, then found)."""
    spec = client.get("/openapi.json").get_json()
    assert not model_store.loaded(app) and spec == build_document(app.config)
    assert spec["components"]["schemas"]["Prediction"]["examples"] == [GENERIC_PREDICTION]
    ready = spec["paths"]["/ready"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ready["example"] == {"status": "ready"}
    bundle, app.config["MODEL_DIR"] = app.config["MODEL_DIR"], str(tmp_path / "nowhere")
    with app.app_context():
        assert model_store.state().predictor is None
    assert client.get("/openapi.json").get_json() == spec
    app.config["MODEL_DIR"] = bundle
    with app.app_context():
        predictor = model_store.reload().predictor
    assert client.get("/openapi.json").get_json() == build_document(app.config, predictor) != spec


def test_responses_and_limits(spec):
    predict = spec["paths"]["/predict"]["post"]
    assert set(predict["responses"]) == {"200", "400", "401", "409", "413", "415", "422", "503"}
    assert spec["components"]["schemas"]["Prediction"]["properties"]["Prediction"]["enum"] == ["Reste", "Part"]
    batch = spec["paths"]["/predict/batch"]["post"]
    assert batch["requestBody"]["content"]["application/json"]["schema"]["maxItems"] == 10_000
    assert batch["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/BatchError")
    assert spec["components"]["securitySchemes"]["ApiKeyAuth"] == {
        **spec["components"]["securitySchemes"]["ApiKeyAuth"],
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    assert {} in predict["security"]  # keys optional by default


def test_document_follows_the_configuration(database_url, bundle_dir):
    app = make_app(database_url, bundle_dir, API_KEYS_REQUIRED=True, BATCH_MAX_RECORDS=50)
    spec = app.test_client().get("/openapi.json").get_json()
    assert spec == build_document(app.config)
    batch = spec["paths"]["/predict/batch"]["post"]
    assert batch["security"] == [{"ApiKeyAuth": []}]
    assert batch["requestBody"]["content"]["application/json"]["schema"]["maxItems"] == 50
    assert app.extensions["futurisys.openapi"] is app.extensions["futurisys.openapi"]


def test_docs_page_is_served_without_a_cdn(client):
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/docs/assets/swagger-ui-bundle.js" in html and "/openapi.json" in html
    assert "http://" not in html and "https://" not in html
    with client.get("/docs/assets/swagger-ui-bundle.js") as bundle:  # closed: the file is sent from an open file
        assert bundle.status_code == 200
    assert client.get("/docs/assets/index.html").status_code == 404  # the bundle's demo page loads the Petstore


def test_names_are_ascii_and_every_operation_has_security_and_a_4xx(spec):
    names = list(spec["components"]["schemas"]) + [tag["name"] for tag in spec["tags"]]
    operations = [operation for item in spec["paths"].values() for operation in item.values()]
    names += [operation["operationId"] for operation in operations]
    assert all(name.isascii() and name.replace("_", "").isalnum() for name in names), names
    assert all(
        not schema_.get("title", "").strip() or schema_["title"].isascii()
        for schema_ in spec["components"]["schemas"].values()
    )
    for operation in operations:
        assert "security" in operation and any(code.startswith("4") for code in operation["responses"])
    assert all(tag["description"] for tag in spec["tags"])
    assert spec["servers"] and spec["info"]["license"]["name"]


def test_error_bodies_document_detail_and_the_batch_total(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["Error"]["properties"]["detail"]["items"] == {"$ref": "#/components/schemas/ValidationErrorItem"}
    assert schemas["ValidationErrorItem"]["required"] == ["loc", "msg", "type"]
    assert "invalid_records" in schemas["BatchError"]["properties"]
    details = spec["paths"]["/predict"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert details["anyOf"][0] == {"$ref": "#/components/schemas/PredictionDetails"}


@pytest.mark.parametrize(
    "shape, rules_of",
    [("EmployeeFeatures", schema.feature_consistency_errors), ("RawHrRecord", schema.raw_consistency_errors)],
)
def test_cross_field_rules_are_written_out_as_the_code_applies_them(spec, shape, rules_of):
    """Each documented rule names the field the code flags, and a record breaking it is flagged there."""
    documented = spec["components"]["schemas"][shape][RULES_EXTENSION]
    assert documented and all(
        rule["rule"] in spec["components"]["schemas"][shape]["description"] for rule in documented
    )
    base = derive_features(RAW) if shape == "EmployeeFeatures" else dict(RAW)
    assert rules_of(base) == {}
    breaking = {
        "annees_dans_l_entreprise": {"annee_experience_totale": 2, "annees_dans_l_entreprise": 5},
        "annees_dans_le_poste_actuel": {"annees_dans_le_poste_actuel": 30},
        "annees_depuis_la_derniere_promotion": {"annees_depuis_la_derniere_promotion": 30},
        "annes_sous_responsable_actuel": {"annes_sous_responsable_actuel": 30},
        "annee_experience_totale": {"age": 20, "annee_experience_totale": 10},
        "evolution_cat_evol": {"evolution_cat_evol": "hausse", "ecart_note_evaluation": 0},
    }
    for rule in documented:
        assert rule["field"] in rules_of({**base, **breaking[rule["field"]]}), rule
    flagged = {field for change in breaking.values() for field in rules_of({**base, **change})}
    assert flagged == {rule["field"] for rule in documented}


def test_metrics_token_is_documented_when_set(database_url, bundle_dir):
    app = make_app(database_url, bundle_dir, METRICS_TOKEN="t")
    spec = app.test_client().get("/openapi.json").get_json()
    assert spec["paths"]["/metrics"]["get"]["security"] == [{"MetricsToken": []}]
    assert spec["components"]["securitySchemes"]["MetricsToken"]["scheme"] == "bearer"
