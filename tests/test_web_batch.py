"""The batch page: CSV in (either columns, `;` or `,`, UTF-8 or Windows-1252), at-risk list and scored CSV out."""

import csv
import io
import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from futurisys.domain.formatting import NNBSP  # pages are typeset: compared here with plain spaces
from futurisys.domain.risk import band_for, shown_percent
from futurisys.domain.schema import FEATURE_NAMES, RAW_NAMES
from futurisys.extensions import model_store
from futurisys.jobs.lots import run_lot
from futurisys.ml.features import derive_features
from futurisys.storage.models import Input
from tests.payloads import IDS, employee, export_cell, french_csv, french_row, raw_csv
from tests.support import counts, logged_in, login, make_app, make_user

ERROR_ROW = re.compile(
    r'<tr>\s*<td data-label="Ligne">(\d+).*?</td>\s*'
    r'<td data-label="Champ">[^<]*(?:<br><span class="muted">colonne <code>(\w+)</code>)?',
    re.S,
)
ADDED = ["risque_depart_pourcent", "niveau_de_risque", "facteur_principal"]


@pytest.fixture
def client(app, client):
    """The test client signed in as an HR account (the HR pages are for signed-in HR staff)."""
    return logged_in(app, client, "hr")


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
    """Upload `content`; once accepted (303 to the lot's page), run the lot in-process and answer its page."""
    response = client.post(
        "/lot", data={"fichier": (io.BytesIO(content), filename)}, content_type="multipart/form-data"
    )
    if response.status_code != 303:
        return response
    job_id = re.fullmatch(r"/lots/([\w-]+)", urlsplit(response.headers["Location"]).path).group(1)
    with client.application.app_context():
        assert run_lot(job_id) in ("termine", "echoue")
    page = client.get(response.headers["Location"])
    page.job_id = job_id
    return page


def refused(response) -> str:
    """The page of a lot that was refused (nothing stored), as plain text."""
    page = response.get_data(as_text=True).replace(NNBSP, " ")
    assert response.status_code == 200 and "Échoué" in page, page[:2000]
    return page


def scored_file(client, response) -> tuple[str, bytes]:
    """(file name, content) of the lot page's download link for the scored file."""
    page = response.get_data(as_text=True).replace(NNBSP, " ")
    assert response.status_code == 200, page[:2000]
    assert response.mimetype == "text/html" and response.headers["Cache-Control"] == "no-store"
    link = re.search(r'href="(/lots/[\w-]+/resultat\.csv)"', page)
    assert link, "no download link"
    download = client.get(link.group(1))
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.headers["Cache-Control"] == "no-store"
    name = re.search(r'filename="?([^";]+)"?', download.headers["Content-Disposition"]).group(1)
    return name, download.get_data()


def scored_rows(client, response, delimiter):
    content = scored_file(client, response)[1]
    assert content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=delimiter))


def band(client, probability):
    """The band HR pages show for `probability` with the loaded model's threshold."""
    with client.application.app_context():
        return band_for(probability, model_store.predictor.threshold)


def test_page_explains_the_expected_file(client):
    page = client.get("/lot").get_data(as_text=True).replace(NNBSP, " ")
    assert 'enctype="multipart/form-data"' in page and 'type="file"' in page
    assert "500 000 lignes au plus" in page and "js/batch.js" in page
    template = client.get("/lot/modele.csv")
    header, example = template.data.decode("utf-8-sig").splitlines()
    assert header == ";".join(["reference_salarie", *RAW_NAMES])
    assert example.startswith("EXEMPLE-1;41;F;5993;Célibataire;") and ";Oui;11 %;" in example


def test_the_template_file_as_downloaded_is_scored(client, db):
    """Its example line is valid as it stands: HR replace it with their employees, the columns stay."""
    response = upload(client, client.get("/lot/modele.csv").data, filename="modele_lot_futurisys.csv")
    header, *rows = scored_rows(client, response, ";")
    assert header[0] == "reference_salarie" and [row[0] for row in rows] == ["EXEMPLE-1"]


def test_semicolon_windows_1252_hr_export_is_scored_and_stored(client, db):
    response = upload(client, raw_csv(), filename="équipe commerciale.csv")
    assert scored_file(client, response)[0] == "equipe_commerciale_predictions.csv"
    header, *rows = scored_rows(client, response, ";")
    assert header == ["matricule", *RAW_NAMES, *ADDED]
    assert [row[0] for row in rows] == [f"É-{i:03d}" for i in IDS]
    assert any(row[1 + RAW_NAMES.index("statut_marital")] in ("Célibataire", "Marié(e)") for row in rows)
    for i, row in zip(IDS, rows, strict=False):
        expected = client.post("/predict", json=employee(i)).get_json()
        probability = expected["Probabilite_depart"]
        assert row[-3] == str(shown_percent(probability))  # the page's figure, never « Part »/« Reste »
        assert row[-2] == band(client, probability).label
        assert (row[-1] != "") == (band(client, probability).key != "faible")  # the main factor of those at risk
        assert row[1 + RAW_NAMES.index("heure_supplementaires")] in ("Oui", "Non")  # cells kept as sent
    batch = db.session.execute(sa.select(Input).where(Input.source == "lot").order_by(Input.id)).scalars().all()
    assert [row.raw_record["age"] for row in batch] == [employee(i)["age"] for i in IDS]


def test_comma_utf8_bom_feature_file_is_scored(app, client, db):
    header, *rows = scored_rows(client, upload(client, features_csv()), ",")
    assert header == [*FEATURE_NAMES, *ADDED]
    assert len(rows) == len(IDS)
    first = client.post("/predict", json=derive_features(employee(1))).get_json()
    probability = first["Probabilite_depart"]
    assert rows[0][-3:-1] == [str(shown_percent(probability)), band(client, probability).label]
    assert counts(app) == (len(IDS) + 1, len(IDS) + 1)
    assert db.session.execute(sa.select(Input.raw_record).where(Input.source == "lot")).scalars().all() == [None] * 5


def test_comma_utf8_hr_export_with_accents(client, db):
    header, *rows = scored_rows(client, upload(client, raw_csv(delimiter=",", encoding="utf-8")), ",")
    assert rows[0][0] == "É-001" and rows[0][-2] in ("Faible", "Modéré", "Élevé")


def test_invalid_lines_are_listed_by_line_number_and_nothing_is_stored(app, client):
    good = [export_cell(n, employee(1)[n]) for n in RAW_NAMES]
    bad_age = list(good)
    bad_age[RAW_NAMES.index("age")] = "quarante"
    inconsistent = list(good)
    inconsistent[RAW_NAMES.index("annees_dans_le_poste_actuel")] = str(employee(1)["annees_dans_l_entreprise"] + 1)
    content = raw_csv([["A"] + good, ["B"] + bad_age, [], ["C"] + inconsistent, ["D"] + good])
    response = upload(client, content)
    page = refused(response)
    # Header = line 1; the blank line 4 is skipped but still counted.
    assert ERROR_ROW.findall(page) == [("3", "age"), ("5", "annees_dans_le_poste_actuel")]
    assert "Doit être un nombre entier." in page and "dépasser les années dans l&#39;entreprise" in page
    assert re.search(r"Lignes lues</dt><dd>4<.*Valides</dt><dd>2<.*En erreur</dt><dd>2<", page, re.S)
    assert "« quarante »" in page  # the value found
    assert counts(app) == (0, 0)
    link = re.search(r'href="(/lots/[\w-]+/erreurs\.csv)"', page)
    download = client.get(link.group(1))
    assert "filename=lot_erreurs.csv" in download.headers["Content-Disposition"]
    report = list(csv.reader(io.StringIO(download.get_data().decode("utf-8-sig")), delimiter=";"))
    assert report[0] == ["ligne", "reference_salarie", "colonne", "champ", "valeur_trouvee", "erreur"]
    assert [(row[0], row[2], row[4]) for row in report[1:]] == [
        ("3", "age", "quarante"),
        ("5", "annees_dans_le_poste_actuel", str(employee(1)["annees_dans_l_entreprise"] + 1)),
    ]


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "Le fichier est vide."),
        (";".join(RAW_NAMES).encode(), "aucune ligne de données"),
        (b"age;genre\n41;F\n", "Colonnes manquantes : departement, poste"),
        (b"age;age\n41;41\n", "Colonnes en double : age."),
        (raw_csv([["A"] + ["1"] * (len(RAW_NAMES) + 1)]), "Plus de valeurs que de colonnes"),
    ],
)
def test_unusable_files_are_refused_with_a_reason(app, client, content, message):
    response = upload(client, content)
    assert message in refused(response)
    assert counts(app) == (0, 0)


def test_more_lines_than_the_maximum_are_refused(app, client):
    app.config["LOT_MAX_LINES"] = 3
    response = upload(client, raw_csv())
    assert "plus de 3 lignes de données ; 3 au plus par lot" in refused(response)
    assert counts(app) == (0, 0)


def test_reading_stops_at_the_line_limit(app, client):
    """Beyond the limit the file is not parsed: an unreadable tail does not change the answer."""
    app.config["LOT_MAX_LINES"] = 3
    tail = b'A;"never closed\n' + b"x;" * 1000 + b"\n"
    page = refused(upload(client, raw_csv() + tail))
    assert "plus de 3 lignes de données" in page and "illisible" not in page
    assert counts(app) == (0, 0)


@pytest.mark.parametrize(
    "content, message",
    [
        (";".join(RAW_NAMES).encode() + b"\n" + b"1;" * 20_000 + b"\n", "Ligne 2 trop longue"),
        (";".join(f"c{i}" for i in range(300)).encode() + b"\n1\n", "300 colonnes : 200 au plus."),
        (";".join(RAW_NAMES).encode() + b"\n" * 20_200, "lignes vides comprises"),
    ],
)
def test_oversized_lines_and_headers_are_refused(app, client, content, message):
    app.config["LOT_MAX_LINES"] = 10_000
    response = upload(client, content)
    assert message in refused(response)
    assert counts(app) == (0, 0)


@pytest.mark.parametrize(
    "filename, message",
    [
        (None, "Choisissez un fichier CSV."),
        ("lot.xlsx", "Le fichier doit être un fichier CSV"),
    ],
)
def test_form_errors(client, db, filename, message):
    data = {"fichier": (io.BytesIO(b"x"), filename)} if filename else {}
    response = client.post("/lot", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True).replace(NNBSP, " ")
    assert message in page and 'aria-invalid="true"' in page and "fichier-erreur" in page


def test_csrf_token_is_required(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    assert upload(client, raw_csv()).status_code == 400
    assert counts(app) == (0, 0)


def test_oversized_upload_gets_the_page_with_a_message(database_url, bundle_dir, db):
    app = make_app(database_url, bundle_dir, LOT_MAX_BYTES=512)
    client = logged_in(app, app.test_client(), "hr")
    response = upload(client, raw_csv())
    assert response.status_code == 413
    assert "Fichier trop volumineux" in response.get_data(as_text=True).replace(NNBSP, " ")


def test_form_wording_and_french_numbers_are_accepted_and_references_stored(client, db):
    labels = {
        "frequence_deplacement": "fréquent",
        "genre": "FEMME",
        "domaine_etude": "Entrepreneuriat",
        "revenu_mensuel": "3 500",
        "satisfaction_employee_equipe": "2 — Moyenne",
    }
    rows = [french_row(i, f"MAT-{i:04d}", **(labels if i == 1 else {})) for i in IDS]
    header, *scored = scored_rows(client, upload(client, french_csv(rows)), ";")
    assert [row[0] for row in scored] == [f"MAT-{i:04d}" for i in IDS]
    assert scored[0][2 + RAW_NAMES.index("frequence_deplacement")] == "fréquent"  # copied as written
    stored = db.session.execute(sa.select(Input).where(Input.source == "lot").order_by(Input.id)).scalars().all()
    assert [row.employee_ref for row in stored] == [f"MAT-{i:04d}" for i in IDS]
    first = stored[0]
    assert (
        first.frequence_deplacement,
        first.genre,
        first.domaine_etude,
        first.revenu_mensuel,
        first.satisfaction_employee_equipe,
    ) == ("Frequent", "F", "Entrepreunariat", 3500, 2)
    assert all(row.user_id is not None and row.public_id for row in stored)


def test_employees_at_risk_are_listed_high_then_moderate_with_reference_and_factor(client, db, reference_features):
    rows = [french_row(i, f"R{i}") for i in IDS]
    page = upload(client, french_csv(rows)).get_data(as_text=True).replace(NNBSP, " ")
    listed = re.findall(
        r'<td data-label="Référence">([^<]+)</td>\s*<td data-label="Risque de départ">[^<]*'
        r'<span class="band band--(\w+)">',
        page,
    )
    scored = {i: client.post("/predict", json=employee(i)).get_json()["Probabilite_depart"] for i in IDS}
    expected = sorted(
        (i for i in IDS if band(client, scored[i]).key != "faible"),
        key=lambda i: (band(client, scored[i]).key != "eleve", -scored[i]),
    )
    assert expected, "the sample should hold someone at risk"
    assert listed == [(f"R{i}", band(client, scored[i]).key) for i in expected]
    assert page.index("Télécharger le fichier évalué") < page.index("Salariés à risque")  # near the top
    factors = re.findall(r'<td data-label="Facteur principal">([^<]+)</td>', page)
    assert len(factors) == len(expected) and all(factor[0].isupper() for factor in factors)
    assert not any("Écart de note" in factor or "€ €" in factor for factor in factors)  # plain French, not variables


def test_invalid_reference_is_a_line_error_showing_the_value(app, client):
    rows = [french_row(1, "MAT 42/é"), french_row(2, "X" * 33), french_row(4, "ok-1")]
    page = refused(upload(client, french_csv(rows)))
    assert ERROR_ROW.findall(page) == [("2", "reference_salarie"), ("3", "reference_salarie")]
    assert "« MAT 42/é »" in page and "Référence invalide" in page
    assert counts(app) == (0, 0)


def test_error_lines_show_the_reference_and_the_value(client, db):
    page = refused(upload(client, french_csv([french_row(1, "MAT-1", frequence_deplacement="Souvent")])))
    assert re.search(r'data-label="Ligne">2<br><span class="muted">MAT-1</span>', page)
    assert "« Souvent »" in page and "Fréquent (Frequent)" in page


def test_formula_cells_are_escaped_in_the_scored_file(client, db):
    formulas = ['=HYPERLINK("http://x")', "@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3", "\tx"]
    rows = [french_row(i, f"F{i}", comment) for i, comment in zip(IDS, formulas, strict=False)]
    header, *scored = scored_rows(client, upload(client, french_csv(rows)), ";")
    assert [row[1] for row in scored] == ["'" + formula for formula in formulas]
    assert scored[0][2 + RAW_NAMES.index("age")] == str(employee(1)["age"])  # numbers untouched


def test_a_file_without_the_protected_attributes_is_scored_and_stored(app, client, db):
    """Sex, marital status and age: absent columns or empty cells, the file is scored and the lines stored."""
    protected = ("genre", "statut_marital", "age")
    kept = [n for n in RAW_NAMES if n not in protected]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["reference_salarie", *kept])
    writer.writerows([f"R{i}", *(export_cell(n, employee(i)[n]) for n in kept)] for i in IDS)
    header, *rows = scored_rows(client, upload(client, out.getvalue().encode("utf-8")), ";")
    assert header == ["reference_salarie", *kept, *ADDED] and len(rows) == len(IDS)
    empty = raw_csv(
        [[f"E{i}"] + ["" if n in protected else export_cell(n, employee(i)[n]) for n in RAW_NAMES] for i in IDS]
    )
    assert len(scored_rows(client, upload(client, empty), ";")) == len(IDS) + 1
    stored = db.session.execute(sa.select(Input.genre, Input.statut_marital, Input.age).where(Input.source == "lot"))
    assert stored.all() == [(None, None, None)] * (2 * len(IDS))


def test_a_lot_may_be_larger_than_other_requests(database_url, bundle_dir, db):
    """LOT_MAX_BYTES bounds a lot's upload, not MAX_CONTENT_LENGTH (which every other request keeps)."""
    app = make_app(database_url, bundle_dir, MAX_CONTENT_LENGTH=512)
    client = logged_in(app, app.test_client(), "hr")
    content = raw_csv()
    assert len(content) > 512
    assert client.post("/lot", data={"fichier": (io.BytesIO(content), "x.csv")}).status_code == 303
    assert client.post("/lots", data=content, headers={"Content-Type": "text/csv"}).status_code == 202
    assert client.post("/", data={"x": "y" * 600}).status_code == 413


def csrf_token_of(page) -> str:
    """The hidden CSRF token of a form page."""
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))[1]


def test_a_lot_larger_than_other_requests_passes_the_csrf_check(database_url, bundle_dir, db):
    """CSRFProtect parses every POST's form: the lot's own limit must already hold when it does."""
    app = make_app(database_url, bundle_dir, MAX_CONTENT_LENGTH=512, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    make_user(app, "hr", "hr")
    assert login(client, "hr", csrf_token=csrf_token_of(client.get("/connexion"))).status_code == 302
    token = csrf_token_of(client.get("/lot"))
    content = raw_csv()
    assert len(content) > 512
    data = {"fichier": (io.BytesIO(content), "x.csv"), "csrf_token": token}
    assert client.post("/lot", data=data).status_code == 303
    assert client.post("/lot", data={"fichier": (io.BytesIO(content), "x.csv")}).status_code == 400
