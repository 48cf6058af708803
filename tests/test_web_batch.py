"""The batch page: CSV in (either columns, `;` or `,`, UTF-8 or Windows-1252), scored CSV out, errors by line."""
import csv
import io
import re

import pytest
import sqlalchemy as sa

from futurisys.ml.features import derive_features
from futurisys.models import Input, Prediction
from futurisys.risk import risk_band
from futurisys.schema import FEATURE_NAMES, RAW_NAMES
from tests.conftest import make_app
from tests.payloads import employee

IDS = (1, 2, 4, 5, 7)
ERROR_ROW = re.compile(r"<tr>\s*<td>(\d+)</td>\s*<td>(?:<code>(\w+)</code>)?", re.S)


def export_cell(name, value):
    """A value as an HR export writes it."""
    if name == "heure_supplementaires":
        return "Oui" if value else "Non"
    if name == "augementation_salaire_precedente":
        return f"{value} %"
    return str(value)


def raw_csv(rows=None, delimiter=";", encoding="cp1252") -> bytes:
    """An HR export: an employee number column, then the 27 raw columns."""
    rows = rows if rows is not None else [
        [f"É-{i:03d}"] + [export_cell(n, employee(i)[n]) for n in RAW_NAMES] for i in IDS]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(["matricule", *RAW_NAMES])
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def features_csv() -> bytes:
    """The 30 feature columns, `,`-separated, UTF-8 with a BOM."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FEATURE_NAMES)
    for i in IDS:
        features = derive_features(employee(i))
        writer.writerow([features[n] for n in FEATURE_NAMES])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def upload(client, content: bytes, filename="lot.csv"):
    return client.post("/lot", data={"fichier": (io.BytesIO(content), filename)}, content_type="multipart/form-data")


def counts(db):
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Input)),
            db.session.scalar(sa.select(sa.func.count()).select_from(Prediction)))


def scored_rows(response, delimiter):
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=delimiter))


def test_page_explains_the_expected_file(client):
    page = client.get("/lot").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'type="file"' in page
    assert "10\u202f000 lignes au plus" in page and "js/batch.js" in page
    template = client.get("/lot/modele.csv")
    assert template.data.decode("utf-8-sig").strip() == ";".join(RAW_NAMES)


def test_semicolon_windows_1252_hr_export_is_scored_and_stored(client, db):
    response = upload(client, raw_csv(), filename="équipe commerciale.csv")
    assert "filename=" in response.headers["Content-Disposition"]
    assert "_predictions.csv" in response.headers["Content-Disposition"]
    header, *rows = scored_rows(response, ";")
    assert header == ["matricule", *RAW_NAMES, "prediction", "probabilite_depart", "niveau_de_risque"]
    assert [row[0] for row in rows] == [f"É-{i:03d}" for i in IDS]
    assert any(row[1 + RAW_NAMES.index("statut_marital")] in ("Célibataire", "Marié(e)") for row in rows)
    for i, row in zip(IDS, rows):
        expected = client.post("/predict", json=employee(i)).get_json()
        assert row[-3] == expected["Prediction"]
        assert row[-2] == f"{expected['Probabilite_depart']:.4f}".replace(".", ",")  # decimal comma with `;`
        assert row[-1] == risk_band(expected["Probabilite_depart"]).label
        assert row[1 + RAW_NAMES.index("heure_supplementaires")] in ("Oui", "Non")  # cells kept as sent
    batch = db.session.execute(sa.select(Input).where(Input.source == "lot").order_by(Input.id)).scalars().all()
    assert [row.raw_record["age"] for row in batch] == [employee(i)["age"] for i in IDS]


def test_comma_utf8_bom_feature_file_is_scored(client, db):
    header, *rows = scored_rows(upload(client, features_csv()), ",")
    assert header == [*FEATURE_NAMES, "prediction", "probabilite_depart", "niveau_de_risque"]
    assert len(rows) == len(IDS)
    first = client.post("/predict", json=derive_features(employee(1))).get_json()
    assert rows[0][-3:] == [first["Prediction"], f"{first['Probabilite_depart']:.4f}",
                            risk_band(first["Probabilite_depart"]).label]
    assert counts(db) == (len(IDS) + 1, len(IDS) + 1)
    assert db.session.execute(sa.select(Input.raw_record).where(Input.source == "lot")).scalars().all() == [None] * 5


def test_comma_utf8_hr_export_with_accents(client, db):
    header, *rows = scored_rows(upload(client, raw_csv(delimiter=",", encoding="utf-8")), ",")
    assert rows[0][0] == "É-001" and rows[0][-1] in ("Faible", "Modéré", "Élevé")


def test_invalid_lines_are_listed_by_line_number_and_nothing_is_stored(client, db):
    good = [export_cell(n, employee(1)[n]) for n in RAW_NAMES]
    bad_age = list(good)
    bad_age[RAW_NAMES.index("age")] = "quarante"
    inconsistent = list(good)
    inconsistent[RAW_NAMES.index("annees_dans_le_poste_actuel")] = str(employee(1)["annees_dans_l_entreprise"] + 1)
    content = raw_csv([["A"] + good, ["B"] + bad_age, [], ["C"] + inconsistent, ["D"] + good])
    response = upload(client, content)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    # Header = line 1; the blank line 4 is skipped but still counted.
    assert ERROR_ROW.findall(page) == [("3", "age"), ("5", "annees_dans_le_poste_actuel")]
    assert "Doit être un nombre entier." in page and "dépasser les années dans l&#39;entreprise" in page
    assert re.search(r"Lignes lues</dt><dd>4<.*Valides</dt><dd>2<.*En erreur</dt><dd>2<", page, re.S)
    assert counts(db) == (0, 0)


@pytest.mark.parametrize("content, message", [
    (b"", "Le fichier est vide."),
    (";".join(RAW_NAMES).encode(), "aucune ligne de données"),
    (b"age;genre\n41;F\n", "Colonnes manquantes : statut_marital"),
    (b"age;age\n41;41\n", "Colonnes en double : age."),
    (raw_csv([["A"] + ["1"] * (len(RAW_NAMES) + 1)]), "valeurs pour 28 colonnes"),
])
def test_unusable_files_are_refused_with_a_reason(client, db, content, message):
    response = upload(client, content)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert counts(db) == (0, 0)


def test_more_lines_than_the_maximum_are_refused(database_url, bundle_dir, db):
    client = make_app(database_url, bundle_dir, BATCH_MAX_RECORDS=3).test_client()
    response = upload(client, raw_csv())
    assert response.status_code == 422
    assert "5 lignes de données ; 3 au plus par lot" in response.get_data(as_text=True)
    assert counts(db) == (0, 0)


@pytest.mark.parametrize("filename, message", [
    (None, "Choisissez un fichier CSV."),
    ("lot.xlsx", "Le fichier doit être un fichier CSV"),
])
def test_form_errors(client, db, filename, message):
    data = {"fichier": (io.BytesIO(b"x"), filename)} if filename else {}
    response = client.post("/lot", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and 'aria-invalid="true"' in page and "fichier-erreur" in page


def test_csrf_token_is_required(database_url, bundle_dir, db):
    client = make_app(database_url, bundle_dir, WTF_CSRF_ENABLED=True).test_client()
    assert upload(client, raw_csv()).status_code == 400
    assert counts(db) == (0, 0)


def test_oversized_upload_gets_the_page_with_a_message(database_url, bundle_dir, db):
    client = make_app(database_url, bundle_dir, MAX_CONTENT_LENGTH=512).test_client()
    response = upload(client, raw_csv())
    assert response.status_code == 413
    assert "Fichier trop volumineux" in response.get_data(as_text=True)
