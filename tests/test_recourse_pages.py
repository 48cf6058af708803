"""« Que faire ? » in the product: on every evaluation page (each proposal tried in one click gives the risk shown),
in /predict?recommendations=N, and the admins' lever catalogue (protected attributes and context refused)."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from futurisys.domain.formatting import NNBSP, percent
from futurisys.ml.recourse import LEVERS
from futurisys.storage.models import Input
from tests.payloads import FEATURES, RAW
from tests.support import evaluate, logged_in


def text(response) -> str:
    return response.get_data(as_text=True).replace(NNBSP, " ")


def try_forms(html: str) -> list[dict]:
    """The hidden fields of each « Simuler ce changement » form on a page."""
    forms = re.findall(r'<form class="recourse__try"[^>]*>(.*?)</form>', html, re.S)
    fields = (re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form) for form in forms)
    return [{name: unescape(value) for name, value in found} for found in fields]


def test_every_evaluation_page_says_what_would_lower_the_risk_and_tries_it_in_one_click(app, client, db):
    logged_in(app, client, "hr")
    page = text(client.get(evaluate(client)))
    assert "Que faire ?" in page and "pas un effet garanti" in page and "→" in page
    shown = re.findall(r'<span class="recourse__phrase">([^<]+)</span> :\s*<strong>([^<]+) → ([^<]+)</strong>', page)
    forms = try_forms(page)
    assert shown and len(forms) == len(shown)
    origin = db.session.scalars(sa.select(Input)).one()
    for (_phrase, before, after), fields in zip(shown, forms, strict=True):
        assert before == percent(origin.prediction.prediction_proba)
        answer = client.post(f"/evaluations/{origin.public_id}/simulation", data=fields)
        assert answer.status_code == 303
        tried = db.session.scalars(sa.select(Input).order_by(Input.id.desc())).first()
        assert percent(tried.prediction.prediction_proba) == after  # the served model gives the risk shown
        changed = {name for name in RAW if tried.raw_record[name] != origin.raw_record[name]}
        assert changed and changed <= set(LEVERS)  # never a non-lever
        db.session.rollback()


def test_predict_returns_the_same_recommendations_for_integrators(client):
    answer = client.post("/predict?recommendations=3", json=RAW).get_json()
    assert set(answer) == {"Prediction", "Probabilite_depart", "Recommandations"}
    found = answer["Recommandations"]
    assert len(found["changements_simples"]) <= 3 and "pas un effet garanti" in found["avertissement"]
    for proposal in found["changements_simples"] + [p for p in (found["combinaison"],) if p]:
        changed = dict(RAW)
        for change in proposal["changements"]:
            assert change["levier"] in LEVERS and RAW[change["levier"]] == change["avant"]
            changed[change["levier"]] = change["apres"]
        rescored = client.post("/predict", json=changed).get_json()["Probabilite_depart"]
        assert rescored == pytest.approx(proposal["Probabilite_depart"], abs=1e-4)
    assert "Recommandations" not in client.post("/predict", json=FEATURES).get_json()  # the original contract
    assert client.post("/predict?recommendations=1", json=FEATURES).get_json()["Recommandations"]
    for bad in ("6", "-1", "trois"):
        refused = client.post(f"/predict?recommendations={bad}", json=RAW)
        assert refused.status_code == 400 and "recommendations" in refused.get_json()["error"]


def test_the_lever_catalogue_governs_the_proposals(app, client):
    logged_in(app, client, "admin")
    page = text(client.get("/admin/leviers/"))
    assert "Catalogue des leviers" in page and "jamais des leviers" in page
    before = client.post("/predict?recommendations=5", json=RAW).get_json()["Recommandations"]
    levers = {c["levier"] for p in before["changements_simples"] for c in p["changements"]}
    assert levers, before
    lever = sorted(levers)[0]
    saved = client.post(
        f"/admin/leviers/{lever}",
        data={f"{lever}-direction": "deux", f"{lever}-max_change": "1", f"{lever}-step": "1", f"{lever}-cost": "2"},
    )  # « Peut être proposé » unticked
    assert saved.status_code == 303
    after = client.post("/predict?recommendations=5", json=RAW).get_json()["Recommandations"]
    assert lever not in {c["levier"] for p in after["changements_simples"] for c in p["changements"]}
    with app.app_context():
        from futurisys.compliance.models import JournalEntry
        from futurisys.extensions import db

        assert db.session.scalars(sa.select(JournalEntry).where(JournalEntry.action == "parametres")).all()


@pytest.mark.parametrize(
    ("lever", "data", "message"),
    [
        ("genre", {}, "attribut protégé"),
        ("age", {}, "attribut protégé"),
        ("annee_experience_totale", {}, "donnée de contexte"),
        ("nb_formations_suivies", {"cost": "9"}, "Entre 1 et 5."),
        ("nb_formations_suivies", {"step": "5", "max_change": "2"}, "Le pas doit être positif"),
    ],
)
def test_the_catalogue_refuses_what_cannot_be_a_lever(app, client, lever, data, message):
    logged_in(app, client, "admin")
    fields = {"enabled": "y", "direction": "hausse", "max_change": "2", "step": "1", "cost": "2", **data}
    response = client.post(f"/admin/leviers/{lever}", data={f"{lever}-{k}": v for k, v in fields.items()})
    assert response.status_code == 422 and message in text(response)


def test_the_catalogue_is_for_admins_only(app, client):
    logged_in(app, client, "hr")
    assert client.get("/admin/leviers/").status_code == 403
    assert client.post("/admin/leviers/nb_formations_suivies", data={}).status_code == 403


def test_a_proposal_marked_action_engagee_is_stored_shown_journaled_and_erased_with_the_employee(app, client, db):
    logged_in(app, client, "hr")
    path = evaluate(client, reference_salarie="MAT-0042")
    answer = client.post(f"{path}/actions", data={"proposition": "seul-1"})
    assert answer.status_code == 303
    page = text(client.get(path))
    assert "Actions engagées" in page and "Action engagée enregistrée." in page
    assert "Action engagée" in text(client.get("/evaluations"))
    assert db.session.scalar(sa.text("SELECT count(*) FROM engaged_actions")) == 1
    assert db.session.scalar(sa.text("SELECT count(*) FROM access_journal WHERE action = 'action_engagee'")) == 1
    stale = client.post(f"{path}/actions", data={"proposition": "seul-9"})
    assert stale.status_code == 303 and "rechargez-la" in text(client.get(path))
    db.session.rollback()
    client.post("/deconnexion")
    logged_in(app, client, "admin")
    file = client.post("/admin/conformite/salarie/dossier.json", data={"reference": "MAT-0042"}).get_json()
    assert len(file["tables"]["engaged_actions"]) == 1  # the employee's file holds it
    erased = client.post("/admin/conformite/salarie/effacement", data={"reference": "MAT-0042", "confirm": "y"})
    assert erased.status_code == 303
    assert db.session.scalar(sa.text("SELECT count(*) FROM engaged_actions")) == 0


def test_an_evaluation_scored_by_another_model_version_asks_for_a_new_one(app, client, db):
    logged_in(app, client, "hr")
    path = evaluate(client)
    db.session.execute(sa.text("UPDATE predictions SET model_version = 'fx-ancienne'"))
    db.session.commit()
    page = text(client.get(path))
    assert "autre version du modèle (fx-ancienne)" in page and "Simuler ce changement" not in page
