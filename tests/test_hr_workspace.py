"""The HR workspace: sign-in on every HR page, evaluations readable by their author and admins, « Mes évaluations »."""

import re
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from futurisys.extensions import model_store
from futurisys.ml.features import derive_features
from futurisys.storage.models import Input, User, utcnow
from futurisys.storage.predictions import Author, predict_and_store
from tests.payloads import RAW, employee
from tests.support import counts, evaluate, form_data, login, make_user, scalar

HR_PAGES = ("/", "/lot", "/evaluations", "/lot/modele.csv", "/evaluations/abc")


@pytest.mark.parametrize("path", HR_PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, db, path):
    response = client.get(path, headers={"Accept": "text/html"})
    target = urlsplit(response.headers["Location"])
    assert response.status_code == 302 and target.path == "/connexion"
    assert parse_qs(target.query) == {"next": [path]}


def test_anonymous_posts_store_and_read_nothing(app, hr_client):
    location = evaluate(hr_client)
    stored_id = scalar(app, sa.select(Input.id))
    anonymous = app.test_client()
    for path, data in (
        ("/", form_data(RAW)),
        (location + "/simulation", form_data(RAW)),
        ("/simulation", {"parent_input_id": str(stored_id)}),
        ("/lot", {}),
    ):
        response = anonymous.post(path, data=data, headers={"Accept": "text/html"})
        assert response.status_code in (302, 404), path
        body = response.get_data(as_text=True)
        assert "5993" not in body and "Célibataire" not in body
    assert anonymous.get(location).status_code == 302
    assert counts(app) == (1, 1)


def test_another_hr_account_gets_404_and_an_admin_sees_it(app, hr_client):
    location = evaluate(hr_client)
    make_user(app, "rh2", "hr")
    other = app.test_client()
    assert login(other, "rh2").status_code == 302
    assert other.get(location).status_code == 404
    assert other.post(location + "/simulation", data=form_data(RAW)).status_code == 404
    assert counts(app) == (1, 1)
    assert "Aucune évaluation" in other.get("/evaluations").get_data(as_text=True)
    make_user(app, "chef", "admin")
    admin = app.test_client()
    login(admin, "chef")
    assert admin.get(location).status_code == 200
    listing = admin.get("/evaluations").get_data(as_text=True)
    assert "Toutes les évaluations" in listing and ">rh<" in listing


def test_evaluation_ids_are_unguessable(hr_client, db):
    for n in range(3):
        evaluate(hr_client, employee((1, 2, 4)[n]))
    ids = db.session.scalars(sa.select(Input.public_id)).all()
    assert len(set(ids)) == 3 and all(len(i) == 22 and not i.isdigit() for i in ids)
    assert hr_client.get("/evaluations/1").status_code == 404


def test_my_evaluations_lists_filters_and_pages(app, hr_client, db):
    evaluate(hr_client, RAW, reference_salarie="MAT-1")
    location = evaluate(hr_client, employee(4), reference_salarie="MAT-2")
    hr_client.post(location + "/simulation", data={**form_data(employee(4)), "heure_supplementaires": "false"})
    html = hr_client.get("/evaluations").get_data(as_text=True)
    assert "Mes évaluations" in html and "3 évaluations" in html
    rows = re.findall(r'<tr data-testid="evaluation-row">(.*?)</tr>', html, re.S)
    assert len(rows) == 3
    assert "Simulation" in rows[0] and "MAT-2" in rows[0]  # newest first
    assert "MAT-1" in rows[2] and "Formulaire RH" in rows[2] and "\u00a0%" in rows[2]
    only = hr_client.get("/evaluations", query_string={"reference": "MAT-1"}).get_data(as_text=True)
    assert only.count('data-testid="evaluation-row"') == 1 and "MAT-1" in only
    # Dates are Paris days: an evaluation moved to last week drops out of "from today".
    with app.app_context():
        first = db.session.scalar(sa.select(Input).where(Input.employee_ref == "MAT-1"))
        first.created_at = first.prediction.created_at = utcnow() - timedelta(days=8)
        db.session.commit()
    today = utcnow().date().isoformat()
    recent = hr_client.get("/evaluations", query_string={"date_from": today}).get_data(as_text=True)
    assert recent.count('data-testid="evaluation-row"') == 2


@pytest.mark.parametrize(
    "args",
    [
        {"date_from": "0001-01-01"},
        {"date_to": "9999-12-31"},
        {"date_from": "2026-02-30"},
        {"date_from": "2026-05-02", "date_to": "2026-05-01"},
        {"reference": "x" * 40},
    ],
)
def test_bad_filters_are_a_form_error_not_a_crash(hr_client, args):
    response = hr_client.get("/evaluations", query_string=args)
    assert response.status_code == 422 and "Certains filtres sont invalides" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "key", ["999999999999999999999", "-3", "abc", "0_x", "2026-01-01T00:00:00_99999999999999999999"]
)
def test_any_page_key_answers(hr_client, key):
    evaluate(hr_client)
    for name in ("apres", "avant", "page"):
        response = hr_client.get("/evaluations", query_string={name: key})
        assert (
            response.status_code == 200 and response.get_data(as_text=True).count('data-testid="evaluation-row"') == 1
        )


def test_fifty_per_page(app, hr_client, db):
    user_id = db.session.scalar(sa.select(User.id).where(User.username == "rh"))
    with app.test_request_context():
        for n in range(51):
            predict_and_store(
                model_store.predictor,
                derive_features(RAW),
                RAW,
                source="form",
                request_id="r",
                started=time.perf_counter(),
                author=Author(user_id, f"M{n}"),
            )
    first = hr_client.get("/evaluations").get_data(as_text=True)
    assert first.count('data-testid="evaluation-row"') == 50 and "51 évaluations" in first
    link = re.search(r'href="([^"]*)" rel="next"', first)[1].replace("&amp;", "&")
    second = hr_client.get(link).get_data(as_text=True)
    assert second.count('data-testid="evaluation-row"') == 1 and ">M0<" in second  # the oldest comes last
    assert 'rel="next"' not in second and "Plus récentes" in second


def test_no_aria_attribute_renders_as_none(hr_client):
    for page in (hr_client.get("/"), hr_client.get("/evaluations"), hr_client.get("/evaluations?date_from=x")):
        assert '="None"' not in page.get_data(as_text=True)


@pytest.mark.parametrize("prefix", ["", "/rh"])
def test_the_menu_marks_the_current_page_even_under_a_url_prefix(hr_client, prefix):
    for path in ("/", "/lot", "/evaluations"):
        page = hr_client.get(path, base_url=f"http://localhost{prefix}").get_data(as_text=True)
        assert re.findall(r'<a href="([^"]+)" aria-current="page">', page) == [prefix + path], path
