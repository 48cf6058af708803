"""« Modèles » (admins only): versions, aliases and their history, training datasets, trainings and promotions."""

from __future__ import annotations

import time

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, flash, g, jsonify, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from futurisys.admin.forms import FrenchMeta
from futurisys.admin.insights import ATTRIBUTE_LABELS, GROUP_LABELS
from futurisys.auth.access import refuse_unless_role
from futurisys.domain.csv_io import MAX_LINES_SHOWN, CsvProblem
from futurisys.extensions import db, model_store
from futurisys.jobs import files, lots
from futurisys.jobs.models import RUNNING, STATUS_LABELS, WAITING, Job, bar_state
from futurisys.outcomes.clock import as_utc
from futurisys.outcomes.performance import refresh_later
from futurisys.registry import datasets, training, versions
from futurisys.registry.models import ACTIVE, ALIASES, CHALLENGER, SOURCES, AliasEvent, ModelVersion
from futurisys.storage.models import utcnow

bp = Blueprint("models", __name__, url_prefix="/admin/modeles")
TRAININGS_SHOWN = 10
VERSIONS_SHOWN = 50
ALIAS_LABELS = {ACTIVE: "actif (servi)", CHALLENGER: "challenger (dans l'ombre)"}


@bp.before_request
def _admins_only():
    return refuse_unless_role("admin")


class DatasetForm(FlaskForm):
    """A labelled HR history to keep for training."""

    class Meta(FrenchMeta):
        pass

    name = StringField(
        "Nom du jeu de données",
        [InputRequired("Donnez un nom à ce jeu de données."), Length(max=100, message="100 caractères au plus.")],
        description="Par exemple « Historique RH 2020-2025 ».",
    )
    fichier = FileField(
        "Fichier CSV (colonnes d'un lot et a_quitte_l_entreprise)",
        validators=[
            FileRequired("Choisissez un fichier CSV."),
            FileAllowed(["csv", "txt"], "Le fichier doit être un fichier CSV (.csv)."),
        ],
        description="Les colonnes de l'export RH (comme pour un lot) et la colonne a_quitte_l_entreprise, « Oui » "
        "ou « Non ». UTF-8, Windows-1252 ou Latin-1 ; séparateur « ; » ou « , ». Une seule ligne en erreur et rien "
        "n'est gardé.",
    )


class TrainingForm(FlaskForm):
    """Which data a new version is trained on."""

    class Meta(FrenchMeta):
        pass

    sources = SelectMultipleField(
        "Données d'entraînement",
        [DataRequired("Choisissez au moins une source de données.")],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class PromotionForm(FlaskForm):
    """Move an alias to a version, with the reason kept in the history."""

    class Meta(FrenchMeta):
        pass

    alias = SelectField("Alias", choices=[SelectChoice(alias, ALIAS_LABELS[alias]) for alias in ALIASES])
    reason = TextAreaField(
        "Raison du changement",
        [InputRequired("Indiquez la raison de ce changement."), Length(max=2000, message="2 000 caractères au plus.")],
        description="Gardée dans l'historique des modèles, avec votre nom et l'heure.",
    )
    expected_from = HiddenField()
    confirm = BooleanField("Je confirme")


def _source_choices(sources: dict) -> list[SelectChoice]:
    return [SelectChoice(key, row["libelle"]) for key, row in sources.items()]


#: After a count over the page's budget, pages of this process leave the count to the job engine for this long.
COUNT_RETRY_S = 600


def known_counts() -> datasets.KnownCounts | None:
    """The known outcomes' count: kept today, else counted within the page's budget, else the last one kept (the
    job engine is asked to count them); None when never counted."""
    gave_up = current_app.extensions.setdefault("registry_count_gave_up_at", [None])
    kept = datasets.stored_known_counts()
    if kept is not None and as_utc(kept.counted_at).date() == utcnow().date():
        return kept
    if gave_up[0] is None or time.monotonic() - gave_up[0] > COUNT_RETRY_S:
        counted = datasets.refresh_known_counts(budget_s=float(current_app.config["OUTCOMES_PAGE_BUDGET"]))
        if counted is not None:
            return counted
        gave_up[0] = time.monotonic()
    refresh_later()
    return kept


def training_sources() -> dict[str, dict]:
    """Each source a training may use, with how many rows and leavers it brings."""
    from futurisys.ml.train import reference_data

    reference = reference_data()
    sources = {
        datasets.REFERENCE: {
            "libelle": training.source_label(datasets.REFERENCE),
            "lignes": len(reference.target),
            "departs": reference.leavers,
        }
    }
    known = known_counts()
    sources[datasets.OUTCOMES] = {
        "libelle": training.source_label(datasets.OUTCOMES),
        "lignes": known.employees if known else None,
        "departs": known.leavers if known else None,
        "compte_le": known.counted_at if known else None,
    }
    for dataset in datasets.datasets():
        sources[f"jeu:{dataset.id}"] = {
            "libelle": f"Historique « {dataset.name} »",
            "lignes": dataset.rows,
            "departs": dataset.leavers,
        }
    return sources


def _page(dataset_form=None, training_form=None, status: int = 200, **extra):
    sources = training_sources()
    training_form = training_form or TrainingForm(formdata=None, data={"sources": [datasets.REFERENCE]})
    training_form.sources.choices = _source_choices(sources)
    aliases = {alias: versions.alias_target(alias) for alias in ALIASES}
    shown = db.session.scalars(
        sa.select(ModelVersion)
        .options(sa.orm.defer(ModelVersion.bundle))
        .order_by(ModelVersion.id.desc())
        .limit(VERSIONS_SHOWN)
    ).all()
    events = versions.history()
    trainings = db.session.scalars(
        sa.select(Job).where(Job.kind == "training").order_by(Job.created_at.desc()).limit(TRAININGS_SHOWN)
    ).all()
    return render_template(
        "registry/models.html",
        aliases=aliases,
        alias_labels=ALIAS_LABELS,
        versions=shown,
        names=_version_names(events),
        events=events,
        datasets=datasets.datasets(),
        sources=sources,
        dataset_form=dataset_form or DatasetForm(formdata=None),
        training_form=training_form,
        trainings=trainings,
        status_labels=STATUS_LABELS,
        source_labels=SOURCES,
        figures_of=versions.figures_of,
        max_lines_shown=MAX_LINES_SHOWN,
        **extra,
    ), status


def _version_names(events: list[AliasEvent]) -> dict[int, str]:
    """The version names the history mentions, by id."""
    ids = {i for event in events for i in (event.from_version_id, event.to_version_id) if i}
    if not ids:
        return {}
    return dict(
        db.session.execute(sa.select(ModelVersion.id, ModelVersion.version).where(ModelVersion.id.in_(ids))).all()
    )


@bp.get("/", endpoint="index")
def index():
    """« Modèles »: aliases, versions, history of the aliases, datasets, the training and upload forms."""
    return _page()


@bp.post("/jeux")
def upload_dataset():
    """Keep a labelled history: every line checked, all kept or none."""
    form = DatasetForm()
    if not form.validate_on_submit():
        return _page(dataset_form=form, status=422)
    try:
        checked = datasets.check_upload(form.fichier.data.stream)
    except CsvProblem as problem:
        return _page(dataset_form=form, status=422, problem=str(problem))
    if checked.errors:
        return _page(dataset_form=form, status=422, checked=checked)
    try:
        dataset = datasets.save(form.name.data.strip(), checked, current_user.username)
    except ValueError as exc:
        form.name.errors = [str(exc)]
        return _page(dataset_form=form, status=422)
    flash(
        f"Jeu de données « {dataset.name} » gardé : {dataset.rows} lignes dont {dataset.leavers} départs "
        f"(fichier lu en {checked.encoding}).",
        "success",
    )
    return redirect(url_for("models.index"), 303)


@bp.post("/entrainements")
def start_training():
    """Send a training to the job engine and show its page (303): it never runs inside the request."""
    form = TrainingForm()
    sources = training_sources()
    form.sources.choices = _source_choices(sources)
    if not form.validate_on_submit():
        return _page(training_form=form, status=422)
    if all(sources[key]["lignes"] == 0 for key in form.sources.data):  # None: not counted yet, the job will tell
        form.sources.errors = ["Les sources choisies ne comptent aucune ligne."]
        return _page(training_form=form, status=422)
    job_id = training.create_training(form.sources.data, user_id=current_user.id, request_id=g.get("request_id", ""))
    return redirect(url_for("models.training_page", job_id=job_id), 303)


def _training_or_404(job_id: str) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or job.kind != "training":
        abort(404, "Entraînement introuvable.")
    return job


def progress(job: Job) -> dict:
    """What the progress bar shows (the fields static/js/lot.js reads): fits done out of all the folds'."""
    label = training.PHASE_LABELS.get(job.phase, "")
    if job.phase == "validation" and job.total:
        label = f"Validation croisée : ajustement {min(job.done + 1, job.total)} sur {job.total}"
    return bar_state(job, label)


@bp.get("/entrainements/<job_id>")
def training_page(job_id: str):
    """A training's page: its progress, then the new version beside the active one on the same folds."""
    job = _training_or_404(job_id)
    detail = job.detail or {}
    version = db.session.get(ModelVersion, detail["version_id"]) if detail.get("version_id") else None
    return render_template(
        "registry/training.html",
        job=job,
        detail=detail,
        progress=progress(job),
        version=version,
        comparison=detail.get("comparaison"),
        attribute_labels=ATTRIBUTE_LABELS,
        group_labels=GROUP_LABELS,
        file_kept=files.has_file(db.session.connection(), job.id, "result"),
    )


@bp.get("/entrainements/<job_id>/etat.json")
def training_status(job_id: str):
    """The training's progress, as the page's script polls it."""
    response = jsonify(progress(_training_or_404(job_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/entrainements/<job_id>/hors-echantillon.csv")
def training_out_of_fold(job_id: str):
    """Every row's out-of-fold probability beside the active version's: the comparison's figures recomputable."""
    job = _training_or_404(job_id)
    if not files.has_file(db.session.connection(), job.id, "result"):
        abort(404, "Ce fichier n'existe pas ou plus.")
    response = Response(files.iter_chunks(db.engine, job.id, "result"), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="hors-echantillon-{job.id[:8]}.csv"'
    return response


@bp.post("/entrainements/<job_id>/annuler")
def cancel_training(job_id: str):
    """Stop a training at its next fit."""
    job = _training_or_404(job_id)
    if job.status in (WAITING, RUNNING):
        lots.request_cancel(job.id)
        flash("Arrêt demandé : l'entraînement s'arrête après l'ajustement en cours.", "info")
    return redirect(url_for("models.training_page", job_id=job.id), 303)


def _version_or_404(version_id: int) -> ModelVersion:
    version = db.session.get(ModelVersion, version_id)
    if version is None:
        abort(404, "Version introuvable.")
    return version


def _version_page(version: ModelVersion, form: PromotionForm | None = None, status: int = 200, warnings=None):
    active = versions.alias_target(ACTIVE)
    if form is None:
        form = PromotionForm(formdata=None, data={"alias": ACTIVE})
        form.expected_from.data = str(active.id if active else 0)
    held = [alias for alias in ALIASES if (target := versions.alias_target(alias)) and target.id == version.id]
    return render_template(
        "registry/version.html",
        version=version,
        form=form,
        active=active,
        held=held,
        alias_labels=ALIAS_LABELS,
        source_labels=SOURCES,
        figures=versions.figures_of(version),
        active_figures=versions.figures_of(active) if active else None,
        preview=warnings if warnings is not None else versions.promotion_warnings(version, active),
        confirming=warnings is not None,
    ), status


@bp.get("/versions/<int:version_id>")
def version_page(version_id: int):
    """A version: its figures beside the active one's, the aliases it holds, the promotion form."""
    return _version_page(_version_or_404(version_id))


@bp.post("/versions/<int:version_id>/promouvoir")
def promote(version_id: int):
    """Move an alias to this version (a rollback is the promotion of an earlier one); the reason is required."""
    version = _version_or_404(version_id)
    form = PromotionForm()
    if not form.validate_on_submit():
        return _version_page(version, form, 422)
    expected = form.expected_from.data
    try:
        event = versions.promote(
            form.alias.data,
            version.id,
            reason=form.reason.data,
            username=current_user.username,
            expected_from=int(expected) if expected and expected.isdigit() else None,
            confirmed=form.confirm.data,
        )
    except versions.ConfirmationNeeded as exc:
        return _version_page(version, form, 409, warnings=exc.warnings)
    except versions.PromotionRefused as exc:
        form.reason.errors = [str(exc)]
        return _version_page(version, form, 409)
    model_store.forget()
    flash(
        f"Version {version.version} désormais « {event.alias} » : chaque processus la sert d'ici quelques secondes.",
        "success",
    )
    return redirect(url_for("models.index"), 303)


class ClearForm(FlaskForm):
    """Stop scoring a challenger in the shadow (the reason is kept)."""

    class Meta(FrenchMeta):
        pass

    reason = TextAreaField("Raison", [InputRequired("Indiquez la raison de ce changement.")])


@bp.post("/challenger/retirer")
def clear_challenger():
    """Unset the challenger: predictions are scored by the active version alone again."""
    form = ClearForm()
    if not form.validate_on_submit():
        flash("Indiquez la raison du retrait du challenger.", "error")
        return redirect(url_for("models.index"), 303)
    try:
        versions.promote(CHALLENGER, None, reason=form.reason.data, username=current_user.username)
    except versions.PromotionRefused as exc:
        flash(str(exc), "error")
        return redirect(url_for("models.index"), 303)
    model_store.forget()
    flash("Challenger retiré.", "success")
    return redirect(url_for("models.index"), 303)


@bp.get("/challenger/accord")
def agreement():
    """How often the challenger agreed with the active version on the latest shadow-scored predictions."""
    from futurisys.registry import shadow

    return render_template("registry/agreement.html", summary=shadow.agreement(), limit=shadow.SHOWN)


def init_app(app) -> None:
    """Register the pages."""
    app.register_blueprint(bp)
