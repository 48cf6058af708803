"""Training on the job engine: the chosen data, the repeated CV (fold k of n on screen), the new version registered,
and its comparison with the active version on the same folds of the same data.

The job's result file holds every row's out-of-fold probability beside the active version's, fold by fold: the
figures of the comparison page can be recomputed from it.
"""

from __future__ import annotations

import csv
import io
import logging
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from flask import current_app

from futurisys.extensions import db
from futurisys.jobs import files
from futurisys.jobs.models import CANCELLED, DONE, FAILED
from futurisys.jobs.runs import JOBS, JobRun, LeaseLost, insert_job, send
from futurisys.ml import compare, fairness
from futurisys.ml.train import TrainingData, TrainSettings, fit_count, train
from futurisys.registry import datasets, versions
from futurisys.registry.models import ACTIVE, TrainingDataset
from futurisys.storage.models import User, utcnow
from futurisys.storage.sqlite_writes import write_turn

log = logging.getLogger(__name__)
PHASE_LABELS = {
    None: "En attente d'un processus de calcul",
    "donnees": "Lecture des données d'entraînement",
    "validation": "Validation croisée",
    "comparaison": "Comparaison avec le modèle actif",
}
OOF_HEADER = ["ligne", "repetition", "bloc", "depart", "proba_nouveau", "proba_actif"]


class NotTrainable(Exception):
    """The chosen data cannot be trained on (too few rows or leavers): the French message says why."""


def source_label(source: str) -> str:
    """A training source as the pages name it."""
    if source == datasets.REFERENCE:
        return "Jeu de référence (IBM, 1 470 salariés)"
    if source == datasets.OUTCOMES:
        return "Issues constatées dans le service"
    dataset = db.session.get(TrainingDataset, int(source.removeprefix("jeu:")))
    return f"Historique « {dataset.name} »" if dataset is not None else "Historique supprimé"


def create_training(sources: list[str], *, user_id: int | None, request_id: str) -> str:
    """Store a training on `sources` and send it to a worker; the job's id."""
    detail = {"sources": sources, "sources_libelles": [source_label(s) for s in sources]}
    with write_turn(current_app), db.engine.begin() as connection:
        job_id = insert_job(connection, "training", user_id=user_id, request_id=request_id, detail=detail)
    send(job_id, "training")
    return job_id


def gather(sources: list[str]) -> TrainingData:
    """The rows of every chosen source, end to end."""
    from futurisys.ml.train import reference_data

    parts = []
    for source in sources:
        if source == datasets.REFERENCE:
            parts.append(reference_data())
        elif source == datasets.OUTCOMES:
            parts.append(datasets.matured_outcomes())
        else:
            dataset = db.session.get(TrainingDataset, int(source.removeprefix("jeu:")))
            if dataset is None:
                raise NotTrainable("Un jeu de données choisi a été supprimé depuis.")
            parts.append(datasets.stored(dataset))
    return datasets.combined(parts)


def check_trainable(data: TrainingData, settings: TrainSettings) -> None:
    """Refuse data a stratified CV cannot split (each fold needs leavers and stayers)."""
    leavers, stayers = data.leavers, len(data.target) - data.leavers
    if min(leavers, stayers) < 2 * settings.cv_splits:
        raise NotTrainable(
            f"Trop peu de données : {len(data.target)} lignes dont {leavers} départs. Il faut au moins "
            f"{2 * settings.cv_splits} départs et {2 * settings.cv_splits} salariés restés."
        )


def seen_share(trained_on: str | None, data: TrainingData) -> float:
    """The share of `data`'s rows the active version was trained on (1 when it was trained on this very data)."""
    from futurisys.ml.data import REFERENCE_MD5
    from futurisys.ml.train import reference_data

    if trained_on in {data.md5, *data.part_md5s}:
        return (
            1.0
            if trained_on == data.md5
            else _share_in(reference_data() if trained_on == REFERENCE_MD5 else None, data)
        )
    if trained_on == REFERENCE_MD5:  # an HR history may hold IBM's sample, or part of it
        return _share_in(reference_data(), data)
    return 0.0


def _share_in(known: TrainingData | None, data: TrainingData) -> float:
    if known is None or not len(data.records):
        return 0.0
    rows = {tuple(sorted(record.items())) for record in known.records}
    return sum(tuple(sorted(record.items())) in rows for record in data.records) / len(data.records)


class TrainingRun(JobRun):
    """One attempt at a training, holding its lease (a retried one starts over: a fit leaves nothing behind)."""

    def run(self) -> str | None:
        """Gather, cross-validate, fit, register, compare; the final status, None when another run holds it."""
        job = self.claim()
        if job is None:
            return None
        detail = dict(job["detail"] or {})
        try:
            if job["cancel_requested"]:
                raise LeaseLost()
            if job["attempts"] > self.config["JOB_MAX_ATTEMPTS"]:
                return self._fail(detail, "L'entraînement a échoué à plusieurs reprises. Relancez-le.")
            return self._train(job, detail)
        except NotTrainable as exc:
            return self._fail(detail, str(exc))
        except LeaseLost:
            if not self.cancelled_here():
                return None
            self._finish(CANCELLED, detail)
            return CANCELLED

    def _fail(self, detail: dict, message: str) -> str:
        self._finish(FAILED, {**detail, "message": message})
        return FAILED

    def _finish(self, status: str, detail: dict) -> None:
        with write_turn(current_app), self.engine.begin() as connection:
            connection.execute(
                JOBS.update()
                .where(JOBS.c.id == self.job_id)
                .values(status=status, phase=None, lease=None, finished_at=utcnow(), detail=detail)
            )

    def _train(self, job: dict, detail: dict) -> str:
        settings = replace(TrainSettings(), cv_repeats=self.config["TRAINING_CV_REPEATS"])
        self.beat_alone(phase="donnees", done=0, total=fit_count(settings))
        data = gather(detail["sources"])
        check_trainable(data, settings)
        detail.update(lignes=len(data.target), departs=data.leavers)
        self.beat_alone(phase="validation", checked=len(data.target), detail=detail)
        fitted = [0]

        def progress() -> None:
            fitted[0] += 1
            self.beat_alone(done=fitted[0])  # LeaseLost here stops the training when it is cancelled

        user = db.session.get(User, job["user_id"]) if job["user_id"] else None
        with tempfile.TemporaryDirectory(prefix="futurisys-training-") as folder:
            # Folds in this process: spawned helper processes would not find the project's package in a worker
            # started outside its folder, and a job has no request waiting on it.
            result = train(Path(folder), settings, progress, workers=1, training=data)
            self.beat_alone(phase="comparaison")
            version, created = versions.register_folder(
                Path(folder),
                source="entrainement",
                detail=" + ".join(detail["sources_libelles"])[:255],
                username=user.username if user else None,
                job_id=self.job_id,
            )
        detail.update(version_id=version.id, version=version.version, nouvelle=created)
        detail["comparaison"] = self._compare(data, result, version)
        self.beat_alone(
            status=DONE, phase=None, done=fit_count(settings), finished_at=utcnow(), lease=None, detail=detail
        )
        return DONE

    def _compare(self, data: TrainingData, result, version) -> dict:
        """The new version and the active one on the same folds, and both on the matured outcomes."""
        from futurisys.registry.versions import load_version

        groups = fairness.groups_of(data.records)
        target = data.target
        new = compare.figures(target, result.tests, result.out_of_fold, result.metadata["threshold"], groups)
        out = {
            "nouveau": {**new, "version_id": version.id, "version": version.version},
            "lignes": len(target),
            "departs": data.leavers,
            "blocs": len(result.tests) // result.out_of_fold.shape[0],
            "repetitions": int(result.out_of_fold.shape[0]),
        }
        active_row = versions.alias_target(ACTIVE)
        active_proba = None
        if active_row is not None:
            active, _ = load_version(current_app, active_row.id)
            active_proba = np.array([score.proba for score in active.predict_many(data.records)])
            repeated = np.tile(active_proba, (result.out_of_fold.shape[0], 1))
            figures = compare.figures(target, result.tests, repeated, active.threshold, groups)
            out["actif"] = {
                **figures,
                "version_id": active_row.id,
                "version": active_row.version,
                # A fitted model scored on rows it was trained on: its figures are in-sample, better than fair.
                "part_vue": seen_share(active_row.bundle_metadata.get("training_data_md5"), data),
            }
        out["issues"] = self._realised(version, active_row)
        self._write_out_of_fold(result, target, active_proba)
        return out

    def _realised(self, version, active_row) -> dict | None:
        """Both versions on the matured outcomes recorded in the service (None when there are none yet)."""
        from futurisys.outcomes.metrics import brier, roc_auc
        from futurisys.registry.versions import load_version

        matured = datasets.matured_outcomes()
        if not len(matured.target) or matured.leavers in (0, len(matured.target)):
            return None
        shown = {"lignes": len(matured.target), "departs": matured.leavers}
        for key, row in (("nouveau", version), ("actif", active_row)):
            if row is None:
                continue
            predictor, _ = load_version(current_app, row.id)
            proba = np.array([score.proba for score in predictor.predict_many(matured.records)])
            shown[key] = {
                "roc_auc": round(roc_auc(matured.target, proba).value, 4),
                "brier": round(brier(matured.target, proba).value, 4),
            }
        return shown

    def _write_out_of_fold(self, result, target, active_proba) -> None:
        """The result file: each row's out-of-fold probability (and the active version's), per repeat and fold."""
        splits = len(result.tests) // result.out_of_fold.shape[0]
        text = io.StringIO()
        writer = csv.writer(text, delimiter=";")
        writer.writerow(OOF_HEADER)
        for number, test in enumerate(result.tests):
            repeat = number // splits
            for row in test:
                active = "" if active_proba is None else f"{active_proba[row]:.10f}"
                writer.writerow(
                    [
                        row + 2,
                        repeat + 1,
                        number % splits + 1,
                        int(target[row]),
                        f"{result.out_of_fold[repeat, row]:.10f}",
                        active,
                    ]
                )
        with write_turn(current_app), self.engine.begin() as connection:
            files.delete_files(connection, self.job_id)
            files.write_stream(connection, self.job_id, "result", io.BytesIO(text.getvalue().encode()))


def run_training(job_id: str) -> str | None:
    """The task's body: run the training (the worker calls it; tests may call it in-process)."""
    return TrainingRun(job_id).run()
