"""Drift of recent inputs against the reference data, and the card of the loaded model."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask import abort, current_app, render_template, request
from markupsafe import Markup

from futurisys.admin import bp, model_charts
from futurisys.admin.charts import bars
from futurisys.admin.forms import read_window
from futurisys.domain.formatting import number, percent
from futurisys.domain.schema import FEATURE_NAMES, FEATURES, feature
from futurisys.extensions import db, model_store
from futurisys.ml import drift, shape
from futurisys.ml.data import REFERENCE_MD5
from futurisys.ml.predictor import library_versions
from futurisys.storage import stats
from futurisys.storage.models import EmployeeDataset

IMPORTANCE_KEY = "futurisys.admin.importance"
CURVES_KEY = "futurisys.admin.curves"
ATTRIBUTE_LABELS = {"genre": "Genre", "statut_marital": "Statut marital", "tranche_age": "Tranche d'âge"}
GROUP_LABELS = {"F": "Femme", "M": "Homme", "<30": "moins de 30 ans", "30-44": "30 à 44 ans", "45+": "45 ans et plus"}
# What-if inputs are hypothetical variations of a real record: they would bias the comparison.
DRIFT_SOURCES = ("api", "form", "batch", "lot")
CATEGORICAL = {f.name: f.values for f in FEATURES if f.kind in ("category", "bool") or f.choices}
CATEGORY_LABELS = {f.name: dict(f.choices) for f in FEATURES if f.choices}


def reference_frame() -> pd.DataFrame:
    """The 30 features of the reference table `employees_dataset`."""
    table = EmployeeDataset.__table__
    rows = db.session.execute(sa.select(*(table.c[name] for name in FEATURE_NAMES))).all()
    return pd.DataFrame(rows, columns=list(FEATURE_NAMES))


def recent_counts(since) -> tuple[dict[str, dict], int]:
    """The window's inputs counted per feature and drift bin (daily stats plus today's raw rows), and their number."""
    connection = db.session.connection()
    edges = stats.drift_edges(connection)
    if edges is None:
        return {}, 0
    groups = stats.feature_groups(connection, since, DRIFT_SOURCES, edges)
    query = sa.select(groups.c.feature, groups.c.bin, sa.func.sum(groups.c.n)).group_by(groups.c.feature, groups.c.bin)
    counts: dict[str, dict] = {}
    for name, text, n in db.session.execute(query):
        counts.setdefault(name, {})[stats.bin_value(name, text)] = int(n)
    total = sum(next(iter(counts.values()), {}).values())
    return counts, total


@bp.get("/drift", endpoint="drift")
def drift_page():
    """PSI per feature of the window's inputs against the reference data, with category shares side by side.

    Every input of the window counts (the daily stats hold them counted per bin): none is left out for cost.
    """
    window = read_window()
    reference, (counts, n_recent) = reference_frame(), recent_counts(window.since)
    report = []
    if len(reference) and n_recent:
        report = sorted(
            drift.drift_report_from_counts(reference, counts, CATEGORICAL, CATEGORY_LABELS), key=lambda item: -item.psi
        )
    return render_template(
        "admin/drift.html",
        window=window,
        report=report,
        n_reference=len(reference),
        n_recent=n_recent,
        reliable=n_recent >= drift.MIN_RECENT,
        min_recent=drift.MIN_RECENT,
        feature=feature,
        thresholds=(drift.MODERATE, drift.SIGNIFICANT),
    )


def global_importance(predictor, reference: pd.DataFrame | None = None) -> list[tuple[str, float]] | None:
    """Mean |contribution| per feature over the reference data, computed once per model version and cached."""
    cache = current_app.extensions.setdefault(IMPORTANCE_KEY, {})
    if predictor.version not in cache:
        reference = reference_frame() if reference is None else reference
        if reference.empty:
            return None
        contributions, _ = predictor.contributions(reference.to_dict("records"))
        mean_abs = np.abs(contributions).mean(axis=0)
        cache[predictor.version] = sorted(
            zip(predictor.encoder.feature_names, mean_abs.tolist(), strict=False), key=lambda item: -item[1]
        )
    return cache[predictor.version]


def _effect(value: float) -> str:
    """A log-odds effect in French with its sign ("+0,42", "−0,10")."""
    return ("+" if value > 0 else "−" if value < 0 else "") + number(abs(value), 2)


def _value_label(spec, value) -> str:
    if spec.kind == "bool":
        return "Oui" if value else "Non"
    if spec.kind == "category" or spec.choices:
        return spec.choice_label(value)
    return number(value, 0 if float(value).is_integer() else 2)


def _curve(predictor, name: str, reference: pd.DataFrame) -> dict:
    """One feature's exact effect curve, its training distribution, a summary sentence and a data table."""
    spec = feature(name)
    observed = reference[name]
    values = shape.curve_values(spec.kind, spec.values, observed)
    effects = shape.feature_curve(predictor, name, values, reference.iloc[0].to_dict())
    worst, best = int(np.argmax(effects)), int(np.argmin(effects))
    summary = (
        f"{spec.label} : effet le plus défavorable pour {_value_label(spec, values[worst])} "
        f"({_effect(effects[worst])}), le plus favorable pour {_value_label(spec, values[best])} "
        f"({_effect(effects[best])})."
    )
    if spec.kind in ("category", "bool"):
        shares = [float((observed == v).mean()) for v in values]
        chart = model_charts.category_panel([_value_label(spec, v) for v in values], effects, shares, summary)
        rows = [
            (_value_label(spec, v), _effect(e), percent(s)) for v, e, s in zip(values, effects, shares, strict=False)
        ]
    else:
        numbers = observed.to_numpy(dtype=float)
        low, high = float(numbers.min()), float(numbers.max())
        distinct, counts = np.unique(numbers, return_counts=True)
        integral = spec.kind == "int"
        if integral and len(distinct) <= 20:  # one bar per value, centred on it
            bars, width, x_range = list(zip(distinct, counts, strict=False)), 1.0, (low - 0.5, high + 0.5)
        else:
            histogram, edges = np.histogram(numbers, bins=20, range=(low, high if high > low else low + 1))
            bars, width, x_range = (
                list(zip((edges[:-1] + edges[1:]) / 2, histogram, strict=False)),
                edges[1] - edges[0],
                (low, high),
            )
        chart = model_charts.line_panel(
            values, effects, summary, histogram=bars, bar_width=width, x_range=x_range, integral=integral
        )
        step = max(1, len(values) // 12)
        picked = sorted(set(range(0, len(values), step)) | {len(values) - 1, worst, best})
        rows = [
            (
                _value_label(spec, values[k]),
                _effect(effects[k]),
                percent(
                    float(((numbers >= values[k]) & (numbers <= values[min(k + step, len(values) - 1)])).mean())
                    if k < len(values) - 1
                    else float((numbers == values[k]).mean())
                ),
            )
            for k in picked
        ]
    return {"name": name, "label": spec.label, "chart": chart, "summary": summary, "rows": rows}


def effect_curves(predictor, reference: pd.DataFrame, importance) -> list[dict]:
    """Every feature the model uses, most important first: its curve and distribution (cached per model version)."""
    cache = current_app.extensions.setdefault(CURVES_KEY, {})
    if predictor.version not in cache:
        order = [name for name, _ in importance if name not in predictor.excluded]
        cache[predictor.version] = [_curve(predictor, name, reference) for name in order]
    return cache[predictor.version]


def _reliability_chart(calibration: dict) -> tuple[Markup | None, list]:
    bins = calibration.get("bins") or []
    if not bins:
        return None, []
    xs, ys = [b["mean_proba"] for b in bins], [b["observed_rate"] for b in bins]
    label = (
        "Diagramme de fiabilité : pour chaque tranche de probabilité prédite, la part de départs observée ; "
        "la diagonale est la calibration parfaite."
    )
    width = bins[0]["upper"] - bins[0]["lower"]
    chart = model_charts.line_panel(
        xs,
        ys,
        label,
        histogram=[((b["lower"] + b["upper"]) / 2, b["n"]) for b in bins],
        bar_width=width,
        x_range=(0.0, 1.0),
        y_range=(0.0, 1.0),
        diagonal=True,
        zero_line=False,
        markers=True,
    )
    total = sum(b["n"] for b in bins)
    rows = [
        (
            f"{percent(b['lower'])} à {percent(b['upper'])}",
            percent(b["n"] / total, 1),
            percent(b["mean_proba"], 1),
            percent(b["observed_rate"], 1),
        )
        for b in bins
    ]
    return chart, rows


def _created_at(meta: dict):
    try:
        return datetime.fromisoformat(meta["created_at"])
    except (KeyError, TypeError, ValueError):
        return None


def bundle_origin(source: str) -> str:
    """Where the bundle comes from, without revealing a server path."""
    if source.startswith("hf://"):
        return f"Hugging Face Hub, dépôt {source.removeprefix('hf://')}"
    if source.startswith("registre:"):
        return f"registre des modèles du service, version {source.removeprefix('registre:')}"
    return "dossier local du serveur (MODEL_DIR)"


def _chosen_state():
    """The served model's state, or the registry version `?version=N` asks for (404 when unknown)."""
    version_id = request.args.get("version", type=int)
    if version_id is None:
        return model_store.state()
    from futurisys.registry.loading import ModelState
    from futurisys.registry.models import ModelVersion
    from futurisys.registry.versions import load_version

    row = db.session.get(ModelVersion, version_id)
    if row is None:
        abort(404, "Version introuvable.")
    predictor, _ = load_version(current_app, row.id)
    return ModelState(predictor, f"registre:{row.version}")


@bp.get("/model")
def model_card():
    """The model card: identity, intended use, both variants, fairness, calibration, how it sees each factor.

    `?version=N` shows a registry version instead of the one served (the comparison before a promotion).
    """
    state = _chosen_state()
    if state.predictor is None:
        return render_template("admin/model.html", state=state, meta=None), 503
    predictor = state.predictor
    reference = reference_frame()
    importance = global_importance(predictor, reference)
    chart, rows, curves = None, [], []
    if importance:
        used = [(name, value) for name, value in importance if name not in predictor.excluded]
        rows = [(feature(name).label, number(value, 4)) for name, value in used]
        chart = bars(
            [feature(name).label for name, _ in used],
            [round(v, 4) for _, v in used],
            horizontal=True,
            series="Contribution absolue moyenne",
        )
        if not reference.empty:
            curves = effect_curves(predictor, reference, importance)
    meta = predictor.metadata
    reliability_chart, reliability_rows = _reliability_chart(meta.get("calibration") or {})
    return render_template(
        "admin/model.html",
        state=state,
        meta=meta,
        importance=importance,
        importance_rows=rows,
        chart=chart,
        curves=curves,
        created_at=_created_at(meta),
        origin=bundle_origin(state.source),
        reliability_chart=reliability_chart,
        reliability_rows=reliability_rows,
        excluded=[feature(n).label for n in predictor.excluded],
        group_labels=GROUP_LABELS,
        attribute_labels=ATTRIBUTE_LABELS,
        running=library_versions(),
        reference_md5=REFERENCE_MD5,
    )
