"""The admin area's query parameters never give a 5xx: extreme and malformed values get a French 4xx or are clamped."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.payloads import FEATURES
from tests.support import logged_in, store

PATHS = ("/admin/", "/admin/export.csv", "/admin/dashboard", "/admin/drift")
NAMES = ("date_from", "date_to", "label", "proba_min", "proba_max", "source", "model_version", "sort", "page", "window")
# What the issue found (and the edges next to it), then anything printable.
EXTREMES = (
    "999999999999999999999",
    "-999999999999999999999",
    "0",
    "-1",
    "9" * 5000,
    "1_000",
    "0001-01-01",
    "9999-12-31",
    "0000-01-01",
    "10000-01-01",
    "2026-02-30",
    "nan",
    "inf",
    "-inf",
    "1e999",
    "-0",
    "1,5",
    "Part",
    "api",
    "date_desc",
    "all",
    "",
    " ",
    "\x00",
    "%",
    "'; DROP TABLE predictions; --",
)
VALUES = st.one_of(
    st.sampled_from(EXTREMES),
    st.integers().map(str),
    st.dates().map(date.isoformat),
    st.floats().map(str),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
)
QUERIES = st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=8), VALUES, max_size=6)


@pytest.fixture
def admin(app, client):
    store(app, FEATURES)
    return logged_in(app, client)


# 60 examples per database kind: the filters are parsed by one function, whose own tests cover each rule.
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), query=QUERIES)
def test_no_server_error_on_any_filter(admin, path, query):
    response = admin.get(path, query_string=query)
    response.get_data()  # the export streams: errors would surface while reading it
    assert response.status_code in (200, 400, 404, 422), (path, query, response.status_code)


@pytest.mark.parametrize(
    "query",
    [
        "page=999999999999999999999",
        "date_to=9999-12-31",
        "date_from=0001-01-01",
        "date_from=0001-01-01&date_to=9999-12-31",
    ],
)
def test_the_reported_filters_are_clamped(admin, query):
    history = admin.get(f"/admin/?{query}")
    assert history.status_code == 200
    export = admin.get(f"/admin/export.csv?{query}")
    assert export.status_code == 200
    rows = export.get_data(as_text=True).splitlines()
    assert len(rows) == 2  # header and the one stored prediction: an unbounded side excludes nothing
    if "page" not in query:
        assert "<strong>1</strong> prédiction" in history.get_data(as_text=True)


@pytest.mark.parametrize("value", ["nan", "inf", "1e999"])
def test_non_finite_percentages_get_a_french_message(admin, value):
    response = admin.get("/admin/", query_string={"proba_min": value})
    assert response.status_code == 422 and "Doit être un nombre" in response.get_data(as_text=True)
    assert admin.get("/admin/export.csv", query_string={"proba_max": value}).status_code == 400


def test_an_impossible_prediction_id_is_not_found(admin):
    assert admin.get("/admin/predictions/99999999999999999999999").status_code == 404
