"""Training from « Modèles »: on the job engine (in-process and by a real worker, progress seen), the new version
registered, and its comparison with the active version checked against scikit-learn on the same folds."""

from __future__ import annotations

import csv
import io
import re
import time
from collections import defaultdict

import numpy as np
import pytest
import sqlalchemy as sa
from sklearn.metrics import average_precision_score, brier_score_loss, recall_score, roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold

from futurisys.extensions import db
from futurisys.jobs.models import Job
from futurisys.registry.datasets import stored
from futurisys.registry.models import ModelVersion, TrainingDataset
from futurisys.registry.training import run_training
from tests.support import JOBS_REDIS_URL, logged_in, make_app, worker
from tests.test_registry import IDS, history_csv, installed, text, upload

WAIT = 120  # seconds a real worker gets for a training of 11 fits on 300 rows


def start(client, *sources: str) -> str:
    answer = client.post("/admin/modeles/entrainements", data={"sources": list(sources)})
    assert answer.status_code == 303, text(answer)[:3000]
    return re.fullmatch(r"/admin/modeles/entrainements/([\w-]+)", answer.headers["Location"]).group(1)


def dataset_source(app) -> str:
    with app.app_context():
        return f"jeu:{db.session.scalar(sa.select(TrainingDataset.id))}"


def out_of_fold(client, job_id: str) -> list[dict]:
    answer = client.get(f"/admin/modeles/entrainements/{job_id}/hors-echantillon.csv")
    assert answer.status_code == 200
    return list(csv.DictReader(io.StringIO(answer.get_data(as_text=True)), delimiter=";"))


def fold_means(rows: list[dict], column: str, threshold: float) -> dict[str, float]:
    """Each figure recomputed by scikit-learn fold by fold from the result file, then averaged."""
    folds = defaultdict(list)
    for row in rows:
        folds[(row["repetition"], row["bloc"])].append((int(row["depart"]), float(row[column])))
    figures = defaultdict(list)
    for pairs in folds.values():
        truth, proba = np.array([t for t, _ in pairs]), np.array([p for _, p in pairs])
        figures["roc_auc"].append(roc_auc_score(truth, proba))
        figures["pr_auc"].append(average_precision_score(truth, proba))
        figures["brier"].append(brier_score_loss(truth, proba))
        figures["recall"].append(recall_score(truth, proba >= threshold, zero_division=0))
    return {name: round(float(np.mean(values)), 4) for name, values in figures.items()}


def test_a_training_compares_the_new_version_with_the_active_one_on_the_same_folds(app, client, bundle_dir):
    app.config["TRAINING_CV_REPEATS"] = 1
    active = installed(app, bundle_dir)
    logged_in(app, client, "admin")
    assert upload(client, history_csv(IDS[:300])).status_code == 303
    job_id = start(client, dataset_source(app))
    waiting = text(client.get(f"/admin/modeles/entrainements/{job_id}"))
    assert "En attente" in waiting  # nothing trained inside the request
    with app.app_context():
        assert run_training(job_id) == "termine"
        job = db.session.get(Job, job_id)
        comparison, version = job.detail["comparaison"], db.session.get(ModelVersion, job.detail["version_id"])
        assert (version.source, version.training_job_id, version.created_by) == ("entrainement", job_id, "admin")
        assert job.done == job.total == 11  # both variants on 5 folds, then the final fit
        data = stored(db.session.scalar(sa.select(TrainingDataset)))
    assert comparison["actif"]["version_id"] == active.id and comparison["lignes"] == 300
    assert comparison["actif"]["part_vue"] == 1.0  # these 300 employees are in the reference the active one saw
    rows = out_of_fold(client, job_id)
    assert len(rows) == 300
    # The same folds as scikit-learn's own split of these rows with the documented seed.
    folds = RepeatedStratifiedKFold(n_splits=5, n_repeats=1, random_state=42).split(np.zeros(300), data.target)
    expected = {(str(number + 1), int(line)) for number, (_, test) in enumerate(folds) for line in test}
    assert {(row["bloc"], int(row["ligne"]) - 2) for row in rows} == expected
    new, old = comparison["nouveau"], comparison["actif"]
    for side, column in ((new, "proba_nouveau"), (old, "proba_actif")):
        recomputed = fold_means(rows, column, side["threshold"])
        assert {name: side[name] for name in recomputed} == pytest.approx(recomputed, abs=1e-4)
    # The active version's probabilities are the served model's on these employees.
    with app.app_context():
        from futurisys.extensions import model_store

        served = [score.proba for score in model_store.predictor.predict_many(data.records[:5])]
    by_line = {int(row["ligne"]) - 2: float(row["proba_actif"]) for row in rows}
    assert [by_line[i] for i in range(5)] == pytest.approx(served, abs=1e-9)
    page = " ".join(text(client.get(f"/admin/modeles/entrainements/{job_id}")).split())
    assert "Comparaison sur les mêmes blocs des mêmes données" in page
    shown = re.search(r'data-figure="nouveau-roc_auc">([\d,]+)<', page).group(1)
    assert float(shown.replace(",", ".")) == new["roc_auc"]
    assert "Le modèle actif a été entraîné sur 100 % de ces lignes" in page
    assert "300 lignes dont" in page and "validation croisée stratifiée 5 blocs × 1 répétition" in page


def test_a_training_on_too_few_leavers_fails_with_a_message(app, client, bundle_dir):
    installed(app, bundle_dir)
    logged_in(app, client, "admin")
    assert upload(client, history_csv(IDS[:12])).status_code == 303
    job_id = start(client, dataset_source(app))
    with app.app_context():
        assert run_training(job_id) == "echoue"
    assert "Trop peu de données : 12 lignes dont" in text(client.get(f"/admin/modeles/entrainements/{job_id}"))
    refused = client.post("/admin/modeles/entrainements", data={})
    assert refused.status_code == 422 and "Choisissez au moins une source de données." in text(refused)
    unknown = client.post("/admin/modeles/entrainements", data={"sources": ["jeu:999"]})
    assert unknown.status_code == 422


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_real_worker_trains_with_its_progress_on_screen(database_url, bundle_dir, tmp_path, app):
    import redis

    broker = redis.Redis.from_url(JOBS_REDIS_URL)
    broker.flushdb()
    redis_app = make_app(database_url, bundle_dir, CELERY_BROKER_URL=JOBS_REDIS_URL)
    try:
        installed(redis_app, bundle_dir)
        client = logged_in(redis_app, redis_app.test_client(), "admin")
        assert upload(client, history_csv(IDS[:300])).status_code == 303
        job_id = start(client, dataset_source(redis_app))
        seen = set()
        with worker(database_url, bundle_dir, tmp_path, JOBS_REDIS_URL, TRAINING_CV_REPEATS=1):
            deadline = time.monotonic() + WAIT
            while True:
                state = client.get(f"/admin/modeles/entrainements/{job_id}/etat.json").get_json()
                seen.add((state["phase_libelle"], state["lignes_evaluees"], state["a_evaluer"]))
                if state["termine"]:
                    break
                assert time.monotonic() < deadline, f"training not finished in {WAIT} s: {state}"
                time.sleep(0.05)  # polling interval of the page's own status, not a wait on timing
        assert state["statut"] == "termine", state
        steps = {(label, done) for label, done, total in seen if total == 11 and 0 < done < 11}
        assert steps, seen  # the bar moved: some fits done, others not yet
        assert any(label.startswith("Validation croisée : ajustement ") and " sur 11" in label for label, _ in steps)
        page = text(client.get(f"/admin/modeles/entrainements/{job_id}"))
        assert "Promouvoir cette version" in page
    finally:
        broker.flushdb()
        broker.close()
        with redis_app.app_context():
            for engine in db.engines.values():
                engine.dispose()
