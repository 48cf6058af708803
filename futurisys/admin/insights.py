"""Drift of recent inputs against the reference data, and the card of the loaded model."""
from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa
from flask import current_app, render_template

from futurisys.admin import bp
from futurisys.admin.charts import bars
from futurisys.admin.dashboard import WINDOWS, read_window
from futurisys.admin.queries import INPUT
from futurisys.errors import error_response
from futurisys.extensions import db, model_store
from futurisys.ml import drift
from futurisys.ml.predictor import library_versions
from futurisys.models import EmployeeDataset
from futurisys.schema import FEATURE_NAMES, FEATURES, feature

IMPORTANCE_KEY = "futurisys.admin.importance"
#: Enough rows for stable shares; the most recent ones of the window are used beyond that.
MAX_RECENT = 50_000
# What-if inputs are hypothetical variations of a real record: they would bias the comparison.
DRIFT_SOURCES = ("api", "form", "batch")
CATEGORICAL = {f.name: f.values for f in FEATURES if f.kind in ("category", "bool") or f.choices}
CATEGORY_LABELS = {f.name: dict(f.choices) for f in FEATURES if f.choices}


def reference_frame() -> pd.DataFrame:
    """The 30 features of the reference table `employees_dataset`."""
    table = EmployeeDataset.__table__
    rows = db.session.execute(sa.select(*(table.c[name] for name in FEATURE_NAMES))).all()
    return pd.DataFrame(rows, columns=list(FEATURE_NAMES))


def recent_frame(since) -> pd.DataFrame:
    """The 30 features of the recent inputs (newest first, at most MAX_RECENT)."""
    query = sa.select(*(INPUT.c[name] for name in FEATURE_NAMES)).where(INPUT.c.source.in_(DRIFT_SOURCES))
    if since is not None:
        query = query.where(INPUT.c.created_at >= since)
    rows = db.session.execute(query.order_by(INPUT.c.created_at.desc()).limit(MAX_RECENT)).all()
    return pd.DataFrame(rows, columns=list(FEATURE_NAMES))


@bp.get("/drift", endpoint="drift")
def drift_page():
    """PSI per feature of the window's inputs against the reference data, with category shares side by side."""
    key, since = read_window()
    if key is None:
        return error_response(400, f"Fenêtre inconnue : choisissez parmi {', '.join(WINDOWS)}.")
    reference, recent = reference_frame(), recent_frame(since)
    report = []
    if len(reference) and len(recent):
        report = sorted(drift.drift_report(reference, recent, CATEGORICAL, CATEGORY_LABELS),
                        key=lambda item: -item.psi)
    return render_template("admin/drift.html", windows=WINDOWS, window=key, report=report,
                           n_reference=len(reference), n_recent=len(recent), reliable=len(recent) >= drift.MIN_RECENT,
                           min_recent=drift.MIN_RECENT, max_recent=MAX_RECENT, feature=feature,
                           thresholds=(drift.MODERATE, drift.SIGNIFICANT))


def global_importance(predictor) -> list[tuple[str, float]] | None:
    """Mean |contribution| per feature over the reference data, computed once per model version and cached."""
    cache = current_app.extensions.setdefault(IMPORTANCE_KEY, {})
    if predictor.version not in cache:
        reference = reference_frame()
        if reference.empty:
            return None
        contributions, _ = predictor.contributions(reference.to_dict("records"))
        mean_abs = np.abs(contributions).mean(axis=0)
        cache[predictor.version] = sorted(zip(predictor.encoder.feature_names, mean_abs.tolist()),
                                          key=lambda item: -item[1])
    return cache[predictor.version]


@bp.get("/model")
def model_card():
    """Version, training data hash, CV metrics, threshold and its rule, global importance, library versions."""
    state = model_store.state()
    if state.predictor is None:
        return render_template("admin/model.html", state=state, meta=None), 503
    importance = global_importance(state.predictor)
    chart, rows = None, []
    if importance:
        rows = [(feature(name).label, f"{value:.4f}".replace(".", ",")) for name, value in importance]
        chart = bars([feature(name).label for name, _ in importance], [round(v, 4) for _, v in importance],
                     horizontal=True, series="Contribution absolue moyenne")
    return render_template("admin/model.html", state=state, meta=state.predictor.metadata, importance=importance,
                           importance_rows=rows, chart=chart,
                           running=library_versions())
