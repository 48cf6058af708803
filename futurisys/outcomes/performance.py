"""The « Performance réelle » admin page, and the latest realised figures the model card and dashboard show."""

from __future__ import annotations

import sqlalchemy as sa
from babel.dates import format_date
from flask import current_app, render_template, request
from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField

from futurisys.admin.forms import FrenchMeta
from futurisys.admin.insights import _reliability_chart
from futurisys.admin.queries import model_versions
from futurisys.domain import formatting
from futurisys.extensions import db, model_store
from futurisys.outcomes import clock, report, summaries
from futurisys.outcomes.charts import cohort_chart
from futurisys.outcomes.horizon import DEFAULT_HORIZON, HORIZONS, STATUS_LABELS
from futurisys.outcomes.kinds import label, voluntary_kinds
from futurisys.outcomes.metrics import MIN_DEPARTURES
from futurisys.outcomes.views import admin_bp
from futurisys.storage.sqlite_writes import write_turn

#: The figures of a cohort, in the page's order: key, French name, what it says.
FIGURES = (
    ("recall", "Rappel", "Parmi les salariés partis, la part que le modèle avait signalée « Part »."),
    ("precision", "Précision", "Parmi les salariés signalés « Part », la part qui est réellement partie."),
    (
        "top_precision",
        "Précision des 10 % les plus à risque",
        "Parmi les 10 % de salariés aux scores les plus élevés, la part partie.",
    ),
    (
        "roc_auc",
        "ROC AUC",
        "Probabilité qu'un salarié parti ait eu un score plus élevé qu'un salarié resté (0,5 = hasard).",
    ),
    ("brier", "Score de Brier", "Écart quadratique moyen entre probabilité annoncée et réalité (plus bas = mieux)."),
    (
        "calibration_error",
        "Erreur de calibration",
        "Écart moyen entre probabilité annoncée et part de départs observée.",
    ),
)
PROPORTIONS = {"recall", "precision", "top_precision"}


class PerformanceForm(FlaskForm):
    """Which version and horizon (query string, no CSRF: it changes nothing)."""

    class Meta(FrenchMeta):
        csrf = False

    version = SelectField("Version du modèle", choices=[])
    horizon = SelectField(
        "Horizon",
        choices=[SelectChoice(str(h), f"{h} mois") for h in HORIZONS],
        default=str(DEFAULT_HORIZON),
    )


def _default_version(versions: list[str]) -> str | None:
    state = model_store.state()
    loaded = state.predictor.version if state.predictor is not None else None
    return loaded if loaded in versions else (versions[-1] if versions else None)


def value_text(key: str, value: float | None) -> str:
    """A figure in French: percentages for proportions, three decimals for the others."""
    if value is None:
        return "—"
    return (
        formatting.percent(value, 1)
        if key in PROPORTIONS or key == "calibration_error"
        else formatting.number(value, 3)
    )


#: The cross-validated figure of the model card each realised figure sits beside.
CV_KEYS = {
    "recall": "recall",
    "precision": "precision",
    "top_precision": None,
    "roc_auc": "cv_roc_auc_mean",
    "brier": "brier",
    "calibration_error": "ece",
}


def realised_figures(version: str | None = None, horizon: int = DEFAULT_HORIZON) -> dict | None:
    """For the model card and the dashboard: the realised figures of `version` (the loaded one by default) over its
    matured predictions, beside its cross-validated ones; None when no model is loaded or nothing has matured."""
    state = model_store.state()
    if version is None:
        if state.predictor is None:
            return None
        version = state.predictor.version
    voluntary = voluntary_kinds(current_app.config["OUTCOMES_VOLUNTARY_KINDS"])
    # The card and the dashboard answer fast whatever the history: months not summarised within a small part of
    # the page's budget are left to the job engine, and the card says so rather than show partial figures.
    budget = page_budget() * current_app.config.get("OUTCOMES_CARD_BUDGET_SHARE", 0.3)
    built = report.build(
        db.session, version, horizon, clock.now(), voluntary, save=save, budget_s=budget, matured_only=True
    )
    if built.pending_months:
        refresh_later()
        return {"version": version, "horizon": horizon, "rows": [], "departures": 0, "n": 0, "pending": True}
    if built.overall is None:
        return {"version": version, "horizon": horizon, "rows": [], "departures": 0, "n": 0}
    cv = (
        (state.predictor.metadata.get("metrics") or {})
        if state.predictor and state.predictor.version == version
        else {}
    )
    rows = [
        {
            "name": name,
            "realised": built.overall[key],
            "text": value_text(key, built.overall[key].value),
            "low": value_text(key, built.overall[key].low),
            "high": value_text(key, built.overall[key].high),
            "cv": value_text(key, cv.get(CV_KEYS[key])) if CV_KEYS[key] else "—",
        }
        for key, name, _ in FIGURES
    ]
    return {
        "version": version,
        "horizon": horizon,
        "rows": rows,
        "departures": built.overall_departures,
        "n": built.overall["brier"].n,
        "insufficient": built.overall_departures < MIN_DEPARTURES,
    }


def page_budget() -> float:
    """Seconds a page may spend summarising months; the rest is left to the job engine."""
    return float(current_app.config["OUTCOMES_PAGE_BUDGET"])


def save(version: str, horizon: int, kinds: str, month, mature: bool, on, summary) -> None:
    """report.Save: store a month's summary in a transaction of its own (a page loaded twice at once keeps one)."""
    try:
        with write_turn(current_app), db.engine.begin() as connection:
            summaries.save(connection, version, horizon, kinds, month, mature, on, summary)
    except sa.exc.IntegrityError:
        pass  # another request stored the same month meanwhile: its summary is as good


def refresh_later() -> None:
    """Ask the job engine to summarise what a page left (best effort: the hourly task does it anyway)."""
    from futurisys.jobs.engine import REFRESH_OUTCOMES

    try:
        current_app.extensions["celery"].send_task(REFRESH_OUTCOMES)
    except Exception:  # noqa: BLE001 — broker unreachable: the beat's hourly run summarises them
        pass


def refresh_summaries() -> int:
    """Summarise every month of every version and horizon not validly summarised yet; how many months were."""
    voluntary = voluntary_kinds(current_app.config["OUTCOMES_VOLUNTARY_KINDS"])
    done = []

    def counting_save(*args) -> None:
        done.append(args[3])
        save(*args)

    for version in model_versions():
        for horizon in HORIZONS:
            report.build(db.session, version, horizon, clock.now(), voluntary, save=counting_save)
            db.session.rollback()
    db.session.remove()
    return len(done)


@admin_bp.get("/performance")
def performance():
    """Per model version: matured monthly cohorts with their realised figures, expected ones dashed beside."""
    versions = model_versions()
    form = PerformanceForm(request.args)
    form.version.choices = [SelectChoice(v, v) for v in versions]
    if not request.args.get("version") and versions:
        form.version.data = _default_version(versions)
    if request.args and not form.validate():
        return render_template("outcomes/performance.html", form=form, built=None, versions=versions), 422
    if not versions:
        return render_template("outcomes/performance.html", form=form, built=None, versions=versions)
    horizon = int(form.horizon.data or DEFAULT_HORIZON)
    voluntary = voluntary_kinds(current_app.config["OUTCOMES_VOLUNTARY_KINDS"])
    built = report.build(
        db.session, form.version.data, horizon, clock.now(), voluntary, save=save, budget_s=page_budget()
    )
    if built.pending_months:
        refresh_later()
    return render_template(
        "outcomes/performance.html",
        form=form,
        versions=versions,
        built=built,
        charts=_charts(built),
        reliability=_reliability(built),
        figures=FIGURES,
        value_text=value_text,
        statuses=STATUS_LABELS,
        voluntary_labels=[label(code) for code in sorted(voluntary)],
        min_departures=MIN_DEPARTURES,
        month_text=lambda month: format_date(month, "MMM y", locale=formatting.LOCALE),
    )


def _charts(built: report.Report) -> list[dict]:
    charts = []
    for key in ("recall", "precision", "top_precision"):
        name = next(text for k, text, _ in FIGURES if k == key)
        points = [
            {
                "label": format_date(c.month, "MM/yy", locale=formatting.LOCALE),
                "realised": c.realised[key] if c.realised else None,
                "expected": c.expected.get(key),
                "greyed": c.insufficient,
            }
            for c in built.cohorts
        ]
        charts.append(
            {
                "name": name,
                "svg": cohort_chart(
                    f"{name} par mois de prédiction : réalisé (point et intervalle à 95 %), attendu si le modèle est "
                    "calibré (carré, trait pointillé).",
                    points,
                ),
            }
        )
    return charts


def _reliability(built: report.Report):
    """The model card's reliability diagram and its data rows, over the matured predictions."""
    return _reliability_chart({"bins": built.reliability_bins})
