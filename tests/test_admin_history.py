"""The history page: filters, sorting, pagination and counts; the detail page and its delete button."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from futurisys.domain.formatting import NNBSP  # pages are typeset: compared here with plain spaces
from futurisys.storage.models import Input, Prediction
from tests.payloads import FEATURES, RAW
from tests.support import counts, logged_in, restamp, store

ROW_ID = re.compile(r'<th scope="row">(\d+)</th>')


def shown_ids(response) -> list[int]:
    return [int(n) for n in ROW_ID.findall(response.get_data(as_text=True).replace(NNBSP, " "))]


@pytest.fixture
def admin(app, client):
    return logged_in(app, client)


@pytest.fixture
def stored(app, reference_features):
    """Five predictions on known days, sources and model versions."""
    records = reference_features[0]
    day = datetime(2026, 3, 10, 12, tzinfo=UTC)
    ids = []
    for n, source in enumerate(("api", "form", "api", "batch", "whatif")):
        prediction_id = store(app, records[n], source=source, request_id=f"req-{n}")
        restamp(app, prediction_id, created_at=day + timedelta(days=n), model_version="fx-old" if n < 2 else "fx-new")
        ids.append(prediction_id)
    with app.app_context():
        from futurisys.extensions import db

        probas = dict(db.session.execute(sa.select(Prediction.id, Prediction.prediction_proba)).all())
        labels = dict(db.session.execute(sa.select(Prediction.id, Prediction.prediction_label)).all())
    return ids, probas, labels


def test_newest_first_with_counts(admin, stored):
    ids, _, labels = stored
    response = admin.get("/admin/")
    assert response.status_code == 200
    assert shown_ids(response) == ids[::-1]
    page = response.get_data(as_text=True).replace(NNBSP, " ")
    parts = sum(1 for label in labels.values() if label == "Part")
    assert "<strong>5</strong> prédictions correspondent" in page and f"dont {parts} « Part »" in page


@pytest.mark.parametrize(
    "query, picks",
    [
        ({"date_from": "2026-03-11", "date_to": "2026-03-12"}, [1, 2]),
        ({"date_to": "2026-03-10"}, [0]),
        ({"source": "api"}, [0, 2]),
        ({"source": "whatif"}, [4]),
        ({"model_version": "fx-old"}, [0, 1]),
        ({"model_version": "fx-new", "source": "batch"}, [3]),
    ],
)
def test_filters(admin, stored, query, picks):
    ids = stored[0]
    assert sorted(shown_ids(admin.get("/admin/", query_string=query))) == [ids[i] for i in picks]


def test_label_and_probability_filters(admin, stored):
    ids, probas, labels = stored
    for label in ("Part", "Reste"):
        expected = sorted(i for i in ids if labels[i] == label)
        assert sorted(shown_ids(admin.get("/admin/", query_string={"label": label}))) == expected
    middle = sorted(probas.values())[2] * 100
    above = shown_ids(admin.get("/admin/", query_string={"proba_min": f"{middle:.6f}".rstrip("0")}))
    assert sorted(above) == sorted(i for i in ids if probas[i] * 100 >= round(middle, 6))
    below = shown_ids(admin.get("/admin/", query_string={"proba_max": "100", "proba_min": "0"}))
    assert len(below) == 5


@pytest.mark.parametrize(
    "sort, key, reverse",
    [
        ("date_asc", "id", False),
        ("date_desc", "id", True),
        ("proba_asc", "proba", False),
        ("proba_desc", "proba", True),
    ],
)
def test_sorting(admin, stored, sort, key, reverse):
    ids, probas, _ = stored
    expected = sorted(ids, key=(lambda i: probas[i]) if key == "proba" else None, reverse=reverse)
    assert shown_ids(admin.get("/admin/", query_string={"sort": sort})) == expected


@pytest.mark.parametrize(
    "query, message",
    [
        ({"date_from": "10/03/2026"}, "date"),
        ({"proba_min": "beaucoup"}, "Doit être un nombre, par exemple 12,5."),
        ({"proba_max": "12,5", "proba_min": "12,6"}, "Le maximum est inférieur au minimum."),
        ({"proba_min": "150"}, "Entre 0 et 100 %."),
        ({"date_from": "2026-03-12", "date_to": "2026-03-11"}, "La date de fin précède la date de début."),
        ({"proba_min": "60", "proba_max": "40"}, "Le maximum est inférieur au minimum."),
        ({"source": "fax"}, "Choix"),
        ({"sort": "hasard"}, "Choix"),
    ],
)
def test_bad_filters_get_a_message_not_a_500(admin, query, message):
    response = admin.get("/admin/", query_string=query)
    assert response.status_code == 422
    page = response.get_data(as_text=True).replace(NNBSP, " ")
    assert "Certains filtres sont invalides" in page and message.lower() in page.lower()
    assert admin.get("/admin/export.csv", query_string=query).status_code == 400


def _link(page: str, rel: str) -> str | None:
    found = re.search(rf'href="([^"]*)" rel="{rel}"', page)
    return found[1].replace("&amp;", "&") if found else None


def test_pagination_keeps_the_filters(app, admin, reference_features):
    for record in reference_features[0][:55]:
        store(app, record, source="form")
    store(app, FEATURES, source="api")
    first = admin.get("/admin/", query_string={"source": "form", "sort": "date_asc"})
    page = first.get_data(as_text=True).replace(NNBSP, " ")
    assert len(shown_ids(first)) == 50 and "<strong>55</strong> prédictions" in page and "environ" not in page
    link = _link(page, "next")
    assert "source=form" in link and "sort=date_asc" in link and "apres=" in link and "page=" not in link
    second = admin.get(link)
    assert len(shown_ids(second)) == 5 and max(shown_ids(first)) < min(shown_ids(second))
    back = _link(second.get_data(as_text=True), "prev")
    assert shown_ids(admin.get(back)) == shown_ids(first) and _link(second.get_data(as_text=True), "next") is None
    for token in ("abc", "1_2_3", "nan_4", "2026-13-01T00:00:00_1", "9" * 30):  # a forged key reads as page 1
        assert shown_ids(admin.get("/admin/", query_string={"apres": token})) == shown_ids(admin.get("/admin/"))


def test_totals_beyond_the_exact_limit_are_estimates_labelled_as_such(app, admin, monkeypatch):
    from futurisys.admin import queries

    for _ in range(4):
        store(app, FEATURES, source="form")
    monkeypatch.setattr(queries, "EXACT_COUNT_LIMIT", 3)
    page = admin.get("/admin/").get_data(as_text=True)
    with app.app_context():
        postgres = queries.db.engine.dialect.name == "postgresql"
    # PostgreSQL estimates past the limit (and says so); SQLite, the small embedded default, counts exactly.
    assert ("Environ <strong>" in page) if postgres else ("<strong>4</strong>" in page and "nviron" not in page)


@pytest.mark.parametrize("sort", ["date_desc", "date_asc", "proba_desc", "proba_asc"])
def test_keyset_pages_return_every_row_once_while_rows_are_added(app, admin, reference_features, sort):
    records = reference_features[0]
    before = [store(app, record, source="form") for record in records[:120]]
    seen, link, added = [], f"/admin/?source=form&sort={sort}", []
    while link:
        response = admin.get(link)
        seen += shown_ids(response)
        added += [store(app, records[200 + len(added)], source="form") for _ in range(7)]  # written between pages
        link = _link(response.get_data(as_text=True), "next")
    assert len(seen) == len(set(seen)) and set(before) <= set(seen) <= set(before) | set(added)
    if sort == "date_desc":
        assert sorted(seen) == sorted(before)  # newest first: rows written meanwhile sit before page 1
    if sort == "date_asc":
        assert seen[:120] == before


def test_detail_shows_inputs_traceability_and_drivers(app, admin):
    prediction_id = store(app, FEATURES, raw=RAW, source="form", request_id="req-detail")
    page = admin.get(f"/admin/predictions/{prediction_id}").get_data(as_text=True).replace(NNBSP, " ")
    for text in (
        "req-detail",
        "Formulaire RH",
        "Seuil d'alerte",
        "probabilité exacte",
        "Durée de calcul",
        "Dossier RH saisi",
        "Les 27 champs",
        "Les 30 variables",
        "Années avec le responsable actuel",
        "Principaux facteurs",
        "augmente le risque",
        "Heures supplémentaires",
    ):
        assert text in page, text
    with app.app_context():
        from futurisys.extensions import model_store

        assert model_store.predictor.version in page


def test_detail_says_when_its_model_is_not_loaded(app, admin):
    prediction_id = store(app, FEATURES)
    restamp(app, prediction_id, model_version="fx-retired")
    page = admin.get(f"/admin/predictions/{prediction_id}").get_data(as_text=True).replace(NNBSP, " ")
    assert "(<code>fx-retired</code>)\n    n'est pas chargée" in page and "augmente le risque" not in page
    assert "Dossier RH saisi" not in page  # sent as 30 features: no raw record
    assert admin.get("/admin/predictions/999999").status_code == 404


def test_delete_needs_the_confirmation_then_removes_input_and_prediction(app, admin):
    keep = store(app, FEATURES)
    doomed = store(app, FEATURES, raw=RAW)
    refused = admin.post(f"/admin/predictions/{doomed}/suppression", data={})
    assert refused.status_code == 422 and "Cochez la case pour confirmer" in refused.get_data(as_text=True).replace(
        NNBSP, " "
    )
    assert counts(app) == (2, 2)
    response = admin.post(f"/admin/predictions/{doomed}/suppression", data={"confirm": "y"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/predictions"
    assert "et ses données ont été supprimées" in admin.get("/admin/").get_data(as_text=True).replace(NNBSP, " ")
    assert counts(app) == (1, 1)
    with app.app_context():
        from futurisys.extensions import db

        assert db.session.scalar(sa.select(Prediction.id)) == keep
    assert admin.get(f"/admin/predictions/{doomed}").status_code == 404


def test_deleting_an_input_cascades_to_its_prediction_in_the_database(app, db):
    prediction_id = store(app, FEATURES)
    input_id = db.session.get(Prediction, prediction_id).input_id
    db.session.remove()
    with db.engine.begin() as connection:  # plain SQL: the database itself must cascade (SQLite: PRAGMA)
        connection.execute(sa.text("DELETE FROM inputs WHERE id = :id"), {"id": input_id})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Prediction)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Input)) == 0
