"""The registry with the service's own outcomes: a training on a history and the matured outcomes, both versions
scored on what happened, the challenger's agreement and which of the two was right; the edges of trainings and
promotions (cancelled, given up, unknown, refused)."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa

from futurisys.extensions import db
from futurisys.jobs.models import Job
from futurisys.ml.predictor import BundleError
from futurisys.registry import versions
from futurisys.registry.models import ACTIVE, CHALLENGER
from futurisys.registry.training import run_training
from futurisys.storage.models import Prediction, utcnow
from tests.outcome_rows import VOLUNTARY, add_departures, add_predictions
from tests.support import make_app
from tests.test_registry import IDS, history_csv, installed, logged_in, register, text, upload, variant_bundle
from tests.test_registry_training import dataset_source, start

EMPLOYEES = 40
LEAVERS = 10


def matured_outcomes(app) -> None:
    """40 evaluations of 40 employees 400 days ago, 10 of whom left voluntarily a month later; each also scored
    by a challenger in the shadow."""
    asked = utcnow() - timedelta(days=400)
    with app.app_context():
        ids = add_predictions(
            [
                {"created_at": asked, "employee_ref": f"MAT-{i:04d}", "proba": 0.1 + i / 100, "threshold": 0.18}
                for i in range(EMPLOYEES)
            ]
        )
        add_departures(
            [(f"MAT-{i:04d}", (asked + timedelta(days=30)).date(), next(iter(VOLUNTARY))) for i in range(LEAVERS)]
        )
        db.session.execute(
            sa.update(Prediction)
            .where(Prediction.id.in_(ids))
            .values(challenger_proba=Prediction.prediction_proba + 0.05, challenger_version="fx-ombre")
        )
        db.session.commit()


def test_a_training_on_a_history_and_the_matured_outcomes_scores_both_versions_on_them(app, client, bundle_dir):
    app.config["TRAINING_CV_REPEATS"] = 1
    installed(app, bundle_dir)
    matured_outcomes(app)
    logged_in(app, client, "admin")
    assert upload(client, history_csv(IDS[:100])).status_code == 303
    page = text(client.get("/admin/modeles/"))
    assert f"Issues constatées dans le service : {EMPLOYEES} lignes dont {LEAVERS} départs" in page
    job_id = start(client, dataset_source(app), "issues")
    with app.app_context():
        assert run_training(job_id) == "termine"
        job = db.session.get(Job, job_id)
        realised, version_id = job.detail["comparaison"]["issues"], job.detail["version_id"]
    assert (realised["lignes"], realised["departs"]) == (EMPLOYEES, LEAVERS)
    assert set(realised) >= {"nouveau", "actif"} and 0 <= realised["actif"]["brier"] <= 1
    shown = " ".join(text(client.get(f"/admin/modeles/entrainements/{job_id}")).split())
    assert f"{EMPLOYEES} salariés dont {LEAVERS} départs constatés" in shown
    assert "La nouvelle version a été entraînée sur ces issues" in shown
    version_page = text(client.get(f"/admin/modeles/versions/{version_id}"))  # warnings read from the comparison
    assert "Promouvoir" in version_page
    agreement = " ".join(text(client.get("/admin/modeles/challenger/accord")).split())
    assert f"Sur les {EMPLOYEES} dernières prédictions calculées aussi par le challenger" in agreement
    assert f"{EMPLOYEES} issues constatées, dont {LEAVERS} départs" in agreement
    assert "Score de Brier du challenger" in agreement


def test_a_waiting_training_is_cancelled_and_one_failing_every_time_is_given_up(app, client, bundle_dir):
    installed(app, bundle_dir)
    logged_in(app, client, "admin")
    cancelled = start(client, "reference")
    assert client.post(f"/admin/modeles/entrainements/{cancelled}/annuler").status_code == 303
    with app.app_context():
        assert run_training(cancelled) is None  # nothing to claim: it stopped before a worker took it
        assert db.session.get(Job, cancelled).status == "annule"
    assert "aucune version n'a été créée" in text(client.get(f"/admin/modeles/entrainements/{cancelled}"))
    failing = start(client, "reference")
    with app.app_context():
        db.session.execute(sa.update(Job).where(Job.id == failing).values(attempts=app.config["JOB_MAX_ATTEMPTS"]))
        db.session.commit()
        assert run_training(failing) == "echoue"
    assert "échoué à plusieurs reprises" in text(client.get(f"/admin/modeles/entrainements/{failing}"))
    assert client.get(f"/admin/modeles/entrainements/{failing}/hors-echantillon.csv").status_code == 404
    assert client.get("/admin/modeles/entrainements/inconnu").status_code == 404
    assert client.get("/admin/modeles/versions/999999").status_code == 404
    status = client.get(f"/admin/modeles/entrainements/{failing}/etat.json").get_json()
    assert status["termine"] and status["statut"] == "echoue"


def test_promotions_refused_as_they_should_be(app, client, bundle_dir, tmp_path):
    first = installed(app, bundle_dir)
    challenger = register(app, variant_bundle(bundle_dir, tmp_path / "c", "fx-ombre-2"))
    logged_in(app, client, "admin")
    with app.app_context():
        with pytest.raises(versions.PromotionRefused, match="ne peut pas être retiré"):
            versions.promote(ACTIVE, None, reason="essai", username="admin")
        with pytest.raises(versions.PromotionRefused, match="Version inconnue"):
            versions.promote(ACTIVE, 999999, reason="essai", username="admin")
        versions.promote(CHALLENGER, challenger, reason="essai", username="admin")
    no_reason = client.post("/admin/modeles/challenger/retirer", data={"reason": ""}, follow_redirects=True)
    assert "Indiquez la raison du retrait du challenger." in text(no_reason)
    with app.app_context():
        assert versions.alias_target(CHALLENGER).id == challenger
        assert versions.alias_target(ACTIVE).id == first.id


def test_worse_figures_of_every_kind_are_warned():
    active = {"roc_auc": 0.85, "pr_auc": 0.6, "brier": 0.1, "ece": 0.02, "flag_ratios": {"genre": {"F": 1, "M": 0.9}}}
    worse = {"roc_auc": 0.8, "pr_auc": 0.5, "brier": 0.2, "ece": 0.05, "flag_ratios": {"genre": {"F": 1, "M": 0.7}}}
    found = versions.warnings_between(worse, active)
    assert len(found) == 5 and "score de Brier plus élevé : 0,2000 contre 0,1000." in found
    assert found[-1].startswith("Équité : le groupe « M » (genre)")
    assert versions.warnings_between(active, active) == []


def test_a_bundle_that_cannot_be_served_is_never_registered(database_url, tmp_path):
    broken = tmp_path / "vide"
    broken.mkdir()
    app = make_app(database_url, broken)
    with app.app_context():
        assert versions.register_configured(app) is None
        with pytest.raises(BundleError):
            versions.register_folder(broken, source="installation")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../metadata.json", "{}")
    content = buffer.getvalue()
    with pytest.raises(BundleError, match="unexpected file"):
        versions.unpack(content, versions.digest(content), tmp_path / "cache")
