"""Property-based (hypothesis): JSON bodies built to break parsers and validators — deep nesting, numbers beyond a
float, NaN/Infinity, lone surrogates, random JSON, valid records with one value swapped for any of these — never get
a 5xx from /predict or /predict/batch, only the usual French JSON error (issue 10, point 1)."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from futurisys.domain import schema
from tests.payloads import FEATURES, RAW

FIELD_NAMES = sorted(set(schema.FEATURE_NAMES) | set(schema.RAW_NAMES))

huge_numbers = st.one_of(
    st.integers(min_value=309, max_value=6000).map(lambda zeros: "1" + "0" * zeros),
    st.integers(min_value=309, max_value=99_999).map(lambda exponent: f"1e{exponent}"),
    st.sampled_from(["-1e400", "1E999", "1e-400", "NaN", "Infinity", "-Infinity", "-0", "0.0e0"]),
)
lone_surrogates = st.lists(st.integers(0xD800, 0xDFFF), min_size=1, max_size=3).map(
    lambda points: '"' + "".join(f"\\u{point:04x}" for point in points) + '"'
)
deep_nesting = st.tuples(st.integers(min_value=500, max_value=60_000), st.sampled_from(["[]", "{}"])).map(
    lambda spec: ('{"a":' * spec[0] + "1" + "}" * spec[0]) if spec[1] == "{}" else "[" * spec[0] + "]" * spec[0]
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20)
).map(json.dumps)
hostile_values = st.one_of(huge_numbers, lone_surrogates, deep_nesting, scalars)
random_json = st.recursive(
    st.one_of(scalars, huge_numbers, lone_surrogates),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        st.lists(
            st.tuples(st.one_of(st.sampled_from(FIELD_NAMES).map(json.dumps), lone_surrogates), inner), max_size=4
        ).map(lambda pairs: "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}"),
    ),
    max_leaves=12,
)


@st.composite
def swapped_records(draw) -> str:
    """A real record (either shape) with one field's value replaced by hostile JSON text."""
    record = dict(draw(st.sampled_from([FEATURES, RAW])))
    field = draw(st.sampled_from(FIELD_NAMES))
    marker = "__hostile__"
    record[field] = marker
    return json.dumps(record).replace(json.dumps(marker), draw(hostile_values))


bodies = st.one_of(swapped_records(), deep_nesting, random_json, huge_numbers, lone_surrogates)


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(body=bodies, batch=st.booleans())
def test_no_body_gets_a_5xx(client, body, batch):
    path = "/predict/batch" if batch else "/predict"
    text = f"[{body}]" if batch else body
    response = client.post(path, data=text.encode("utf-8", "surrogatepass"), content_type="application/json")
    assert response.status_code < 500, (response.status_code, text[:200], response.get_data()[:300])
    if response.status_code >= 400:
        assert response.is_json and response.get_json()["error"]
        response.get_data().decode("utf-8")  # nothing unencodable echoed back
