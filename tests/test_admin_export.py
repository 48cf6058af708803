"""The CSV export: BOM, header, French separators, accents, one row per prediction, same filters as the page."""

import csv
import io
import re
from datetime import datetime, timedelta

from futurisys.admin.queries import LOCAL_TZ
from futurisys.domain.schema import FEATURE_NAMES
from tests.payloads import FEATURES, RAW
from tests.support import logged_in, store

PREDICTION_COLUMNS = [
    "prediction_id",
    "created_at_paris",
    "prediction_label",
    "prediction_proba",
    "threshold",
    "model_version",
    "latency_ms",
    "api_key_name",
    "input_id",
]


def parse(response) -> list[dict]:
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))


def test_export_has_one_row_per_prediction_with_its_inputs(app, client):
    accented = {**FEATURES, "statut_marital": "Célibataire", "poste": "Représentant Commercial"}
    first = store(app, accented, source="form", request_id="req-é")
    second = store(app, FEATURES, raw=RAW, source="api", request_id="-1+2")
    admin = logged_in(app, client)
    response = admin.get("/admin/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.is_streamed
    disposition = response.headers["Content-Disposition"]
    stamp = re.fullmatch(r'attachment; filename="futurisys-predictions-(\d{4}-\d\d-\d\d-\d{4})\.csv"', disposition)
    assert stamp, disposition
    # Named in Paris time (the people who open the file live there), whatever the server's zone.
    named_at = datetime.strptime(stamp[1], "%Y-%m-%d-%H%M").replace(tzinfo=LOCAL_TZ)
    assert abs(datetime.now(LOCAL_TZ) - named_at) < timedelta(minutes=2)
    assert response.get_data()[:3] == b"\xef\xbb\xbf"
    header = response.get_data().decode("utf-8")[1:].split("\r\n", 1)[0].split(";")
    assert header == PREDICTION_COLUMNS + list(FEATURE_NAMES) + [
        "source",
        "request_id",
        "employee_ref",
        "risque_pourcent",
        "niveau_de_risque",
    ]
    rows = parse(response)
    assert [int(r["prediction_id"]) for r in rows] == [second, first]
    newest, oldest = rows
    assert oldest["statut_marital"] == "Célibataire" and oldest["poste"] == "Représentant Commercial"
    assert oldest["source"] == "form" and oldest["request_id"] == "req-é"
    assert newest["request_id"] == "'-1+2"  # would run as a formula in a spreadsheet otherwise
    assert "," in oldest["prediction_proba"] and "." not in oldest["prediction_proba"]
    assert float(oldest["prediction_proba"].replace(",", ".")) > 0
    assert oldest["heure_supplementaires"] in ("Oui", "Non")
    assert oldest["revenu_mensuel"] == str(FEATURES["revenu_mensuel"])
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", oldest["created_at_paris"])  # as French Excel reads it


def test_export_applies_the_filters_and_the_sort(app, client, reference_features):
    for record in reference_features[0][:6]:
        store(app, record, source="batch")
    store(app, FEATURES, source="api")
    admin = logged_in(app, client)
    rows = parse(admin.get("/admin/export.csv", query_string={"source": "batch", "sort": "proba_asc"}))
    probas = [float(r["prediction_proba"].replace(",", ".")) for r in rows]
    assert len(rows) == 6 and {r["source"] for r in rows} == {"batch"} and probas == sorted(probas)
    assert parse(admin.get("/admin/export.csv", query_string={"date_to": "2000-01-01"})) == []


def test_history_links_to_the_export_with_its_filters(app, client):
    store(app, FEATURES)
    admin = logged_in(app, client)
    page = admin.get("/admin/", query_string={"label": "Part", "source": "api"}).get_data(as_text=True)
    link = re.search(r'href="(/admin/export\.csv[^"]*)"', page)[1].replace("&amp;", "&")
    assert "label=Part" in link and "source=api" in link
