"""GET /openapi.json: a valid OpenAPI 3.1 document derived from futurisys.schema, covering every API route."""
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from futurisys import schema
from futurisys.api.openapi import BOOLEAN_PATTERN, EXAMPLE_RAW, INTEGER_PATTERN, PERCENT_PATTERN
from futurisys.validation import is_raw_record, parse_value, validate_payload
from tests.conftest import make_app
from tests.payloads import RAW


@pytest.fixture
def spec(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200 and response.is_json
    return response.get_json()


def test_document_is_valid_openapi_3_1(spec):
    assert spec["openapi"].startswith("3.1.")
    validate(spec, cls=OpenAPIV31SpecValidator)


def test_every_api_route_is_documented(app, spec):
    rules = {(rule.rule, method.lower()) for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith("api.") or rule.endpoint == "metrics"
             for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert rules <= documented
    assert {"/predict", "/predict/batch", "/health", "/ready", "/model", "/metrics"} <= {path for path, _ in rules}


def test_feature_schema_is_the_schema_module(spec):
    features = spec["components"]["schemas"]["EmployeeFeatures"]
    assert list(features["properties"]) == list(schema.FEATURE_NAMES)
    assert features["required"] == list(schema.FEATURE_NAMES)
    for field in schema.FEATURES:
        prop = features["properties"][field.name]
        assert prop["type"] == field.json_type and prop["title"] == field.label
        assert prop.get("description", "") == field.help
        if field.kind != "bool" and field.choices:
            assert prop["enum"] == list(field.values)
        if field.minimum is not None and field.kind != "category":
            assert (prop["minimum"], prop["maximum"]) == (field.minimum, field.maximum)


def test_raw_schema_documents_the_hr_export_forms(spec):
    raw = spec["components"]["schemas"]["RawHrRecord"]
    assert list(raw["properties"]) == list(schema.RAW_NAMES)
    assert raw["required"] == [f.name for f in schema.RAW_FIELDS if f.required]
    overtime = raw["properties"]["heure_supplementaires"]["anyOf"]
    assert {"type": "string", "pattern": BOOLEAN_PATTERN} in overtime
    raise_forms = raw["properties"]["augementation_salaire_precedente"]["anyOf"]
    assert {"type": "string", "pattern": PERCENT_PATTERN} in raise_forms and {"type": "null"} in raise_forms
    assert raw["properties"]["poste"]["enum"] == list(schema.raw_field("poste").values)


@pytest.mark.parametrize("pattern, field, accepted, rejected", [
    (BOOLEAN_PATTERN, "heure_supplementaires", ["Oui", "non", " OUI ", "true", "Faux", "1"], ["peut-être", "o", ""]),
    (INTEGER_PATTERN, "age", ["41", " 41 ", "+41"], ["41 %", "41.5", "quarante", ""]),
    (PERCENT_PATTERN, "augementation_salaire_precedente", ["11 %", "11%", "11"], ["11 %%", "onze", "%"]),
])
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
    assert request["oneOf"] == [{"$ref": "#/components/schemas/EmployeeFeatures"},
                                {"$ref": "#/components/schemas/RawHrRecord"}]
    assert all(name in request["description"] for name in schema.RAW_ONLY_NAMES)
    assert EXAMPLE_RAW == RAW  # the hard-coded example is a real employee
    examples = spec["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    for example in examples.values():
        _, _, errors = validate_payload(example["value"])
        assert errors == {}
    assert not is_raw_record(examples["caracteristiques"]["value"]) and is_raw_record(examples["dossier_brut"]["value"])


def test_responses_and_limits(spec):
    predict = spec["paths"]["/predict"]["post"]
    assert set(predict["responses"]) == {"200", "400", "401", "413", "415", "422", "503"}
    assert spec["components"]["schemas"]["Prediction"]["properties"]["Prediction"]["enum"] == ["Reste", "Part"]
    batch = spec["paths"]["/predict/batch"]["post"]
    assert batch["requestBody"]["content"]["application/json"]["schema"]["maxItems"] == 10_000
    assert batch["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/BatchError")
    assert spec["components"]["securitySchemes"]["ApiKeyAuth"] == {
        **spec["components"]["securitySchemes"]["ApiKeyAuth"], "type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert {} in predict["security"]  # keys optional by default


def test_document_follows_the_configuration(database_url, bundle_dir):
    app = make_app(database_url, bundle_dir, API_KEYS_REQUIRED=True, BATCH_MAX_RECORDS=50)
    spec = app.test_client().get("/openapi.json").get_json()
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
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs/assets/index.html").status_code == 404  # the bundle's demo page loads the Petstore
