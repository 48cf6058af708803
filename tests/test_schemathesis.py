"""Property-based API tests generated from the OpenAPI document by schemathesis: no 5xx, every answer as documented.

The generated requests go to the app in-process (WSGI); positive and negative data, 40 examples per operation,
derandomized so that a run is reproducible.
"""

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    missing_required_header,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from futurisys.api.openapi import build_document
from futurisys.extensions import model_store

# The app below runs with these. A batch limit of 100 rather than the default 10,000: the limit is a setting like
# any other, and the over-limit bodies schemathesis generates then hold 101 records rather than 10,001.
CONFIG = {"BATCH_MAX_RECORDS": 100, "API_KEYS_REQUIRED": False}
# Every check that applies to single requests, except positive_data_acceptance: the cross-field rules (written in
# the document, not expressible in JSON Schema) refuse some schema-valid bodies.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    missing_required_header,
    allow_header_conformance,
]

# Loaded from the generator at import time (schemathesis' lazy fixture loader does not support pytest 9 yet);
# test_the_app_serves_this_document holds the app's /openapi.json to it.
# schemathesis.toml (shared with `schemathesis run` from this folder) accepts the documented 413 of a batch too long.
SETTINGS = SchemathesisConfig.from_path(str(Path(__file__).resolve().parent.parent / "schemathesis.toml"))
schema = schemathesis.openapi.from_dict(build_document(CONFIG), config=SETTINGS)


@pytest.fixture(scope="module")
def api_app(bundle_dir, tmp_path_factory):
    """An app on a migrated SQLite database (the route tests cover both kinds; one is enough here)."""
    from tests.support import migrated_app

    return migrated_app(f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'api.db'}", bundle_dir, **CONFIG)


def test_the_app_serves_this_document(api_app):
    """The same document; once the app's model is loaded, with the examples it scores."""
    assert api_app.test_client().get("/openapi.json").get_json() == build_document(CONFIG)
    predictor = model_store.state(api_app).predictor
    assert api_app.test_client().get("/openapi.json").get_json() == build_document(CONFIG, predictor)


@schema.parametrize()
@settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_api_conforms_to_its_document(case, api_app):
    case.call_and_validate(app=api_app, checks=CHECKS)
